import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown, Optional } from '@nestjs/common';
import { HealthChecks, postgresTimeoutsOf } from '@switchyard/service-kit';
import { ServiceMetrics } from '@switchyard/telemetry';
import { PinoLogger } from 'nestjs-pino';
import { ConsumerPolicyMetrics } from './observability/consumer-policy-metrics.js';
import type { ConsumerPolicySource } from './consumer/consumer-policy-source.js';
import { outboxRowToWire } from './publishing/event-codec.js';
import { EventPublisher } from './publishing/event-publisher.js';
import { tracePublish } from './observability/message-tracing.js';
import type { MessagingLogger } from './observability/messaging-logger.js';
import { noopObserver, notify, type MessagingObserver } from './observability/messaging-observer.js';
import { MESSAGING_OPTIONS, type MessagingModuleOptions } from './messaging-options.js';
import { OutboxMetrics } from './observability/outbox-metrics.js';
import { PrometheusMessagingObserver } from './observability/prometheus-observer.js';
import { QueueDepthSampler } from './observability/queue-depth-sampler.js';
import { OutboxRelay } from './publishing/outbox-relay.js';
import { relayLivenessCheck } from './publishing/relay-watchdog.js';
import { registerRelayProgressMetrics } from './observability/relay-progress-metrics.js';
import { RabbitMqConnection } from './connection/rabbitmq-connection.js';
import type { SwitchyardServer } from './consumer/switchyard-server.js';

/**
 * The process's messaging: two broker connections, the publisher the outbox relay sends through, and the relay.
 * Starts after every module has initialised; stops after the HTTP listener and the consumers (Nest closes those
 * first), so the relay's last drain also publishes what in-flight handlers committed.
 *
 * Why two connections (RabbitMQ's own advice): during a memory or disk alarm the broker blocks every connection
 * that publishes, and a blocked connection is not read at all, acks included. `connection` publishes (relay,
 * and the consumers' retry and dead-letter copies); `consumerConnection` only consumes, acks and declares, so
 * successful handlers keep acking through an alarm, which is what drains the queues. A failed delivery's copy
 * waits on the blocked publishing connection (its original stays unacked until the copy is confirmed, or goes back
 * to the queue after the confirm timeout), and queue depths are sampled on the consuming side so they keep coming.
 */
@Injectable()
export class MessagingRuntime implements OnApplicationBootstrap, OnApplicationShutdown {
  /** Publishing: the outbox relay, and retry/dead-letter copies of the consumers. */
  readonly connection: RabbitMqConnection;
  /** Consuming (`<service>-consumer`): the event transports' channels, their topology, and queue-depth sampling. */
  readonly consumerConnection: RabbitMqConnection;
  readonly publisher: EventPublisher;
  readonly relay: OutboxRelay;
  readonly logger: MessagingLogger;
  readonly exchange: string;
  /** What the publisher and every transport report to: `options.observer` and, with metrics, Prometheus. */
  readonly observer: MessagingObserver;
  /** Present when the app has `ServiceMetrics` (service-kit's `MetricsModule`); transports add their queues. */
  readonly queueDepth: QueueDepthSampler | undefined;
  /** Present with metrics: policy errors, pause and generation per consumed queue. */
  readonly policyMetrics: ConsumerPolicyMetrics | undefined;
  private readonly outboxMetrics: OutboxMetrics | undefined;
  /** Set once an event transport consumes: only then does readiness depend on the consuming connection. */
  private consuming = false;

  constructor(
    @Inject(MESSAGING_OPTIONS) readonly options: MessagingModuleOptions,
    private readonly checks: HealthChecks,
    logger: PinoLogger,
    @Optional() @Inject(ServiceMetrics) metrics?: ServiceMetrics,
  ) {
    logger.setContext('Messaging');
    this.logger = logger;
    this.exchange = options.config.RABBITMQ_EXCHANGE;
    this.observer = combineObservers([
      options.observer,
      metrics ? new PrometheusMessagingObserver(metrics.registry) : undefined,
    ]);
    const observer = this.observer;
    const databaseTimeouts = postgresTimeoutsOf(options.config);
    this.connection = new RabbitMqConnection({
      url: options.config.RABBITMQ_URL,
      connectionName: options.service,
      ...(options.config.RABBITMQ_CA_FILE ? { caFile: options.config.RABBITMQ_CA_FILE } : {}),
      logger,
    });
    this.consumerConnection = new RabbitMqConnection({
      url: options.config.RABBITMQ_URL,
      connectionName: `${options.service}-consumer`,
      ...(options.config.RABBITMQ_CA_FILE ? { caFile: options.config.RABBITMQ_CA_FILE } : {}),
      logger,
    });
    this.publisher = new EventPublisher({ connection: this.connection, exchanges: [this.exchange], observer, logger });
    if (metrics) {
      const sampling = {
        registry: metrics.registry,
        logger,
        ...(options.metricsSampleIntervalMs ? { intervalMs: options.metricsSampleIntervalMs } : {}),
      };
      // On the consuming side: a publishing connection blocked by an alarm would stall the samples just when they matter.
      // One replica samples at a time: the one whose consuming connection holds the service's exclusive sampler queue.
      this.queueDepth = new QueueDepthSampler({
        connection: this.consumerConnection,
        soleSamplerQueue: `${options.service}.queue-depth-sampler`,
        ...sampling,
      });
      this.outboxMetrics = new OutboxMetrics({
        databaseUrl: options.config.DATABASE_URL,
        databaseTimeouts,
        ...sampling,
      });
      this.policyMetrics = new ConsumerPolicyMetrics(metrics.registry);
    } else {
      this.policyMetrics = undefined;
    }
    this.relay = new OutboxRelay({
      unroutableMaxAttempts: options.config.MESSAGING_OUTBOX_UNROUTABLE_MAX_ATTEMPTS,
      ...options.relay,
      databaseUrl: options.config.MESSAGING_RELAY_DATABASE_URL ?? options.config.DATABASE_URL,
      databaseTimeouts,
      logger,
      canPublish: () => this.publisher.isReady,
      publish: (row) =>
        // A PRODUCER span continuing the context stored with the row; its own context goes out in the headers.
        tracePublish(
          {
            exchange: this.exchange,
            routingKey: row.eventType,
            messageId: row.id,
            correlationId: row.correlationId ?? row.id,
            server: this.publisher.endpoint,
            traceparent: row.traceparent,
            tracestate: row.tracestate,
          },
          async (traceHeaders) => {
            const wire = outboxRowToWire(
              { ...row, traceparent: traceHeaders.traceparent ?? null, tracestate: traceHeaders.tracestate ?? null },
              options.service,
            );
            // The envelope's header type is closed; the publisher takes any header table.
            return this.publisher.publish(this.exchange, wire.routingKey, wire.content, {
              ...wire.properties,
              headers: { ...wire.properties.headers },
            });
          },
        ),
    });
    if (metrics) registerRelayProgressMetrics(metrics.registry, this.relay);
  }

