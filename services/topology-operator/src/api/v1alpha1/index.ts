/**
 * The EventSubscription API, version v1alpha1 (`@switchyard/topology-operator/api`): its names, the zod schemas
 * its types are inferred from and its CRD is generated from (`npm run crd`), the CRD's hand-written extras, and the
 * RBAC the operator needs. Pure: no I/O, nothing started.
 */
export {
  API_GROUP,
  API_VERSION,
  CATEGORIES,
  CONSUMER_POLICY_MOUNT_PATH,
  consumerPolicyConfigMapName,
  CRD_NAME,
  FINALIZER,
  KIND,
  LIST_KIND,
  OPERATOR_NAME,
  PLURAL,
  SHORT_NAMES,
  SINGULAR,
} from './names.js';
export { DURATION_PATTERN, durationSchema, MAX_DURATION_MS, parseDuration, type Duration } from './duration.js';
export { InvalidSubscriptionSpecError, type InvalidSpecReason } from './invalid-spec-error.js';
export {
  AMQP_NAME_PATTERN,
  DEFAULT_DELETION_POLICY,
  DEFAULT_NON_EMPTY_QUEUE_POLICY,
  DEFAULT_QUEUE_TYPE,
  DEFAULT_RETRY,
  EVENT_TYPE_PATTERN,
  eventSubscriptionSpecSchema,
  MAX_QUEUE_NAME_LENGTH,
  QUEUE_PATTERN,
  SERVICE_PATTERN,
  type Backoff,
  type DeadLetterSpec,
  type DeletionPolicy,
  type EventSubscriptionSpec,
  type ExponentialBackoff,
  type NonEmptyQueuePolicy,
  type QueueType,
  type RetrySpec,
  type SubscribedEvent,
} from './event-subscription-spec.js';
export {
  eventSubscriptionStatusSchema,
  type AppliedTopology,
  type DroppedRetryTier,
  type EventSubscriptionStatus,
} from './event-subscription-status.js';
export { CONDITION_TYPES, type Condition, type ConditionStatus, type ConditionType } from './conditions.js';
export {
  EVENT_SUBSCRIPTION_DESCRIPTION,
  subscriptionKey,
  type EventSubscription,
  type EventSubscriptionMetadata,
} from './event-subscription.js';
export {
  CRD_SCHEMA_OVERLAY,
  PRINTER_COLUMNS,
  type CelRule,
  type PrinterColumn,
  type SchemaOverlay,
} from './crd-overlay.js';
export {
  LEADER_ELECTION_RULES,
  OPERATOR_PERMISSIONS,
  permissionsOf,
  SUBSCRIPTION_RULES,
  type PermissionRule,
} from './rbac.js';
