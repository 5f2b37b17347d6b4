import { Inject, Injectable, type INestApplication, type OnModuleInit, type Type } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import type { MicroserviceOptions } from '@nestjs/microservices';
import { TransportConnector } from '@switchyard/service-kit';
import { ConsumerPolicySource } from './consumer/consumer-policy-source.js';
import { catalogProducerOf, decodeDelivery } from './publishing/event-codec.js';
import { assertEventHandlersDeclared } from './event-handler-audit.js';
import { inboxHandlerRunner } from './consumer/inbox.js';
import { MESSAGING_OPTIONS, type EventConsumerOptions, type MessagingModuleOptions } from './messaging-options.js';
import { MessagingRuntime } from './messaging-runtime.js';
import { consumerQueues } from './observability/queue-depth-sampler.js';
import { SwitchyardServer } from './consumer/switchyard-server.js';

/**
 * Connects the Switchyard transport for `options.consumer` to the app (service-kit's `createServiceApp` calls
 * `connect`): the `@ConsumeEvent` methods of its controllers become the consumers of the queue, each run in the
 * inbox transaction. Without a consumer it does nothing.
 */
@Injectable()
export class EventTransportConnector extends TransportConnector implements OnModuleInit {
  constructor(
    @Inject(MESSAGING_OPTIONS) private readonly options: MessagingModuleOptions,
    private readonly runtime: MessagingRuntime,
    private readonly discovery: DiscoveryService,
  ) {
    super();
  }

  /** Start-up fails on a handler declared with a bare `@EventPattern`, before any message could reach it. */
  onModuleInit(): void {
    if (!this.options.consumer) return;
    const controllers = this.discovery
      .getControllers()
      .map((wrapper) => wrapper.metatype)
      .filter((metatype): metatype is Type => typeof metatype === 'function');
    assertEventHandlersDeclared(controllers);
  }

  connect(app: INestApplication): void {
    if (!this.options.consumer) return;
    const server = this.createServer(this.options.consumer);
    // Error pass-through is applied per handler by `@ConsumeEvent`: Nest wires a connected microservice's listeners
    // at once, before global filters could be added to it.
    app.connectMicroservice<MicroserviceOptions>({ strategy: server });
  }

  private createServer(consumer: EventConsumerOptions): SwitchyardServer {
    const { runtime } = this;
    const { queue } = consumer;
    const config = this.options.config;
    const retryDelaysMs = config.MESSAGING_RETRY_DELAYS_MS;
    // With a mounted policy its retry tiers, prefetch and pause win, and change without a restart.
    const policySource = config.CONSUMER_POLICY_DIR
      ? new ConsumerPolicySource({
          directory: config.CONSUMER_POLICY_DIR,
          queue,
          logger: runtime.logger,
          onInvalid: () => runtime.policyMetrics?.policyError(queue),
          pollIntervalMs: config.CONSUMER_POLICY_POLL_MS,
        })
      : undefined;
    const server = new SwitchyardServer({
      connection: runtime.consumerConnection,
      publishConnection: runtime.connection,
      service: this.options.service,
      queue,
      exchange: runtime.exchange,
      decode: decodeDelivery,
      // Producer authentication: each event type only from the broker identity the catalog names as its producer.
      producerOf: catalogProducerOf,
      maxMessageBytes: config.MESSAGING_MAX_MESSAGE_BYTES,
      // Handlers run in a database transaction that also records the event in the inbox: one effect per event.
      runHandler: inboxHandlerRunner(consumer.transaction),
      retryDelaysMs,
      ...(consumer.prefetch ? { prefetch: consumer.prefetch } : {}),
      ...(consumer.deadLetter ? { deadLetter: consumer.deadLetter } : {}),
      ...(policySource ? { policySource } : {}),
      observer: runtime.observer,
      logger: runtime.logger,
    });
    runtime.queueDepth?.watchConsumer(queue, consumerQueues(queue, retryDelaysMs, consumer.deadLetter?.queue));
    runtime.policyMetrics?.watch(queue);
    // A policy moves the tiers and the DLQ: sample the queues it names.
    server.on('settings', (settings) => {
      runtime.queueDepth?.watchConsumer(queue, consumerQueues(queue, settings.retryDelaysMs, settings.deadLetterQueue));
      runtime.policyMetrics?.settingsApplied(settings);
    });
    server.on('policyRejected', () => runtime.policyMetrics?.policyError(queue));
    runtime.addConsumer(queue, server, policySource);
    return server;
  }
}
