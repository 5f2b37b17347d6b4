/**
 * The EventSubscription resource as the operator sees it on the wire: the spec exactly as the user wrote it (fields
 * with CRD defaults are optional, because objects that did not pass through an API server, e.g. a unit test's
 * fixture, are not defaulted) and the status the operator writes. The CRD in
 * charts/topology-operator/crds/eventsubscriptions.switchyard.io.yaml is the schema; `parseSubscriptionSpec`
 * applies the same defaults and checks.
 */

/** Go-style duration as the CRD accepts it: an integer and one unit, e.g. `500ms`, `1s`, `2m`, `1h`. */
export type Duration = string;

export type QueueType = 'quorum' | 'classic';
export type DeletionPolicy = 'Retain' | 'Delete';
export type NonEmptyQueuePolicy = 'Retain' | 'Delete';

export interface SubscribedEvent {
  /** Event type and routing key, e.g. `user.created`. */
  type: string;
  /** Accepted versions; empty or absent: every version the consumer decodes. */
  versions?: number[];
}

export interface ExponentialBackoff {
  initial: Duration;
  /** > 1, at most 10. */
  multiplier: number;
  max: Duration;
}

/** Exactly one of `delays` or `exponential`. */
export interface Backoff {
  /** One tier per retry: its length must equal `maxAttempts - 1`. */
  delays?: Duration[];
  exponential?: ExponentialBackoff;
}

export interface RetrySpec {
  /** Attempts including the first, 1..20. */
  maxAttempts: number;
  backoff: Backoff;
}

export interface DeadLetterSpec {
  /** Default `<queue>.dlq`. */
  queue?: string;
  maxLength?: number;
  messageTtl?: Duration;
}

export interface EventSubscriptionSpec {
  service: string;
  queue: string;
  exchange?: string;
  queueType?: QueueType;
  events: SubscribedEvent[];
  retry?: RetrySpec;
  deliveryLimit?: number;
  deadLetter?: DeadLetterSpec;
  prefetch?: number;
  paused?: boolean;
  deletionPolicy?: DeletionPolicy;
  nonEmptyQueuePolicy?: NonEmptyQueuePolicy;
}

/** A Kubernetes Event to record on the subscription. */
export interface SubscriptionEvent {
  type: 'Normal' | 'Warning';
  /** CamelCase. */
  reason: string;
  message: string;
}

export type ConditionType = 'Ready' | 'TopologyReconciled' | 'ConsumerHealthy';
export type ConditionStatus = 'True' | 'False' | 'Unknown';

export interface Condition {
  type: ConditionType;
  status: ConditionStatus;
  /** CamelCase, e.g. `TopologyApplied`, `UnsafeQueueTypeChange`. */
  reason: string;
  message: string;
  /** RFC 3339; changes only when `status` changes. */
  lastTransitionTime: string;
  observedGeneration?: number;
}

/** What the operator last put on the broker: the baseline for unsafe-change detection and unbinding. */
export interface AppliedTopology {
  /**
   * The work queue. Added to the contract's fields so a renamed queue is refused instead of leaving the old one
   * bound and filling up; optional because a status written before it existed lacks it.
   */
  queue?: string;
  queueType: QueueType;
  deliveryLimit: number;
  /** The retry tiers the current policy uses. */
  retryDelaysMs: number[];
  /**
   * Tiers no longer in the policy but still on the broker, with when they were dropped (RFC 3339): kept for a
   * grace period while pods still on the old policy may park retries in them, then deleted once empty and unused.
   */
  droppedTiers?: DroppedRetryTier[];
  eventTypes: string[];
  deadLetterQueue: string;
  exchange: string;
}

export interface DroppedRetryTier {
  delayMs: number;
  /** RFC 3339: when the policy stopped using the tier. */
  since: string;
}

export interface EventSubscriptionStatus {
  observedGeneration?: number;
  conditions?: Condition[];
  /** READY messages in the work queue (what RabbitMQ's declare-ok reports): unacknowledged deliveries are not counted. */
  queueDepth?: number;
  /** Ready messages in the DLQ, likewise. */
  deadLetterDepth?: number;
  consumers?: number;
  /** RFC 3339. */
  lastObservedTime?: string;
  appliedTopology?: AppliedTopology;
}

export interface EventSubscriptionMetadata {
  name: string;
  namespace?: string;
  uid?: string;
  generation?: number;
  resourceVersion?: string;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  finalizers?: string[];
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface EventSubscription {
  apiVersion: string;
  kind: string;
  metadata: EventSubscriptionMetadata;
  spec: EventSubscriptionSpec;
  status?: EventSubscriptionStatus;
}
