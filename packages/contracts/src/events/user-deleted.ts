import { z } from 'zod';
import { defineEvent } from '../event-contract.js';
import { occurredAt, userId } from './event-fields.js';

export const UserDeletedV1 = defineEvent({
  type: 'user.deleted',
  version: 1,
  orderingKey: 'userId',
  description: 'A user was deleted. Consumers forget what they hold about the user (orders keep the id).',
  schema: z.object({ userId, occurredAt }),
});
