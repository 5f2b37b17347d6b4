import type { CustomerProfile } from '../generated/prisma/client.js';

export interface CustomerResponse {
  userId: string;
  email: string;
  name: string;
  /** True once the user was deleted upstream; past orders keep pointing at the profile. */
  deleted: boolean;
  createdAt: string;
  updatedAt: string;
}

export function toCustomerResponse(profile: CustomerProfile): CustomerResponse {
  return {
    userId: profile.userId,
    email: profile.email,
    name: profile.name,
    deleted: profile.deletedAt !== null,
    createdAt: profile.createdAt.toISOString(),
    updatedAt: profile.updatedAt.toISOString(),
  };
}
