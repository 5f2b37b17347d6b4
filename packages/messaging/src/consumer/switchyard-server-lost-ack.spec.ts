import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { MessageHandler } from '@nestjs/microservices';
import { createMetricsRegistry } from '@switchyard/telemetry';
import { createTestVhost, samples, type TestVhost, valueOf, waitFor } from '@switchyard/testing';
import { decodeJson, publishEvent, RecordingObserver } from '../../test/broker-harness.js';
import { RabbitMqConnection } from '../connection/rabbitmq-connection.js';
import { listDeadLetters, replayDeadLetters } from '../dlq/dlq-admin.js';
import type { DeadLetteredEvent, MessagingObserver, RetryEvent } from '../observability/messaging-observer.js';
import { PrometheusMessagingObserver } from '../observability/prometheus-observer.js';
import { EventPublisher } from '../publishing/event-publisher.js';
import type { EventContext } from './event-context.js';
import { NonRetriableError } from './failure-routing.js';
import { SwitchyardServer } from './switchyard-server.js';

const EXCHANGE = 'test.events';
const QUEUE = 'spec.lost-ack';
const EVENT_TYPE = 'thing.lost';
const TIER_MS = 300;

/**
 * The ack of a failed delivery lost after its copy was confirmed, for real: the observer hook that runs once the
 * broker confirmed the retry or dead-letter copy (before the transport acks the original) closes the consuming
 * connection, so the broker requeues the original and hands it back, `redelivered`, after the reconnect.
 */
