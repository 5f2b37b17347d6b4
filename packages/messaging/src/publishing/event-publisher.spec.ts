import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestVhost, type TestVhost, waitFor } from '@switchyard/testing';
import { randomUUID } from 'node:crypto';
import { publishEvent, RecordingObserver } from '../../test/broker-harness.js';
import { startTcpProxy, type TcpProxy } from '../../test/tcp-proxy.js';
import { declareTopology } from '../topology/declare-topology.js';
import { EventPublisher } from './event-publisher.js';
import { ChannelClosedError, PublishTimeoutError, UnroutableMessageError } from '../messaging-errors.js';
import { RabbitMqConnection } from '../connection/rabbitmq-connection.js';
import { planConsumerTopology } from '../topology/topology-plan.js';

const EXCHANGE = 'test.events';
const QUEUE = 'svc.published';

describe('EventPublisher', () => {
  let vhost: TestVhost;
  let connection: RabbitMqConnection;
  let publisher: EventPublisher;
  const observer = new RecordingObserver();

  beforeAll(async () => {
    vhost = await createTestVhost('publisher');
    connection = new RabbitMqConnection({ url: vhost.url, connectionName: 'publisher-spec' });
    await connection.start();
    await declareTopology(
      connection.current()!,
      planConsumerTopology({ exchange: EXCHANGE, queue: QUEUE, eventTypes: ['thing.happened'], retryDelaysMs: [] }),
    );
    publisher = new EventPublisher({ connection, observer, exchanges: [EXCHANGE] });
    await publisher.start();
  });
  afterAll(async () => {
    await publisher?.close();
    await connection?.close();
    await vhost?.drop();
  });

  async function queueDepth(queue: string): Promise<number> {
    const channel = await connection.current()!.createChannel();
    const { messageCount } = await channel.checkQueue(queue);
    await channel.close();
    return messageCount;
  }

  it('resolves each of many pipelined publishes only once the broker has confirmed it', async () => {
    const before = await queueDepth(QUEUE);
    const ids = Array.from({ length: 200 }, () => randomUUID());

    await Promise.all(ids.map((id) => publishEvent(publisher, EXCHANGE, 'thing.happened', { n: id }, id)));

    expect(await queueDepth(QUEUE)).toBe(before + 200);
    expect(observer.publishes.filter((event) => event.outcome === 'confirmed').length).toBeGreaterThanOrEqual(200);
    expect(publisher.stats().inFlight).toBe(0);
  });

  it('rejects only the unroutable publish of a batch, and counts it', async () => {
    const returnedBefore = publisher.stats().returned;
    const routable = [randomUUID(), randomUUID()];
    const unroutable = randomUUID();

    const results = await Promise.allSettled([
      publishEvent(publisher, EXCHANGE, 'thing.happened', {}, routable[0]),
      publishEvent(publisher, EXCHANGE, 'nobody.listens', {}, unroutable),
      publishEvent(publisher, EXCHANGE, 'thing.happened', {}, routable[1]),
    ]);

    expect(results.map((result) => result.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    const error = (results[1] as PromiseRejectedResult).reason as UnroutableMessageError;
    expect(error).toBeInstanceOf(UnroutableMessageError);
    expect(error).toMatchObject({ messageId: unroutable, exchange: EXCHANGE, routingKey: 'nobody.listens' });
    expect(publisher.stats().returned).toBe(returnedBefore + 1);
    expect(observer.publishes).toContainEqual(
      expect.objectContaining({ eventType: 'nobody.listens', outcome: 'returned' }),
    );
  });

  it('sends to a queue through the default exchange with the same guarantees', async () => {
    const before = await queueDepth(`${QUEUE}.dlq`);
    await publisher.sendToQueue(`${QUEUE}.dlq`, Buffer.from('{}'), { messageId: randomUUID() });
    expect(await queueDepth(`${QUEUE}.dlq`)).toBe(before + 1);
    await expect(
      publisher.sendToQueue('no.such.queue', Buffer.from('{}'), { messageId: randomUUID() }),
    ).rejects.toBeInstanceOf(UnroutableMessageError);
  });

  it('fails a publish to a missing exchange with ChannelClosedError and then publishes on a fresh channel', async () => {
    await expect(publishEvent(publisher, 'no.such.exchange', 'thing.happened', {})).rejects.toThrow(ChannelClosedError);
    await expect(publishEvent(publisher, 'no.such.exchange', 'thing.happened', {})).rejects.toThrow(
      /NOT_FOUND|no channel/,
    );

    await waitFor('a new publisher channel', () => publisher.isReady);
    await expect(publishEvent(publisher, EXCHANGE, 'thing.happened', {})).resolves.toEqual(expect.any(String));
  });

  it('refuses to publish without a messageId, since returns are matched by it', async () => {
    await expect(publisher.publish(EXCHANGE, 'thing.happened', Buffer.from('{}'), { messageId: '' })).rejects.toThrow(
      TypeError,
    );
  });

  describe('when the broker stops answering', () => {
    let proxy: TcpProxy;
    let proxied: RabbitMqConnection;
    let slowPublisher: EventPublisher;

    beforeAll(async () => {
      proxy = await startTcpProxy(5672);
      proxied = new RabbitMqConnection({
        url: vhost.url.replace(':5672', `:${proxy.port}`),
        connectionName: 'publisher-spec-proxied',
        reconnectInitialDelayMs: 50,
      });
      await proxied.start();
      slowPublisher = new EventPublisher({ connection: proxied, confirmTimeoutMs: 300 });
      await slowPublisher.start();
    });
    afterAll(async () => {
      proxy?.thaw();
      await slowPublisher?.close();
      await proxied?.close();
      await proxy?.close();
    }, 20_000);

    it('rejects with PublishTimeoutError ("unknown, send again") when no confirm comes in time', async () => {
      await expect(publishEvent(slowPublisher, EXCHANGE, 'thing.happened', {})).resolves.toEqual(expect.any(String));
      proxy.freeze();
      const started = Date.now();

      const error = await publishEvent(slowPublisher, EXCHANGE, 'thing.happened', {}).catch(
        (caught: unknown) => caught,
      );

      expect(error).toBeInstanceOf(PublishTimeoutError);
      expect(Date.now() - started).toBeGreaterThanOrEqual(290);
      expect(slowPublisher.stats().timedOut).toBe(1);
      proxy.thaw();
      await expect(publishEvent(slowPublisher, EXCHANGE, 'thing.happened', {})).resolves.toEqual(expect.any(String));
    });

    it('rejects every pending publish with ChannelClosedError when the connection dies, then publishes again after the reconnect', async () => {
      const patient = new EventPublisher({ connection: proxied });
      await patient.start();
      try {
        proxy.freeze();
        const pending = Array.from({ length: 5 }, () =>
          publishEvent(patient, EXCHANGE, 'thing.happened', {}).catch((caught: unknown) => caught),
        );
        await waitFor('publishes in flight', () => patient.stats().inFlight === 5);

        proxy.cut();
        const errors = await Promise.all(pending);

        expect(
          errors.map((error) =>
            error instanceof Error ? `${error.constructor.name}: ${error.message}` : String(error),
          ),
        ).toEqual(Array(5).fill(expect.stringMatching(/^ChannelClosedError: /)));
        expect(patient.stats().failed).toBe(5);
        await waitFor('publisher back after reconnect', () => patient.isReady, 10_000);
        await expect(publishEvent(patient, EXCHANGE, 'thing.happened', {})).resolves.toEqual(expect.any(String));
      } finally {
        proxy.thaw();
        await patient.close();
      }
    });
  });

  it('rejects at once with ChannelClosedError while it has no channel', async () => {
    const idle = new EventPublisher({ connection });
    await expect(publishEvent(idle, EXCHANGE, 'thing.happened', {})).rejects.toBeInstanceOf(ChannelClosedError);
  });
});
