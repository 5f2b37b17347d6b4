import { z } from 'zod';
import { conditionSchema, generationSchema, timestampSchema } from './conditions.js';

/**
 * The status the operator writes, once: its types are inferred from this schema and the CRD's status schema is
 * generated from it (`npm run crd`). The operator never parses status with it: the API server checks what the
 * operator writes.
 */

/** A broker-reported count: RabbitMQ counts in 64 bits. */
const countSchema = z.number().int().min(0).meta({ format: 'int64' });
const delayMsSchema = z.number().int().min(1).meta({ format: 'int64' });
const brokerName = z.string().max(255);

const droppedRetryTierSchema = z.object({
  delayMs: delayMsSchema,
  /** RFC 3339: when the policy stopped using the tier. */
  since: timestampSchema.describe('When the policy stopped using the tier.'),
});

/** What the operator last put on the broker: the baseline for unsafe-change detection and unbinding. */
const appliedTopologySchema = z
  .object({
    /**
     * The work queue. Added to the contract's fields so a renamed queue is refused instead of leaving the old one
     * bound and filling up; optional because a status written before it existed lacks it.
     */
    queue: brokerName.optional(),
    queueType: z.enum(['quorum', 'classic']),
    deliveryLimit: z.number().int().min(1),
    /** The retry tiers the current policy uses. */
    retryDelaysMs: z.array(delayMsSchema).max(100).describe('Retry tiers (delays in ms) of the current policy.'),
    /**
     * Tiers no longer in the policy but still on the broker, with when they were dropped (RFC 3339): kept for a
     * grace period while pods still on the old policy may park retries in them, then deleted once empty and unused.
     */
    droppedTiers: z
      .array(droppedRetryTierSchema)
      .max(100)
      .optional()
      .describe(
        'Retry tiers no longer in the policy but still on the broker. Each is kept for a grace period after it was ' +
          'dropped (pods learn the new policy only when the kubelet refreshes the mounted ConfigMap), then deleted ' +
          'once it is empty and has no consumers.',
      ),
    eventTypes: z.array(brokerName).max(100),
    /**
     * Ownership: the queues this subscription created (absent on the broker when it first declared them). Only
     * these are ever deleted. Optional because a status written before it existed lacks it (then nothing is owned).
     */
    createdQueues: z
      .array(brokerName)
      .max(100)
      .optional()
      .describe(
        'Queues the operator created for this subscription (they did not exist when it first declared them). ' +
          'Only these are ever deleted (deletionPolicy Delete, dropped retry tiers); a queue that existed before, ' +
          'declared by hand, by another tool or by the consuming service, is never deleted by the operator.',
      ),
    deadLetterQueue: brokerName,
    exchange: brokerName,
  })
  .describe('What the operator last declared on the broker; the baseline for refusing unsafe changes and for cleanup.');

export const eventSubscriptionStatusSchema = z
  .object({
    observedGeneration: generationSchema.optional(),
    conditions: z.array(conditionSchema).max(8).optional(),
    /** READY messages in the work queue (what RabbitMQ's declare-ok reports): unacknowledged deliveries are not counted. */
    queueDepth: countSchema
      .optional()
      .describe(
        "Ready messages in the work queue when last observed, as RabbitMQ's queue.declare-ok reports them: " +
          'messages delivered to a consumer and not yet acknowledged are NOT counted.',
      ),
    /** Ready messages in the DLQ, likewise. */
    deadLetterDepth: countSchema
      .optional()
      .describe('Ready messages in the dead-letter queue when last observed (unacknowledged ones not counted).'),
    consumers: z
      .number()
      .int()
      .min(0)
      .meta({ format: 'int32' })
      .optional()
      .describe('Consumers on the work queue when last observed.'),
    /** RFC 3339. */
    lastObservedTime: timestampSchema.optional(),
    appliedTopology: appliedTopologySchema.optional(),
  })
  .describe('Written by the topology operator.');

export type EventSubscriptionStatus = z.infer<typeof eventSubscriptionStatusSchema>;
export type AppliedTopology = z.infer<typeof appliedTopologySchema>;
export type DroppedRetryTier = z.infer<typeof droppedRetryTierSchema>;
