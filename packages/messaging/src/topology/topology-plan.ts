/**
 * The broker objects one consumer needs, as plain data: no I/O here, so the Kubernetes operator can plan (and
 * diff) exactly what a service would declare. `declareTopology` applies a plan.
 *
 * Per consumer queue `<queue>` (named `<service>.<purpose>`):
 *   exchange  switchyard.events         topic, durable; events are routed by their type
 *   <queue>                             quorum; bound to each handled event type; delivery limit; dead-letters to <queue>.dlq
 *   <queue>.retry.<delay>               quorum; one per backoff tier; TTL = delay, then dead-letters back to <queue>
 *   <queue>.dlq                         quorum; where messages go when they cannot be processed
 */

/** Default exchange every event is published to. */
export const DEFAULT_EXCHANGE = 'switchyard.events';

/**
 * Default redelivery limit of a work queue: 20. It is the last guard against a message that kills its consumer
 * (crash, OOM, a stuck channel) before any handler error is seen: retries go through the tiers and do not count
 * here, so 20 is far above what a healthy consumer reaches and far below an endless loop.
 */
export const DEFAULT_DELIVERY_LIMIT = 20;

/** Default retry tiers: 1 s, 5 s, 30 s, 2 min, 10 min — about 13 minutes of backoff, then the DLQ. */
export const DEFAULT_RETRY_DELAYS_MS: readonly number[] = Object.freeze([1_000, 5_000, 30_000, 120_000, 600_000]);

export type QueueArgumentValue = string | number;

export interface ExchangePlan {
  name: string;
  type: 'topic';
  durable: true;
}

export type QueueRole = 'work' | 'retry' | 'dead-letter';

/**
 * Type of the work queue. Quorum (the default) is replicated and supports a delivery limit and at-least-once
 * dead-lettering; classic is offered for brokers or budgets without quorum queues and has neither. RabbitMQ cannot
 * change a queue's type in place: switching means draining and deleting the queue.
 */
export type WorkQueueType = 'quorum' | 'classic';
export const WORK_QUEUE_TYPES: readonly WorkQueueType[] = Object.freeze(['quorum', 'classic']);

export interface QueuePlan {
  name: string;
  role: QueueRole;
  durable: true;
  /** Exactly the `x-*` arguments to declare with; key order is stable. */
  arguments: Readonly<Record<string, QueueArgumentValue>>;
  /** Retry tiers only: how long a message waits before it returns to the work queue. */
  delayMs?: number;
}

export interface BindingPlan {
  exchange: string;
  queue: string;
  routingKey: string;
}

export interface TopologyPlan {
  exchanges: readonly ExchangePlan[];
  /** Dead-letter queue first, then retry tiers (shortest first), then the work queue: targets exist before sources. */
  queues: readonly QueuePlan[];
  bindings: readonly BindingPlan[];
}

export interface ConsumerTopologyInput {
  /** Default `switchyard.events`. */
  exchange?: string;
  /** The work queue, `<service>.<purpose>`. */
  queue: string;
  /** Routing keys (event types) to bind; duplicates are ignored. */
  eventTypes: readonly string[];
  /** The delay before each retry (one per retry; repeats share a tier); may be empty (failures then go straight to the DLQ). */
  retryDelaysMs: readonly number[];
  /** Default `DEFAULT_DELIVERY_LIMIT`. Quorum work queues only. */
  deliveryLimit?: number;
  /** Default `quorum`. */
  queueType?: WorkQueueType;
  /** `queue` defaults to `<queue>.dlq`. */
  deadLetter?: DeadLetterSettings;
}

export interface DeadLetterSettings {
  /** Default `<work queue>.dlq`. */
  queue?: string;
  maxLength?: number;
  messageTtlMs?: number;
}

/** `1000` → `1s`, `120000` → `2m`, `200` → `200ms`: the suffix of a retry tier's queue name. */
export function formatDelay(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1_000 === 0) return `${ms / 1_000}s`;
  return `${ms}ms`;
}

export function retryQueueName(queue: string, delayMs: number): string {
  return `${queue}.retry.${formatDelay(delayMs)}`;
}

export function deadLetterQueueName(queue: string): string {
  return `${queue}.dlq`;
}

/**
 * Arguments shared by queues whose dead letters must not be lost. Quorum queues dead-letter at-most-once by
 * default; `at-least-once` keeps a message in the source until the target queue has confirmed it, and RabbitMQ
 * only honours it together with `x-overflow: reject-publish` (which without a length limit changes nothing else).
 */
const SAFE_DEAD_LETTERING = Object.freeze({
  'x-dead-letter-strategy': 'at-least-once',
  'x-overflow': 'reject-publish',
});

