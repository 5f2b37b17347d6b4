import type { ChannelFactory } from '@switchyard/messaging/topology';
import { inspectQueue } from './broker-queues.js';

/**
 * What status reports about a subscription's queues; a depth is undefined when that queue does not exist.
 * Depths are READY messages only: queue.declare-ok's message count excludes messages delivered to a consumer and
 * not yet acknowledged (so a busy queue can read 0). Never use a depth alone to decide a queue is unused; see
 * finalize-subscription.ts, which also checks consumers.
 */
export interface QueueObservation {
  queueDepth: number | undefined;
  deadLetterDepth: number | undefined;
  /** Consumers on the work queue; 0 when it does not exist. */
  consumers: number;
}

/** Observes the work queue and its DLQ (a missing queue is reported, not thrown). */
export async function observeQueues(
  broker: ChannelFactory,
  queue: string,
  deadLetterQueue: string,
): Promise<QueueObservation> {
  const work = await inspectQueue(broker, queue);
  const deadLetter = await inspectQueue(broker, deadLetterQueue);
  return {
    queueDepth: work?.messageCount,
    deadLetterDepth: deadLetter?.messageCount,
    consumers: work?.consumerCount ?? 0,
  };
}
