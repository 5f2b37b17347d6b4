import { type ChannelFactory, onThrowawayChannel } from '../connection/throwaway-channel.js';
import { TopologyConflictError } from '../messaging-errors.js';
import { errorMessage } from '../to-error.js';
import type { TopologyPlan } from './topology-plan.js';

/**
 * Declares a plan: exchanges, then queues (targets of dead-lettering first), then bindings. Idempotent: declaring
 * the same plan again changes nothing. Runs on a channel of its own, because a failed declare closes its channel
 * and must not take a consumer or publisher with it. An existing object declared differently becomes a
 * `TopologyConflictError` naming the object and the differing argument.
 */
export async function declareTopology(connection: ChannelFactory, plan: TopologyPlan): Promise<void> {
  // The broker closes the channel on a failed declare; the rejected call carries the reason.
  await onThrowawayChannel(connection, async (channel) => {
    for (const exchange of plan.exchanges) {
      await mapConflict('exchange', exchange.name, () =>
        channel.assertExchange(exchange.name, exchange.type, { durable: exchange.durable }),
      );
    }
    for (const queue of plan.queues) {
      // Only `arguments`: amqplib's convenience options would add their own x-* keys next to ours.
      await mapConflict('queue', queue.name, () =>
        channel.assertQueue(queue.name, { durable: queue.durable, arguments: { ...queue.arguments } }),
      );
    }
    for (const binding of plan.bindings) {
      await channel.bindQueue(binding.queue, binding.exchange, binding.routingKey);
    }
  });
}

async function mapConflict<T>(kind: 'queue' | 'exchange', name: string, declare: () => Promise<T>): Promise<T> {
  try {
    return await declare();
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    const message = errorMessage(error);
    if (code === 406 || message.includes('PRECONDITION_FAILED')) {
      // e.g. "inequivalent arg 'x-delivery-limit' for queue 'q' in vhost '/': received ... but current is ..."
      const argument = /inequivalent arg '([^']+)'/.exec(message)?.[1];
      const brokerMessage = /PRECONDITION_FAILED - ([^"]+)/.exec(message)?.[1] ?? message;
      throw new TopologyConflictError(kind, name, argument, brokerMessage, { cause: error });
    }
    throw error;
  }
}