  async onApplicationBootstrap(): Promise<void> {
    // A relay hung mid-batch fails liveness: only a restart releases its connection and row locks.
    this.checks.addLivenessCheck(
      'outbox-relay',
      relayLivenessCheck(this.relay, this.options.config.MESSAGING_RELAY_STUCK_AFTER_MS),
    );
    this.checks.addReadinessCheck('broker', async () => {
      const health = this.connection.health();
      if (!this.connection.isReady)
        throw new Error(health.connected ? 'connected, still setting up channels' : 'not connected to RabbitMQ');
      if (health.blocked) throw new Error('RabbitMQ has blocked publishing (memory or disk alarm)');
      // Consumers set up (declared and consuming, or deliberately paused) on the consuming connection.
      if (this.consuming && !this.consumerConnection.isReady) {
        throw new Error(
          this.consumerConnection.health().connected
            ? 'consumer connection still setting up consumers'
            : 'consumer connection not connected to RabbitMQ',
        );
      }
    });
    // Not awaited: with the broker down the service still starts (live, not ready) and connects when it can.
    void this.connection.start().catch(() => undefined);
    await this.publisher.start();
    this.connection.onConnected(async () => this.relay.nudge()).catch(() => undefined);
    this.relay.start();
    void this.queueDepth?.start();
    this.outboxMetrics?.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all([this.queueDepth?.stop(), this.outboxMetrics?.stop()]);
    await this.relay.stop();
    await this.publisher.close();
    await Promise.all([this.connection.close(), this.consumerConnection.close()]);
  }

  /**
   * Called for the service's event transport when it is connected: readiness then covers the consuming connection, and
   * `consumer:<queue>` reports what the consumer runs with (its policy, paused or not). That check never fails on
   * its own: a paused consumer is healthy, and a bad policy file keeps the last good one (it shows in the details
   * and in `messaging_consumer_policy_errors_total`).
   */
  addConsumer(queue: string, server: SwitchyardServer, policySource: ConsumerPolicySource | undefined): void {
    this.consuming = true;
    this.checks.addReadinessCheck(`consumer:${queue}`, async () => consumerDetails(server, policySource));
  }
}

/** Readiness details of one consumer. */
function consumerDetails(
  server: SwitchyardServer,
  policySource: ConsumerPolicySource | undefined,
): Record<string, unknown> {
  const settings = server.currentSettings();
  const policy = policySource?.current();
  return {
    consuming: server.isConsuming,
    paused: server.isPaused,
    ...(settings
      ? {
          prefetch: settings.prefetch,
          retryDelaysMs: settings.retryDelaysMs,
          deadLetterQueue: settings.deadLetterQueue,
        }
      : {}),
    policy: settings?.policy
      ? { source: settings.policy.source, generation: settings.policy.generation }
      : 'code defaults',
    ...(policy?.error ? { policyError: policy.error } : {}),
  };
}

/** One observer calling each of `observers` (each call isolated: one that throws does not starve the others). */
function combineObservers(observers: ReadonlyArray<MessagingObserver | undefined>): MessagingObserver {
  const present = observers.filter((o): o is MessagingObserver => o !== undefined);
  if (present.length === 0) return noopObserver;
  if (present.length === 1) return present[0]!;
  return {
    consumed: (event) => present.forEach((o) => notify(o, 'consumed', event)),
    retry: (event) => present.forEach((o) => notify(o, 'retry', event)),
    deadLettered: (event) => present.forEach((o) => notify(o, 'deadLettered', event)),
    published: (event) => present.forEach((o) => notify(o, 'published', event)),
  };
}
