import type { ChannelFactory, RabbitMqConnection } from '@switchyard/messaging/topology';

/** RabbitMQ is down or reconnecting: a transient failure, the subscription is retried with backoff. */
export class BrokerUnavailableError extends Error {
  override name = 'BrokerUnavailableError';
}

/**
 * Channels on the process's one (self-reconnecting) RabbitMQ connection. While it is down, `createChannel` fails
 * at once with BrokerUnavailableError instead of waiting: the reconcile reports it and the key is requeued.
 */
export function connectionChannels(connection: Pick<RabbitMqConnection, 'current'>): ChannelFactory {
  return {
    createChannel: async () => {
      const model = connection.current();
      if (!model) throw new BrokerUnavailableError('RabbitMQ is not connected (the operator is reconnecting)');
      return model.createChannel();
    },
  };
}
