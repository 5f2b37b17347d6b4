import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, Logger, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Ctx, EventPattern, type MessageHandler, Payload } from '@nestjs/microservices';
import { createTestVhost, freePort, type TestVhost, waitFor } from '@switchyard/testing';
import type { Channel, GetMessage } from 'amqplib';
import { randomUUID } from 'node:crypto';
import { delay, of, tap, throwError, timer, mergeMap } from 'rxjs';
import { decodeJson, gate, publishEvent, RecordingObserver } from '../../test/broker-harness.js';
import { startTcpProxy } from '../../test/tcp-proxy.js';
import { declareTopology } from '../topology/declare-topology.js';
import type { DeliveryContext, EventContext, HandlerRunner } from './event-context.js';
import { EventPublisher } from '../publishing/event-publisher.js';
import { NonRetriableError } from './failure-routing.js';
import { TopologyConflictError } from '../messaging-errors.js';
import { RabbitMqConnection } from '../connection/rabbitmq-connection.js';
import { SwitchyardExceptionFilter } from './switchyard-exception-filter.js';
import { SwitchyardServer } from './switchyard-server.js';
import type { SwitchyardServerOptions } from './switchyard-server-options.js';
import { planConsumerTopology } from '../topology/topology-plan.js';

const EXCHANGE = 'test.events';
const TIERS = [200, 400];

Logger.overrideLogger(false);

