import { CONSUMER_POLICY_API_VERSION, CONSUMER_POLICY_KIND, type ConsumerPolicy } from '@switchyard/messaging/topology';
import type { AppliedTopology, EventSubscriptionMetadata } from '../api/v1alpha1/index.js';
import type { ResolvedSubscriptionSpec } from './subscription-spec.js';

/** The consumer policy a resolved spec renders to: what the ConfigMap carries and the service applies. */
export function consumerPolicyOf(metadata: EventSubscriptionMetadata, spec: ResolvedSubscriptionSpec): ConsumerPolicy {
  return {
    apiVersion: CONSUMER_POLICY_API_VERSION,
    kind: CONSUMER_POLICY_KIND,
    generation: metadata.generation ?? 0,
    source: `${metadata.namespace ?? 'default'}/${metadata.name}`,
    service: spec.service,
    queue: spec.queue,
    exchange: spec.exchange,
    queueType: spec.queueType,
    events: spec.events.map((event) => ({ type: event.type, versions: [...event.versions] })),
    retryDelaysMs: [...spec.retryDelaysMs],
    deliveryLimit: spec.deliveryLimit,
    deadLetter: { ...spec.deadLetter },
    prefetch: spec.prefetch,
    paused: spec.paused,
  };
}

/** The broker-facing facts of a policy, as `status.appliedTopology` records them once declared. */
export function appliedTopologyOf(policy: ConsumerPolicy): AppliedTopology {
  return {
    queue: policy.queue,
    queueType: policy.queueType as AppliedTopology['queueType'],
    deliveryLimit: policy.deliveryLimit,
    retryDelaysMs: [...policy.retryDelaysMs],
    eventTypes: policy.events.map((event) => event.type),
    deadLetterQueue: policy.deadLetter.queue,
    exchange: policy.exchange,
  };
}