describe('SwitchyardServer when the ack after a confirmed copy is lost', () => {
  let vhost: TestVhost;
  let consuming: RabbitMqConnection;
  let publishing: RabbitMqConnection;
  let publisher: EventPublisher;
  let server: SwitchyardServer;
  const registry = createMetricsRegistry({ service: 'lost-ack-spec', defaultMetrics: false });
  const metrics = new PrometheusMessagingObserver(registry, { isKnownEventType: (type) => type === EVENT_TYPE });
  const recorded = new RecordingObserver();
  /** Which copy's confirm cuts the consuming connection next (once). */
  let cutAfter: 'retry' | 'deadLettered' | undefined;
  const handled: Array<{ eventId: string; attempt: number }> = [];
  const effects: string[] = [];

  const cut = (hook: 'retry' | 'deadLettered'): void => {
    if (cutAfter !== hook) return;
    cutAfter = undefined;
    // Sends connection.close now: the ack that follows this hook can no longer reach the broker.
    void consuming
      .current()
      ?.close()
      .catch(() => undefined);
  };
  const observer = {
    consumed: recorded.consumed.bind(recorded),
    retry(event: RetryEvent): void {
      recorded.retry(event);
      metrics.retry(event);
      cut('retry');
    },
    deadLettered(event: DeadLetteredEvent): void {
      recorded.deadLettered(event);
      metrics.deadLettered(event);
      cut('deadLettered');
    },
  };

  const counter = async (name: string, labels: Record<string, string> = {}): Promise<number> =>
    valueOf(samples(await registry.metrics()), name, { queue: QUEUE, event_type: EVENT_TYPE, ...labels }) ?? 0;

  beforeAll(async () => {
    vhost = await createTestVhost('lost-ack');
    consuming = new RabbitMqConnection({
      url: vhost.url,
      connectionName: 'lost-ack-consumer',
      reconnectInitialDelayMs: 20,
      reconnectMaxDelayMs: 100,
    });
    publishing = new RabbitMqConnection({ url: vhost.url, connectionName: 'lost-ack-publisher' });
    await publishing.start();
    publisher = new EventPublisher({ connection: publishing, exchanges: [EXCHANGE] });
    await publisher.start();
    server = new SwitchyardServer({
      connection: consuming,
      publishConnection: publishing,
      service: 'lost-ack-spec',
      queue: QUEUE,
      exchange: EXCHANGE,
      retryDelaysMs: [TIER_MS],
      decode: decodeJson,
      observer,
    });
    server.addHandler(
      EVENT_TYPE,
      (async (data: { fails: 'always' | 'once' }, ctx: EventContext) => {
        handled.push({ eventId: ctx.eventId, attempt: ctx.attempt });
        if (data.fails === 'always') throw new NonRetriableError(`${ctx.eventId} is refused`);
        if (ctx.attempt === 1) throw new Error('not yet');
        effects.push(ctx.eventId);
      }) as MessageHandler,
      true,
    );
    await new Promise<void>(
      (resolve, reject) => void server.listen((error?: unknown) => (error ? reject(error as Error) : resolve())),
    );
  }, 20_000);

  afterAll(async () => {
    await server?.close();
    await publisher?.close();
    await consuming?.close();
    await publishing?.close();
    await vhost?.drop();
  }, 20_000);

  it('acks the redelivered original instead of dead-lettering it again: one dead letter, counted once', async () => {
    cutAfter = 'deadLettered';
    const id = await publishEvent(publisher, EXCHANGE, EVENT_TYPE, { fails: 'always' });

    // Either way the redelivery is settled: acked as a duplicate (fixed) or dead-lettered a second time.
    await waitFor(
      'the redelivered original to be settled',
      () => recorded.outcomes('duplicate') === 1 || recorded.deadLetters.length === 2,
    );
    expect(cutAfter).toBeUndefined();
    expect(recorded.deadLetters).toHaveLength(1);
    expect(recorded.outcomes('duplicate')).toBe(1);
    expect(handled.filter((entry) => entry.eventId === id)).toHaveLength(1);
    expect(await counter('messaging_dead_lettered_total', { reason: 'non_retriable' })).toBe(1);

    const list = await listDeadLetters(publishing.current()!, QUEUE);
    expect(list).toMatchObject({ total: 1, deadLetters: 1 });
    expect(list.items).toEqual([expect.objectContaining({ eventId: id, reason: 'non_retriable', copies: 1 })]);
  });

  it('acks the redelivered original instead of copying it to the retry tier again: one retry, one effect', async () => {
    const retriesBefore = recorded.retries.length;
    const duplicatesBefore = recorded.outcomes('duplicate');
    cutAfter = 'retry';
    const id = await publishEvent(publisher, EXCHANGE, EVENT_TYPE, { fails: 'once' });

    await waitFor(
      'the redelivered original to be settled',
      () => recorded.outcomes('duplicate') === duplicatesBefore + 1 || recorded.retries.length === retriesBefore + 2,
    );
    expect(recorded.retries.length - retriesBefore).toBe(1);
    await waitFor('the retry copy to be handled', () => effects.includes(id));
    expect(effects).toEqual([id]);
    expect(handled.filter((entry) => entry.eventId === id).map((entry) => entry.attempt)).toEqual([1, 2]);
    expect(await counter('messaging_retries_total')).toBe(1);
  });

  it('when the redelivery reaches another replica: a second copy, which the DLQ tools count and replay once', async () => {
    const queue = `${QUEUE}.replicas`;
    const replicaRegistry = createMetricsRegistry({ service: 'lost-ack-replica', defaultMetrics: false });
    const replicaMetrics = new PrometheusMessagingObserver(replicaRegistry, {
      isKnownEventType: (type) => type === EVENT_TYPE,
    });
    // The first replica stays disconnected after the cut, so the broker hands the original to the second one.
    const firstConnection = new RabbitMqConnection({
      url: vhost.url,
      connectionName: 'lost-ack-first-replica',
      reconnectInitialDelayMs: 60_000,
      reconnectMaxDelayMs: 60_000,
    });
    const secondConnection = new RabbitMqConnection({ url: vhost.url, connectionName: 'lost-ack-second-replica' });
    let cutFirst = true;
    let accept = false;
    const accepted: string[] = [];
    const replica = (connection: RabbitMqConnection, replicaObserver: MessagingObserver): SwitchyardServer => {
      const replicaServer = new SwitchyardServer({
        connection,
        publishConnection: publishing,
        service: 'lost-ack-spec',
        queue,
        exchange: EXCHANGE,
        retryDelaysMs: [],
        decode: decodeJson,
        observer: replicaObserver,
      });
      replicaServer.addHandler(
        EVENT_TYPE,
        (async (_data: unknown, ctx: EventContext) => {
          if (!accept) throw new NonRetriableError(`${ctx.eventId} is refused`);
          accepted.push(ctx.eventId);
        }) as MessageHandler,
        true,
      );
      return replicaServer;
    };
    const listen = (replicaServer: SwitchyardServer): Promise<void> =>
      new Promise<void>(
        (resolve, reject) =>
          void replicaServer.listen((error?: unknown) => (error ? reject(error as Error) : resolve())),
      );
    const first = replica(firstConnection, {
      deadLettered: () => {
        if (!cutFirst) return;
        cutFirst = false;
        void firstConnection
          .current()
          ?.close()
          .catch(() => undefined);
      },
    });
    const second = replica(secondConnection, replicaMetrics);
    const replicaCounter = async (name: string): Promise<number> =>
      valueOf(samples(await replicaRegistry.metrics()), name, {
        queue,
        event_type: EVENT_TYPE,
        reason: 'non_retriable',
      }) ?? 0;
    try {
      await listen(first);
      const id = await publishEvent(publisher, EXCHANGE, EVENT_TYPE, { fails: 'always' });
      await waitFor(
        'the first replica to lose its connection after the copy',
        () => !cutFirst && !firstConnection.isReady,
      );
      await listen(second);
      await waitFor('the second replica to dead-letter the redelivery', async () =>
        (await replicaCounter('messaging_dead_lettered_total')) === 1 ? true : undefined,
      );
      expect(await replicaCounter('messaging_dead_lettered_redelivered_total')).toBe(1);

      const list = await listDeadLetters(publishing.current()!, queue);
      expect(list).toMatchObject({ total: 2, deadLetters: 1 });
      expect(list.items).toEqual([expect.objectContaining({ eventId: id, copies: 2 })]);

      accept = true;
      const replayed = await replayDeadLetters(publishing.current()!, queue, { ids: [id] });
      expect(replayed).toEqual({ replayed: [id], removedCopies: 1, notFound: [], failed: [] });
      const marker = await publishEvent(publisher, EXCHANGE, EVENT_TYPE, { fails: 'always' });
      await waitFor('the marker to be handled', () => accepted.includes(marker));
      expect(accepted.filter((eventId) => eventId === id)).toHaveLength(1);
      expect((await listDeadLetters(publishing.current()!, queue)).total).toBe(0);
    } finally {
      await first.close();
      await second.close();
      await firstConnection.close();
      await secondConnection.close();
    }
  }, 30_000);
});
