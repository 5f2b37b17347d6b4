import { z } from 'zod';

/** Conditions on an EventSubscription's status: `Ready` summarises the other two. */
export const CONDITION_TYPES = ['Ready', 'TopologyReconciled', 'ConsumerHealthy'] as const;

/** An RFC 3339 timestamp (the operator writes `Date.toISOString()`). */
export const timestampSchema = z.string().meta({ format: 'date-time' });
/** A `metadata.generation` as status fields echo it. */
export const generationSchema = z.number().int().min(0).meta({ format: 'int64' });

export const conditionSchema = z.object({
  type: z.enum(CONDITION_TYPES),
  status: z.enum(['True', 'False', 'Unknown']),
  /** CamelCase, e.g. `TopologyApplied`, `UnsafeQueueTypeChange`. */
  reason: z
    .string()
    .max(1024)
    .regex(/^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/)
    .min(1)
    .describe('CamelCase reason, e.g. TopologyApplied, UnsafeQueueTypeChange, NoConsumers.'),
  message: z.string().max(32768),
  /** RFC 3339; changes only when `status` changes. */
  lastTransitionTime: timestampSchema,
  observedGeneration: generationSchema.optional(),
});

export type Condition = z.infer<typeof conditionSchema>;
export type ConditionType = Condition['type'];
export type ConditionStatus = Condition['status'];
