import { z } from 'zod';
import type { CustomerProfile } from '../generated/prisma/client.js';

/** The profile order-service keeps of a user; the handler's type and the OpenAPI schema both come from here. */
export const customerResponse = z.object({
  userId: z.uuid(),
  /** null once the user was deleted: the tombstone keeps no personal data. */
  email: z.string().nullable(),
  name: z.string().nullable(),
  /** True once the user was deleted upstream; past orders keep pointing at the profile. */
  deleted: z.boolean(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});
export type CustomerResponse = z.output<typeof customerResponse>;

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
