import { pageSchema } from '@switchyard/service-kit';
import { z } from 'zod';
import type { Order, OrderItem } from '../generated/prisma/client.js';

export const orderItemResponse = z.object({
  sku: z.string(),
  quantity: z.int().min(1),
  unitPriceCents: z.int().min(0),
});
export type OrderItemResponse = z.output<typeof orderItemResponse>;

/**
 * An order as the API shows it, money in integer cents. Handlers return the type inferred from this schema and the
 * OpenAPI document shows the same schema.
 */
export const orderResponse = z.object({
  id: z.uuid(),
  userId: z.uuid(),
  status: z.enum(['PLACED', 'CANCELLED']),
  totalCents: z.int().min(0),
  items: z.array(orderItemResponse),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
  cancelledAt: z.iso.datetime().nullable(),
  cancelReason: z.string().nullable(),
});
export type OrderResponse = z.output<typeof orderResponse>;

/** `GET /orders`: one page of a customer's orders. */
export const orderPage = pageSchema(orderResponse);
export type OrderPage = z.output<typeof orderPage>;

export type OrderWithItems = Order & { items: OrderItem[] };

export function toOrderResponse(order: OrderWithItems): OrderResponse {
  return {
    id: order.id,
    userId: order.userId,
    status: order.status,
    // Safe: placement bounds keep totals below 2^53 (see order.schemas.ts).
    totalCents: Number(order.totalCents),
    items: [...order.items]
      .sort((a, b) => a.position - b.position)
      .map((item) => ({ sku: item.sku, quantity: item.quantity, unitPriceCents: item.unitPriceCents })),
    createdAt: order.createdAt.toISOString(),
    updatedAt: order.updatedAt.toISOString(),
    cancelledAt: order.cancelledAt?.toISOString() ?? null,
    cancelReason: order.cancelReason,
  };
}
