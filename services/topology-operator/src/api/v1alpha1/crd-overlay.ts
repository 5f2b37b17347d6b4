import { MAX_DURATION_MS } from './duration.js';

/**
 * What the CRD has beyond the schema generated from the zod schemas (the hand-written part, as kubebuilder markers
 * are in messaging-topology-operator): CEL rules (x-kubernetes-validations, Kubernetes >= 1.25), list semantics for
 * server-side apply, the `oneOf` of the backoff forms and the printer columns. The generator (src/crd) adds each
 * entry at its path and fails when the path is not in the generated schema, so a renamed field cannot silently
 * lose its rules.
 *
 * CEL does what an RE2 pattern (the API server's regex engine: no lookahead) cannot: "does not end with", and
 * comparisons. CEL's duration() parses Go duration strings, so the ms/s/m/h syntax of `durationSchema` is its
 * syntax; a value too large for it, e.g. 999999999h, fails evaluation and is refused all the same. Every string a
 * rule reads is bounded (maxLength) and every list (maxItems), so the estimated rule cost is bounded. The operator
 * checks the same rules itself (`resolveSubscriptionSpec`, `retryDelaysOf`).
 */

/** One CEL rule; every rule carries a message (the server would otherwise answer with the rule text). */
export interface CelRule {
  rule: string;
  message: string;
}

/** Keywords the overlay may add to a schema node: only what no JSON schema generator knows. */
export interface SchemaOverlay {
  'x-kubernetes-validations'?: CelRule[];
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  /** Structural: each branch carries only `required`. */
  oneOf?: { required: string[] }[];
}

const durationRule: CelRule = {
  rule: `duration(self) <= duration('${MAX_DURATION_MS}ms')`,
  message: `a duration must be at most ${MAX_DURATION_MS}ms (about 596h, 24.8 days)`,
};
const durationRules = { 'x-kubernetes-validations': [durationRule] };

/**
 * Keyed by path below `openAPIV3Schema`: property names joined by `.`, `[]` for a list's items.
 */
export const CRD_SCHEMA_OVERLAY: Readonly<Record<string, SchemaOverlay>> = {
  spec: {
    'x-kubernetes-validations': [
      {
        rule: "self.queue.startsWith(self.service + '.')",
        message: 'queue must be named <service>.<purpose>, starting with the service name and a dot',
      },
      {
        rule: "!has(self.deadLetter) || !has(self.deadLetter.queue) || self.deadLetter.queue.startsWith(self.service + '.')",
        message:
          "deadLetter.queue must be named <service>.<name>, starting with the service name and a dot (another service's queues are not this one's)",
      },
      {
        rule: "!has(self.deadLetter) || !has(self.deadLetter.queue) || (self.deadLetter.queue != self.queue && !self.deadLetter.queue.startsWith(self.queue + '.retry.'))",
        message: 'deadLetter.queue must differ from the work queue and its retry tiers (<queue>.retry.<delay>)',
      },
    ],
  },
  'spec.queue': {
    'x-kubernetes-validations': [
      {
        rule: "!self.endsWith('.dlq') && !self.contains('.retry.')",
        message: 'queue must not end with .dlq or contain .retry. (those names belong to its DLQ and retry tiers)',
      },
      { rule: 'self == oldSelf', message: 'queue is immutable; create a new EventSubscription for another queue' },
    ],
  },
  'spec.exchange': {
    'x-kubernetes-validations': [
      { rule: "!self.startsWith('amq.')", message: 'exchange names starting with amq. are reserved by RabbitMQ' },
    ],
  },
  'spec.events': { 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'] },
  'spec.events[].versions': { 'x-kubernetes-list-type': 'set' },
  'spec.retry': {
    'x-kubernetes-validations': [
      {
        rule: '!has(self.backoff.delays) || size(self.backoff.delays) == self.maxAttempts - 1',
        message: 'retry.backoff.delays must list exactly maxAttempts - 1 delays, one per retry',
      },
    ],
  },
  'spec.retry.backoff': { oneOf: [{ required: ['delays'] }, { required: ['exponential'] }] },
  'spec.retry.backoff.delays': { 'x-kubernetes-list-type': 'atomic' },
  'spec.retry.backoff.delays[]': durationRules,
  'spec.retry.backoff.exponential': {
    'x-kubernetes-validations': [
      { rule: 'duration(self.initial) <= duration(self.max)', message: 'exponential initial must not exceed max' },
    ],
  },
  'spec.retry.backoff.exponential.initial': durationRules,
  'spec.retry.backoff.exponential.max': durationRules,
  'spec.deadLetter.queue': {
    'x-kubernetes-validations': [
      { rule: "!self.startsWith('amq.')", message: 'queue names starting with amq. are reserved by RabbitMQ' },
    ],
  },
  'spec.deadLetter.messageTtl': durationRules,
  'status.conditions': { 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'] },
};

export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'date';
  description?: string;
  jsonPath: string;
}

/** `kubectl get esub`: SERVICE, QUEUE, READY, DEPTH, DLQ, AGE. */
export const PRINTER_COLUMNS: readonly PrinterColumn[] = [
  { name: 'Service', type: 'string', jsonPath: '.spec.service' },
  { name: 'Queue', type: 'string', jsonPath: '.spec.queue' },
  { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
  {
    name: 'Depth',
    type: 'integer',
    description: 'Ready messages in the work queue, as last observed (unacknowledged deliveries not counted).',
    jsonPath: '.status.queueDepth',
  },
  {
    name: 'DLQ',
    type: 'integer',
    description: 'Ready messages in the dead-letter queue, as last observed.',
    jsonPath: '.status.deadLetterDepth',
  },
  { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
];
