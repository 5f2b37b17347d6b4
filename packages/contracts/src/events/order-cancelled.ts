import { z } from 'zod';
import { defineEvent } from '../event-contract.js';
import { occurredAt, orderId, userId } from './event-fields.js';

export const OrderCancelledV1 = defineEvent({
  type: 'order.cancelled',
  version: 1,
  orderingKey: 'orderId',
  description: 'An order was cancelled.',
  schema: z.object({
    orderId,
    userId,
    reason: z.string().min(1).describe('Why, e.g. requested (through the API) or customer_deleted.'),
    occurredAt,
  }),
});
