import { z } from 'zod';
import { defineEvent } from '../event-contract.js';
import { occurredAt, orderId, userId } from './event-fields.js';

const orderItem = z.object({
  sku: z.string().min(1).describe('Stock keeping unit.'),
  quantity: z.int().positive().describe('How many, at least 1.'),
  unitPriceCents: z.int().nonnegative().describe('Price of one unit in integer cents.'),
});

export const OrderPlacedV1 = defineEvent({
  type: 'order.placed',
  version: 1,
  orderingKey: 'orderId',
  description: 'A customer placed an order.',
  schema: z.object({
    orderId,
    userId,
    items: z.array(orderItem).min(1).describe('The items in the order as placed; at least one.'),
    totalCents: z.int().nonnegative().describe('Order total in integer cents.'),
    occurredAt,
  }),
});
