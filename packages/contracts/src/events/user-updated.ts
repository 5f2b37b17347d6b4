import { z } from 'zod';
import { defineEvent } from '../event-contract.js';
import { email, occurredAt, userId, userName } from './event-fields.js';

const changes = z
  .object({ email: email.optional(), name: userName.optional() })
  .refine((value) => value.email !== undefined || value.name !== undefined, { error: 'must contain email or name' })
  // The refinement has no JSON Schema form; this states the same rule for the generated docs.
  .meta({
    description: 'Only the fields that changed, with their new values; at least one.',
    anyOf: [{ required: ['email'] }, { required: ['name'] }],
  });

export const UserUpdatedV1 = defineEvent({
  type: 'user.updated',
  version: 1,
  orderingKey: 'userId',
  description: "A user's profile changed. Carries only the changed fields.",
  schema: z.object({ userId, changes, occurredAt }),
});
