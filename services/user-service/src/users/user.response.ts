import { pageSchema } from '@switchyard/service-kit';
import { z } from 'zod';
import type { User } from '../generated/prisma/client.js';

/** A user's order statistics, kept from order events. */
export const orderStats = z.object({
  /** Orders placed and not cancelled. */
  orderCount: z.int().min(0),
  /** Sum of those orders' totals, in integer cents. */
  lifetimeValueCents: z.int().min(0),
});
export type OrderStats = z.output<typeof orderStats>;

/**
 * A user as the API shows it: never the password or its hash. The type handlers return is inferred from this
 * schema, and the OpenAPI document shows the same schema, so the two cannot disagree.
 */
export const userResponse = z.object({
  id: z.uuid(),
  email: z.string(),
  name: z.string(),
  marketingOptIn: z.boolean(),
  locale: z.string(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
  ...orderStats.shape,
});
export type UserResponse = z.output<typeof userResponse>;

/** `GET /users`: one page of users. */
export const userPage = pageSchema(userResponse);
export type UserPage = z.output<typeof userPage>;

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