describe('SwitchyardServer', () => {
  let vhost: TestVhost;
  let connection: RabbitMqConnection;
  let publisher: EventPublisher;
  let inspect: Channel;
  const servers: SwitchyardServer[] = [];

  beforeAll(async () => {
    vhost = await createTestVhost('server');
    connection = new RabbitMqConnection({ url: vhost.url, connectionName: 'server-spec' });
    await connection.start();
    publisher = new EventPublisher({ connection, exchanges: [EXCHANGE] });
    await publisher.start();
    inspect = await connection.current()!.createChannel();
  });
  afterAll(async () => {
    for (const server of servers) await server.close();
    await inspect?.close().catch(() => undefined);
    await publisher?.close();
    await connection?.close();
    await vhost?.drop();
  }, 20_000);

  type Handler = (data: unknown, ctx: EventContext) => Promise<unknown>;

  async function startServer(
    queue: string,
    handlers: Record<string, Handler>,
    options: Partial<SwitchyardServerOptions> = {},
  ): Promise<{ server: SwitchyardServer; observer: RecordingObserver }> {
    const observer = new RecordingObserver();
    const server = new SwitchyardServer({
      connection,
      service: 'spec-service',
      queue,
      exchange: EXCHANGE,
      retryDelaysMs: TIERS,
      decode: decodeJson,
      observer,
      ...options,
    });
    for (const [type, handler] of Object.entries(handlers)) server.addHandler(type, handler as MessageHandler, true);
    await new Promise<void>(
      (resolve, reject) => void server.listen((error?: unknown) => (error ? reject(error as Error) : resolve())),
    );
    servers.push(server);
    return { server, observer };
  }

  async function depth(queue: string): Promise<number> {
    return (await inspect.checkQueue(queue)).messageCount;
  }

  /** Takes one message off a queue (acked), for inspecting dead letters. */
  async function take(queue: string): Promise<GetMessage> {
    return waitFor(
      `a message in ${queue}`,
      async () => (await inspect.get(queue, { noAck: true })) || undefined,
      5_000,
    );
  }

  it('binds its queue to exactly the event types it has handlers for', async () => {
    const { server } = await startServer('spec.bindings', {
      'thing.a': async () => undefined,
      'thing.b': async () => undefined,
    });
    expect(server.eventTypes()).toEqual(['thing.a', 'thing.b']);
    await publishEvent(publisher, EXCHANGE, 'thing.a', {});
    await expect(publishEvent(publisher, EXCHANGE, 'thing.c', {})).rejects.toThrow(/unroutable/);
  });

  it('fails listen with a TopologyConflictError when its queue exists with other arguments', async () => {
    await declareTopology(
      connection.current()!,
      planConsumerTopology({
        exchange: EXCHANGE,
        queue: 'spec.conflict',
        eventTypes: [],
        retryDelaysMs: TIERS,
        deliveryLimit: 5,
      }),
    );
    const error = await startServer('spec.conflict', { 'thing.a': async () => undefined }).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(TopologyConflictError);
    expect((error as Error).message).toContain("'x-delivery-limit'");
  });

  it('starts listening while the broker is unreachable and consumes once it can connect', async () => {
    const port = await freePort();
    const late = new RabbitMqConnection({
      url: vhost.url.replace(':5672', `:${port}`),
      reconnectInitialDelayMs: 20,
      reconnectMaxDelayMs: 100,
    });
    const handled: string[] = [];
    const server = new SwitchyardServer({
      connection: late,
      service: 'late',
      queue: 'spec.late',
      exchange: EXCHANGE,
      decode: decodeJson,
    });
    server.addHandler(
      'thing.late',
      (async (_data: unknown, ctx: EventContext) => void handled.push(ctx.eventId)) as MessageHandler,
      true,
    );
    await new Promise<void>(
      (resolve, reject) => void server.listen((error?: unknown) => (error ? reject(error as Error) : resolve())),
    );
    expect(server.isConsuming).toBe(false);
    expect(late.isReady).toBe(false);

    const proxy = await startTcpProxy(5672, '127.0.0.1', port);
    try {
      await waitFor('the consumer to start', () => server.isConsuming && late.isReady, 10_000);
      const id = await publishEvent(publisher, EXCHANGE, 'thing.late', {});
      await waitFor('the event to be handled', () => handled.includes(id));
    } finally {
      await server.close();
      await late.close();
      await proxy.close();
    }
  });

  it('retries a failing handler through the tiers and acks once it succeeds: one effect, two retries', async () => {
    const attempts: number[] = [];
    const effects: string[] = [];
    const seenHeaders: Array<Readonly<Record<string, unknown>>> = [];
    const { observer } = await startServer('spec.flaky', {
      'thing.flaky': async (_data, ctx) => {
        attempts.push(ctx.attempt);
        seenHeaders.push(ctx.headers);
        if (ctx.attempt < 3) throw new Error(`flaky ${ctx.attempt}`);
        effects.push(ctx.eventId);
      },
    });

    const id = await publishEvent(publisher, EXCHANGE, 'thing.flaky', { n: 1 });
    await waitFor('the third attempt to succeed', () => effects.length === 1, 10_000);

    expect(effects).toEqual([id]);
    expect(attempts).toEqual([1, 2, 3]);
    expect(observer.retries.map(({ attempt, delayMs }) => [attempt, delayMs])).toEqual([
      [1, 200],
      [2, 400],
    ]);
    expect(seenHeaders[2]).toMatchObject({
      'x-attempt': 3,
      'x-last-error': 'Error: flaky 2',
      'x-original-routing-key': 'thing.flaky',
      'ce-id': id,
    });
    await waitFor('the ack to be counted', () => observer.outcomes('ack') === 1);
    expect(observer.outcomes('retry')).toBe(2);
    expect(await depth('spec.flaky')).toBe(0);
    expect(await depth('spec.flaky.dlq')).toBe(0);
  });

  it('dead-letters a message that always fails after every tier, with its reason and history, while others keep flowing', async () => {
    const handled: string[] = [];
    const { observer } = await startServer('spec.poison', {
      'thing.poison': async () => {
        throw new TypeError('always broken');
      },
      'thing.fine': async (_data, ctx) => {
        handled.push(ctx.eventId);
      },
    });

    const poisonId = await publishEvent(publisher, EXCHANGE, 'thing.poison', { bad: true });
    await waitFor('the first failure', () => observer.retries.length === 1);
    const fine = await Promise.all(
      Array.from({ length: 20 }, () => publishEvent(publisher, EXCHANGE, 'thing.fine', {})),
    );
    await waitFor('the other messages to be handled', () => handled.length === 20);
    expect(observer.deadLetters).toEqual([]);
    expect(new Set(handled)).toEqual(new Set(fine));

    await waitFor('the poison message in the DLQ', () => observer.deadLetters.length === 1, 10_000);
    const dead = await take('spec.poison.dlq');
    expect(dead.properties.messageId).toBe(poisonId);
    expect(dead.properties.type).toBe('thing.poison');
    expect(JSON.parse(dead.content.toString())).toEqual({ bad: true });
    expect(dead.properties.headers).toMatchObject({
      'x-death-reason': 'retries_exhausted',
      'x-error-class': 'TypeError',
      'x-error-message': 'always broken',
      'x-attempts': 3,
      'x-first-failure-at': expect.any(String),
      'x-last-failure-at': expect.any(String),
      'x-original-routing-key': 'thing.poison',
      'x-original-exchange': EXCHANGE,
      'x-consumer-service': 'spec-service',
      'x-consumer-queue': 'spec.poison',
      'ce-id': poisonId,
      'ce-type': 'thing.poison',
      'x-event-version': 1,
    });
    expect(observer.deadLetters).toEqual([
      { queue: 'spec.poison', eventType: 'thing.poison', reason: 'retries_exhausted' },
    ]);
    expect(observer.retries).toHaveLength(2);
  });

  it('dead-letters undecodable, unknown and non-retriable messages at once, without retrying them', async () => {
    const { observer } = await startServer('spec.rejects', {
      'thing.rejected': async () => {
        throw new NonRetriableError('order 7 does not exist');
      },
    });
    const send = (type: string, body: string, id = randomUUID()): Promise<string> =>
      publisher
        .sendToQueue('spec.rejects', Buffer.from(body), { messageId: id, type, contentType: 'application/json' })
        .then(() => id);

    const garbled = await send('thing.rejected', '{not json');
    const unknown = await send('thing.unheard-of', '{}');
    const rejected = await send('thing.rejected', '{}');
    await waitFor('three dead letters', () => observer.deadLetters.length === 3, 10_000);

    const letters = await Promise.all([1, 2, 3].map(() => take('spec.rejects.dlq')));
    const byId = new Map(letters.map((letter) => [letter.properties.messageId as string, letter.properties.headers!]));
    expect(byId.get(garbled)).toMatchObject({
      'x-death-reason': 'malformed_json',
      'x-error-class': 'TestRejection',
      'x-attempts': 1,
    });
    expect(byId.get(unknown)).toMatchObject({ 'x-death-reason': 'unknown_event_type', 'x-attempts': 1 });
    expect(byId.get(rejected)).toMatchObject({
      'x-death-reason': 'non_retriable',
      'x-error-class': 'NonRetriableError',
      'x-error-message': 'order 7 does not exist',
      'x-attempts': 1,
    });
    expect(observer.retries).toEqual([]);
    expect(observer.outcomes('dead_letter')).toBe(3);
  });

  it('hands the runner the delivery and the handler the runner’s transaction, and acks duplicates without running the handler', async () => {
    const inbox = new Set<string>();
    const deliveries: DeliveryContext[] = [];
    const transaction = { name: 'tx' };
    const runHandler: HandlerRunner = async (delivery, invoke) => {
      deliveries.push(delivery);
      if (inbox.has(delivery.eventId)) return 'duplicate';
      await invoke(transaction);
      inbox.add(delivery.eventId);
      return 'processed';
    };
    const contexts: EventContext[] = [];
    const { observer } = await startServer(
      'spec.inbox',
      {
        'thing.once': async (_data, ctx) => {
          contexts.push(ctx);
        },
      },
      { runHandler },
    );

    const id = await publishEvent(publisher, EXCHANGE, 'thing.once', { v: 1 });
    await waitFor('first delivery handled', () => observer.outcomes('ack') === 1);
    await publishEvent(publisher, EXCHANGE, 'thing.once', { v: 1 }, id);
    await waitFor('the duplicate to be counted', () => observer.outcomes('duplicate') === 1);

    expect(contexts).toHaveLength(1);
    expect(contexts[0]).toMatchObject({
      eventId: id,
      type: 'thing.once',
      version: 1,
      attempt: 1,
      queue: 'spec.inbox',
      correlationId: id,
      occurredAt: expect.any(String),
    });
    expect(contexts[0]!.tx).toBe(transaction);
    expect(deliveries.map((delivery) => delivery.eventId)).toEqual([id, id]);
    expect('tx' in deliveries[0]!).toBe(false);
    expect(await depth('spec.inbox')).toBe(0);
  });

  it('does not ack a failed message whose dead-letter copy cannot be published, and delivers it once the DLQ is back', async () => {
    const { observer } = await startServer('spec.no-dlq', {
      'thing.refused': async () => {
        throw new NonRetriableError('refused');
      },
    });
    await inspect.deleteQueue('spec.no-dlq.dlq');
    const id = await publishEvent(publisher, EXCHANGE, 'thing.refused', {});
    await waitFor('the message to be held back', async () => (await depth('spec.no-dlq')) === 0);
    expect(observer.deadLetters).toEqual([]);

    await declareTopology(
      connection.current()!,
      planConsumerTopology({
        exchange: EXCHANGE,
        queue: 'spec.no-dlq',
        eventTypes: ['thing.refused'],
        retryDelaysMs: TIERS,
      }),
    );
    await waitFor('the dead letter once the DLQ exists', () => observer.deadLetters.length === 1, 10_000);
    expect((await take('spec.no-dlq.dlq')).properties.messageId).toBe(id);
    expect(await depth('spec.no-dlq')).toBe(0);
  });

  it('consumes again when the broker cancels its consumer on a live connection', async () => {
    const handled: string[] = [];
    const { server } = await startServer('spec.cancelled', {
      'thing.again': async (_data, ctx) => void handled.push(ctx.eventId),
    });
    await inspect.deleteQueue('spec.cancelled');
    await waitFor('the consumer to notice', () => !server.isConsuming);
    await waitFor('the consumer to be back, its queue declared again', () => server.isConsuming, 10_000);

    const id = await publishEvent(publisher, EXCHANGE, 'thing.again', {});
    await waitFor('the event to be handled', () => handled.includes(id));
  });

  it('on close stops consuming, waits for the in-flight handler, acks it, and leaves later messages queued', async () => {
    const release = gate();
    let started = 0;
    const done: string[] = [];
    const { server } = await startServer('spec.graceful', {
      'thing.slow': async (_data, ctx) => {
        started++;
        await release.promise;
        done.push(ctx.eventId);
      },
    });
    const first = await publishEvent(publisher, EXCHANGE, 'thing.slow', {});
    await waitFor('the handler to start', () => started === 1);

    let closed = false;
    const closing = server.close().then(() => (closed = true));
    // (A quorum queue keeps counting a cancelled consumer while it holds unacked messages, so ask the server.)
    await waitFor('the consumer to be cancelled', () => !server.isConsuming);
    await publishEvent(publisher, EXCHANGE, 'thing.slow', {});
    expect(closed).toBe(false);

    release.open();
    await closing;
    expect(done).toEqual([first]);
    expect(started).toBe(1);
    // The in-flight one was acked; the one published after the cancel waits for the next consumer.
    expect(await depth('spec.graceful')).toBe(1);
  });

  it('returns a message to the queue when its handler outlasts the shutdown timeout, without acking it later', async () => {
    const release = gate();
    let finished = false;
    const { server } = await startServer(
      'spec.stuck',
      {
        'thing.stuck': async () => {
          await release.promise;
          finished = true;
        },
      },
      { shutdownTimeoutMs: 200 },
    );
    await publishEvent(publisher, EXCHANGE, 'thing.stuck', {});
    await waitFor(
      'the message to be in flight',
      async () => (await inspect.checkQueue('spec.stuck')).messageCount === 0,
    );

    await server.close();
    await waitFor('the message back in the queue', async () => (await depth('spec.stuck')) === 1);
    release.open();
    await waitFor('the late handler to finish', () => finished);
    expect(await depth('spec.stuck')).toBe(1);
  });

  describe('as a Nest microservice', () => {
    const seen: Array<{ type: string; data: unknown; ctx: EventContext }> = [];

    @Controller()
    class ThingsController {
      @EventPattern<string>('nest.created')
      async created(@Payload() data: unknown, @Ctx() ctx: EventContext): Promise<void> {
        seen.push({ type: 'nest.created', data, ctx });
      }

      @EventPattern<string>('nest.streamed')
      streamed(@Payload() data: unknown, @Ctx() ctx: EventContext) {
        return of(data).pipe(
          delay(50),
          tap(() => seen.push({ type: 'nest.streamed', data, ctx })),
        );
      }

      @EventPattern<string>('nest.stream-fails')
      streamFails() {
        return timer(10).pipe(mergeMap(() => throwError(() => new RangeError('stream broke'))));
      }

      @EventPattern<string>('nest.refused')
      refused(): void {
        throw new NonRetriableError('refused by rule');
      }
    }

    @Module({ controllers: [ThingsController] })
    class ThingsModule {}

    it('runs @EventPattern handlers, awaits Observables and keeps error classes with SwitchyardExceptionFilter', async () => {
      const observer = new RecordingObserver();
      const server = new SwitchyardServer({
        connection,
        service: 'nest-spec',
        queue: 'spec.nest',
        exchange: EXCHANGE,
        retryDelaysMs: [],
        decode: decodeJson,
        observer,
      });
      const app = await NestFactory.createMicroservice(ThingsModule, { strategy: server, logger: false });
      app.useGlobalFilters(new SwitchyardExceptionFilter());
      await app.listen();
      try {
        expect(server.eventTypes()).toEqual(['nest.created', 'nest.refused', 'nest.stream-fails', 'nest.streamed']);
        const created = await publishEvent(publisher, EXCHANGE, 'nest.created', { name: 'a' });
        const streamed = await publishEvent(publisher, EXCHANGE, 'nest.streamed', { name: 'b' });
        const failing = await publishEvent(publisher, EXCHANGE, 'nest.stream-fails', {});
        const refused = await publishEvent(publisher, EXCHANGE, 'nest.refused', {});

        await waitFor('both successes acked', () => observer.outcomes('ack') === 2);
        await waitFor('both failures dead-lettered', () => observer.deadLetters.length === 2);
        expect(seen.map((entry) => [entry.type, entry.data, entry.ctx.eventId])).toEqual(
          expect.arrayContaining([
            ['nest.created', { name: 'a' }, created],
            ['nest.streamed', { name: 'b' }, streamed],
          ]),
        );
        const letters = await Promise.all([1, 2].map(() => take('spec.nest.dlq')));
        const byId = new Map(
          letters.map((letter) => [letter.properties.messageId as string, letter.properties.headers!]),
        );
        expect(byId.get(failing)).toMatchObject({
          'x-death-reason': 'retries_exhausted',
          'x-error-class': 'RangeError',
          'x-error-message': 'stream broke',
        });
        expect(byId.get(refused)).toMatchObject({
          'x-death-reason': 'non_retriable',
          'x-error-class': 'NonRetriableError',
        });
      } finally {
        await app.close();
      }
    });

    it('rejects request/response @MessagePattern handlers at listen, since it carries events only', async () => {
      const server = new SwitchyardServer({
        connection,
        service: 'nest-spec',
        queue: 'spec.nest-bad',
        exchange: EXCHANGE,
        decode: decodeJson,
      });
      server.addHandler('get.thing', (async () => 1) as MessageHandler, false);
      await expect(
        new Promise(
          (resolve, reject) =>
            void server.listen((error?: unknown) => (error ? reject(error as Error) : resolve(undefined))),
        ),
      ).rejects.toThrow(/@MessagePattern/);
    });
  });
});
