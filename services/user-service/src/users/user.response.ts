import type { User } from '../generated/prisma/client.js';

/** A user's order statistics, kept from order events. */
export interface OrderStats {
  /** Orders placed and not cancelled. */
  orderCount: number;
  /** Sum of those orders' totals, in integer cents. */
  lifetimeValueCents: number;
}

/** A user as the API shows it: never the password or its hash. */
export interface UserResponse extends OrderStats {
  id: string;
  email: string;
  name: string;
  marketingOptIn: boolean;
  locale: string;
  createdAt: string;
  updatedAt: string;
}

export const NO_ORDERS: OrderStats = { orderCount: 0, lifetimeValueCents: 0 };

export function toUserResponse(user: User, stats: OrderStats = NO_ORDERS): UserResponse {
  return {
    id: user.id,
    email: user.email,
    name: user.name,
    marketingOptIn: user.marketingOptIn,
    locale: user.locale,
    createdAt: user.createdAt.toISOString(),
    updatedAt: user.updatedAt.toISOString(),
    orderCount: stats.orderCount,
    lifetimeValueCents: stats.lifetimeValueCents,
  };
}
