import type { Order, OrderItem } from '../generated/prisma/client.js';

export interface OrderItemResponse {
  sku: string;
  quantity: number;
  unitPriceCents: number;
}

export interface OrderResponse {
  id: string;
  userId: string;
  status: 'PLACED' | 'CANCELLED';
  totalCents: number;
  items: OrderItemResponse[];
  createdAt: string;
  updatedAt: string;
  cancelledAt: string | null;
  cancelReason: string | null;
}

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