/** Plans the exchange, work queue, retry tiers, DLQ and bindings of one consumer. Throws on invalid input. */
export function planConsumerTopology(input: ConsumerTopologyInput): TopologyPlan {
  const exchange = input.exchange ?? DEFAULT_EXCHANGE;
  const { queue } = input;
  const deliveryLimit = input.deliveryLimit ?? DEFAULT_DELIVERY_LIMIT;
  const queueType = input.queueType ?? 'quorum';
  if (!WORK_QUEUE_TYPES.includes(queueType))
    throw new TypeError(`queueType must be one of ${WORK_QUEUE_TYPES.join(', ')}, got ${String(queueType)}`);
  requireName('exchange', exchange);
  requireName('queue', queue);
  if (queue.endsWith('.dlq') || queue.includes('.retry.'))
    throw new TypeError(`queue '${queue}' must not look like a retry tier or DLQ name`);
  requirePositiveInt('deliveryLimit', deliveryLimit);
  const delays = [...input.retryDelaysMs];
  delays.forEach((delay, i) => requirePositiveInt(`retryDelaysMs[${i}]`, delay));
  // A repeated delay (say a capped exponential backoff: 1s, 5s, 30s, 30s, 30s) reuses its tier: a tier is a queue
  // per delay, not per attempt, and the attempt count travels in the message's own header.
  const uniqueDelays = [...new Set(delays)];
  const tierNames = uniqueDelays.map((delay) => retryQueueName(queue, delay));
  const eventTypes = [...new Set(input.eventTypes)];
  eventTypes.forEach((type) => requireName('event type', type));
  const dlqName = input.deadLetter?.queue ?? deadLetterQueueName(queue);
  requireName('dead-letter queue', dlqName);
  if (dlqName === queue || tierNames.includes(dlqName))
    throw new TypeError(`dead-letter queue '${dlqName}' must differ from the work queue and its retry tiers`);

  const dlqArguments: Record<string, QueueArgumentValue> = { 'x-queue-type': 'quorum' };
  if (input.deadLetter?.maxLength !== undefined) {
    requirePositiveInt('deadLetter.maxLength', input.deadLetter.maxLength);
    dlqArguments['x-max-length'] = input.deadLetter.maxLength;
  }
  if (input.deadLetter?.messageTtlMs !== undefined) {
    requirePositiveInt('deadLetter.messageTtlMs', input.deadLetter.messageTtlMs);
    dlqArguments['x-message-ttl'] = input.deadLetter.messageTtlMs;
  }

  // Retry tiers are quorum queues too: RabbitMQ 3.10 supports per-queue message TTL on quorum queues, and only
  // quorum queues offer at-least-once dead-lettering, so a message waiting out its delay survives a broker
  // restart and cannot vanish between the tier and the work queue. Every message of a tier has the same TTL,
  // so the head always expires first and nothing waits behind a longer delay (no head-of-line blocking).
  const tiers: QueuePlan[] = uniqueDelays
    .map((delayMs) => ({ delayMs, name: retryQueueName(queue, delayMs) }))
    .sort((a, b) => a.delayMs - b.delayMs)
    .map(({ delayMs, name }) => ({
      name,
      role: 'retry',
      durable: true,
      delayMs,
      arguments: {
        'x-queue-type': 'quorum',
        'x-message-ttl': delayMs,
        'x-dead-letter-exchange': '',
        'x-dead-letter-routing-key': queue,
        ...SAFE_DEAD_LETTERING,
      },
    }));

  const work: QueuePlan = {
    name: queue,
    role: 'work',
    durable: true,
    arguments:
      queueType === 'quorum'
        ? {
            'x-queue-type': 'quorum',
            'x-delivery-limit': deliveryLimit,
            'x-dead-letter-exchange': '',
            'x-dead-letter-routing-key': dlqName,
            ...SAFE_DEAD_LETTERING,
          }
        : // Classic queues know neither a delivery limit nor at-least-once dead-lettering; the DLX still catches rejects.
          { 'x-queue-type': 'classic', 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': dlqName },
  };

  return {
    exchanges: [{ name: exchange, type: 'topic', durable: true }],
    queues: [{ name: dlqName, role: 'dead-letter', durable: true, arguments: dlqArguments }, ...tiers, work],
    bindings: eventTypes.map((routingKey) => ({ exchange, queue, routingKey })),
  };
}

/** A plan with just an exchange, for processes that only publish. */
export function planExchange(exchange: string = DEFAULT_EXCHANGE): TopologyPlan {
  requireName('exchange', exchange);
  return { exchanges: [{ name: exchange, type: 'topic', durable: true }], queues: [], bindings: [] };
}

function requireName(what: string, value: string): void {
  // AMQP short strings are at most 255 bytes; `amq.` is reserved by the broker.
  if (typeof value !== 'string' || value.length === 0 || Buffer.byteLength(value) > 255 || value.startsWith('amq.')) {
    throw new TypeError(`invalid ${what} name '${String(value)}'`);
  }
}

function requirePositiveInt(what: string, value: number): void {
  if (!Number.isSafeInteger(value) || value <= 0)
    throw new TypeError(`${what} must be a positive integer, got ${String(value)}`);
}
