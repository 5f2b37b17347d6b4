import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { MessageHandler } from '@nestjs/microservices';
import { createTestVhost, freePort, type TestVhost, waitFor } from '@switchyard/testing';
import type { Channel } from 'amqplib';
import { decodeJson, gate, publishEvent, RecordingObserver } from '../test/broker-harness.js';
import { startTcpProxy } from '../test/tcp-proxy.js';
import type { ConsumerPolicy } from './consumer-policy.js';
import type { EventContext } from './event-context.js';
import { EventPublisher } from './event-publisher.js';
import type { MessagingLogger } from './messaging-logger.js';
import { TopologyConflictError } from './messaging-errors.js';
import { RabbitMqConnection } from './rabbitmq-connection.js';
import { type ConsumerPolicyFeed, SwitchyardServer, type SwitchyardServerOptions } from './switchyard-server.js';

const EXCHANGE = 'policy.events';
const TIERS = [200, 400];

class RecordingLogger implements MessagingLogger {
  readonly lines: Array<{ level: string; fields: Record<string, unknown>; message: string }> = [];
  info(fields: Record<string, unknown>, message: string): void {
    this.lines.push({ level: 'info', fields, message });
  }
  warn(fields: Record<string, unknown>, message: string): void {
    this.lines.push({ level: 'warn', fields, message });
  }
  error(fields: Record<string, unknown>, message: string): void {
    this.lines.push({ level: 'error', fields, message });
  }
}

/** A policy as the operator renders it for `queue`, binding `types`. */
function policyFor(queue: string, types: string[], overrides: Partial<ConsumerPolicy> = {}): ConsumerPolicy {
  return {
    apiVersion: 'switchyard.io/v1alpha1',
    kind: 'ConsumerPolicy',
    generation: 1,
    source: `default/${queue}`,
    service: 'spec-service',
    queue,
    exchange: EXCHANGE,
    queueType: 'quorum',
    events: types.map((type) => ({ type, versions: [] })),
    retryDelaysMs: TIERS,
    deliveryLimit: 20,
    deadLetter: { queue: `${queue}.dlq` },
    prefetch: 20,
    paused: false,
    ...overrides,
  };
}

/** A policy source that holds one policy and never changes (the file-reading one is tested on its own). */
function fixedPolicy(policy: ConsumerPolicy): ConsumerPolicyFeed {
  return { current: () => ({ policy }), subscribe: () => () => undefined, start: () => undefined, stop: async () => undefined };
}

describe('SwitchyardServer with a live consumer policy', () => {
  let vhost: TestVhost;
  let connection: RabbitMqConnection;
  let publisher: EventPublisher;
  let inspect: Channel;
  const servers: SwitchyardServer[] = [];

  beforeAll(async () => {
    vhost = await createTestVhost('server_policy');
    connection = new RabbitMqConnection({ url: vhost.url, connectionName: 'server-policy-spec' });
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
  }, 30_000);

  type Handler = (data: unknown, ctx: EventContext) => Promise<unknown>;

  async function startServer(queue: string, handlers: Record<string, Handler>, options: Partial<SwitchyardServerOptions> = {}): Promise<{ server: SwitchyardServer; observer: RecordingObserver }> {
    const observer = new RecordingObserver();
    const server = new SwitchyardServer({ connection, service: 'spec-service', queue, exchange: EXCHANGE, retryDelaysMs: TIERS, decode: decodeJson, observer, ...options });
    for (const [type, handler] of Object.entries(handlers)) server.addHandler(type, handler as MessageHandler, true);
    servers.push(server);
    await new Promise<void>((resolve, reject) => void server.listen((error?: unknown) => (error ? reject(error as Error) : resolve())));
    return { server, observer };
  }

  async function depth(queue: string): Promise<number> {
    return (await inspect.checkQueue(queue)).messageCount;
  }

  /** Whether a queue exists, asked on a channel of its own (a passive declare of a missing queue closes it). */
  async function queueExists(queue: string): Promise<boolean> {
    const probe = await connection.current()!.createChannel();
    probe.on('error', () => undefined);
    try {
      await probe.checkQueue(queue);
      await probe.close();
      return true;
    } catch {
      return false;
    }
  }

  it('pauses (in-flight deliveries still finish and are acked, the rest wait in the queue) and resumes with nothing lost', async () => {
    const queue = 'policy.pause';
    const release = gate();
    const handled: string[] = [];
    let held = false;
    const { server, observer } = await startServer(queue, {
      'thing.paused': async (data, ctx) => {
        if ((data as { hold?: boolean }).hold) {
          held = true;
          await release.promise;
        }
        handled.push(ctx.eventId);
      },
    });
    const inFlight = await publishEvent(publisher, EXCHANGE, 'thing.paused', { hold: true });
    await waitFor('the first handler to be in flight', () => held);

    await server.applyPolicy(policyFor(queue, ['thing.paused'], { paused: true }));
    expect(server.isPaused).toBe(true);
    expect(server.isConsuming).toBe(false);
    const waiting = await Promise.all(Array.from({ length: 5 }, (_, i) => publishEvent(publisher, EXCHANGE, 'thing.paused', { i })));
    await waitFor('the five to wait in the queue', async () => (await depth(queue)) === 5);
    release.open();
    await waitFor('the in-flight one to be acked on its channel', () => observer.outcomes('ack') === 1);
    expect(handled).toEqual([inFlight]);
    // Paused is healthy: the connection (what readiness looks at) is fully set up.
    expect(connection.isReady).toBe(true);
    expect(await depth(queue)).toBe(5);

    await server.applyPolicy(policyFor(queue, ['thing.paused'], { paused: false, generation: 2 }));
    expect(server.isConsuming).toBe(true);
    await waitFor('all five handled after resuming', () => handled.length === 6, 10_000);
    expect(new Set(handled)).toEqual(new Set([inFlight, ...waiting]));
    await waitFor('the queue to be empty', async () => (await depth(queue)) === 0);
    expect(observer.outcomes('ack')).toBe(6);
  });

  it('applies a new prefetch to the running consumer: deliveries in flight under the old one are still acked', async () => {
    const queue = 'policy.prefetch';
    const release = gate();
    let started = 0;
    const handled: string[] = [];
    const { server, observer } = await startServer(
      queue,
      {
        'thing.held': async (_data, ctx) => {
          started++;
          await release.promise;
          handled.push(ctx.eventId);
        },
      },
      { prefetch: 20 },
    );
    await server.applyPolicy(policyFor(queue, ['thing.held'], { prefetch: 2 }));
    const ids = await Promise.all(Array.from({ length: 10 }, (_, i) => publishEvent(publisher, EXCHANGE, 'thing.held', { i })));
    // Prefetch 2: the broker hands out two and keeps eight (with the old 20 it would keep none).
    await waitFor('two in flight, eight ready', async () => started === 2 && (await depth(queue)) === 8, 10_000);

    await server.applyPolicy(policyFor(queue, ['thing.held'], { prefetch: 4, generation: 2 }));
    // The new consumer gets four more; the two unacked ones belong to the cancelled consumer and do not count.
    await waitFor('six in flight, four ready', async () => started === 6 && (await depth(queue)) === 4, 10_000);
    expect(server.currentSettings()?.prefetch).toBe(4);

    release.open();
    await waitFor('all ten handled', () => handled.length === 10, 10_000);
    await waitFor('all ten acked', () => observer.outcomes('ack') === 10);
    expect(new Set(handled)).toEqual(new Set(ids));
    expect(await depth(queue)).toBe(0);
    // No redelivery: every ack landed on the live channel.
    expect(started).toBe(10);
  });

  it('uses the policy’s dead-letter queue, and routes the next failure through new retry tiers, which it declares first', async () => {
    const queue = 'policy.retries';
    const attempts: number[] = [];
    const parked = 'policy.retries.parked';
    // The DLQ is part of the work queue's arguments, so it comes with the first policy (the operator refuses to change it in place).
    const { server, observer } = await startServer(
      queue,
      {
        'thing.fails': async (_data, ctx) => {
          attempts.push(ctx.attempt);
          throw new Error(`broken ${ctx.attempt}`);
        },
      },
      { policySource: fixedPolicy(policyFor(queue, ['thing.fails'], { deadLetter: { queue: parked } })) },
    );
    expect(await queueExists(parked)).toBe(true);
    expect(await queueExists(`${queue}.dlq`)).toBe(false);
    expect(await queueExists(`${queue}.retry.300ms`)).toBe(false);

    await server.applyPolicy(policyFor(queue, ['thing.fails'], { retryDelaysMs: [300], deadLetter: { queue: parked }, generation: 2 }));
    expect(await queueExists(`${queue}.retry.300ms`)).toBe(true);

    const id = await publishEvent(publisher, EXCHANGE, 'thing.fails', {});
    await waitFor('the dead letter in the policy’s DLQ', () => observer.deadLetters.length === 1, 10_000);
    expect(attempts).toEqual([1, 2]);
    expect(observer.retries.map(({ attempt, delayMs }) => [attempt, delayMs])).toEqual([[1, 300]]);
    const letter = await waitFor(`a message in ${parked}`, async () => (await inspect.get(parked, { noAck: true })) || undefined);
    expect(letter.properties.messageId).toBe(id);
    expect(letter.properties.headers).toMatchObject({ 'x-death-reason': 'retries_exhausted', 'x-attempts': 2, 'x-last-error': 'Error: broken 1' });
  });

  it('binds the policy’s event types: a bound type without a handler is dead-lettered, and both mismatches are warned about', async () => {
    const queue = 'policy.bindings';
    const logger = new RecordingLogger();
    const handled: string[] = [];
    const { server, observer } = await startServer(queue, { 'thing.known': async (_data, ctx) => void handled.push(ctx.eventId), 'thing.unbound': async () => undefined }, { logger });
    await server.applyPolicy(policyFor(queue, ['thing.known', 'thing.extra']));
    expect(server.currentSettings()?.eventTypes).toEqual(['thing.known', 'thing.extra']);

    const known = await publishEvent(publisher, EXCHANGE, 'thing.known', {});
    const extra = await publishEvent(publisher, EXCHANGE, 'thing.extra', {});
    await waitFor('the known one handled', () => handled.includes(known));
    await waitFor('the extra one dead-lettered', () => observer.deadLetters.length === 1);
    const letter = await waitFor('a message in the DLQ', async () => (await inspect.get(`${queue}.dlq`, { noAck: true })) || undefined);
    expect(letter.properties.messageId).toBe(extra);
    expect(letter.properties.headers).toMatchObject({ 'x-death-reason': 'unknown_event_type' });
    const warnings = logger.lines.filter((line) => line.level === 'warn');
    expect(warnings).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ fields: expect.objectContaining({ eventTypes: ['thing.extra'] }) }),
        expect.objectContaining({ fields: expect.objectContaining({ eventTypes: ['thing.unbound'] }) }),
      ]),
    );
  });

  it('refuses a policy for another queue or one the broker cannot apply in place, keeping the previous settings', async () => {
    const queue = 'policy.refused';
    const handled: string[] = [];
    const { server } = await startServer(queue, { 'thing.kept': async (_data, ctx) => void handled.push(ctx.eventId) });
    const before = server.currentSettings();

    await expect(server.applyPolicy(policyFor('policy.other', ['thing.kept']))).rejects.toThrow(/this consumer's queue is 'policy.refused'/);
    // A quorum queue cannot become classic in place.
    await expect(server.applyPolicy(policyFor(queue, ['thing.kept'], { queueType: 'classic', paused: true, retryDelaysMs: [700] }))).rejects.toBeInstanceOf(TopologyConflictError);
    expect(server.currentSettings()).toBe(before);
    expect(server.isConsuming).toBe(true);
    const id = await publishEvent(publisher, EXCHANGE, 'thing.kept', {});
    await waitFor('still consuming', () => handled.includes(id));
  });

  it('takes a policy that arrives before the first connection, declares its topology (not the defaults’) and re-declares it after a reconnect', async () => {
    const queue = 'policy.early';
    const port = await freePort();
    const late = new RabbitMqConnection({ url: vhost.url.replace(':5672', `:${port}`), reconnectInitialDelayMs: 20, reconnectMaxDelayMs: 200 });
    const handled: string[] = [];
    const server = new SwitchyardServer({ connection: late, publishConnection: connection, service: 'early', queue, exchange: EXCHANGE, retryDelaysMs: TIERS, decode: decodeJson, firstConnectWaitMs: 0 });
    server.addHandler('thing.early', (async (_data: unknown, ctx: EventContext) => void handled.push(ctx.eventId)) as MessageHandler, true);
    servers.push(server);
    const early = server.applyPolicy(policyFor(queue, ['thing.early'], { paused: true, retryDelaysMs: [250] }));
    await new Promise<void>((resolve, reject) => void server.listen((error?: unknown) => (error ? reject(error as Error) : resolve())));
    await early;
    // Still not connected: a change now is recorded for the connect.
    await server.applyPolicy(policyFor(queue, ['thing.early'], { paused: true, retryDelaysMs: [350], generation: 2 }));

    const proxy = await startTcpProxy(5672, '127.0.0.1', port);
    try {
      await waitFor('connected and set up', () => late.isReady, 10_000);
      expect(server.isPaused).toBe(true);
      expect(server.isConsuming).toBe(false);
      expect(await queueExists(`${queue}.retry.350ms`)).toBe(true);
      expect(await queueExists(`${queue}.retry.200ms`)).toBe(false);
      expect(await queueExists(`${queue}.retry.250ms`)).toBe(false);
      const id = await publishEvent(publisher, EXCHANGE, 'thing.early', {});
      expect((await inspect.checkQueue(queue)).consumerCount).toBe(0);

      await server.applyPolicy(policyFor(queue, ['thing.early'], { paused: false, retryDelaysMs: [350], generation: 3 }));
      await waitFor('the waiting event handled once resumed', () => handled.includes(id));

      // A lost connection: the reconnect declares the policy's topology again and consumes with it.
      await inspect.deleteQueue(`${queue}.retry.350ms`);
      proxy.cut();
      await waitFor('the tier declared again after the reconnect', async () => late.isReady && server.isConsuming && (await queueExists(`${queue}.retry.350ms`)), 10_000);
      expect(await queueExists(`${queue}.retry.200ms`)).toBe(false);
      const again = await publishEvent(publisher, EXCHANGE, 'thing.early', {});
      await waitFor('consuming after the reconnect', () => handled.includes(again));
    } finally {
      await server.close();
      await late.close();
      await proxy.close();
    }
  });

  it('closes cleanly while a policy change is being applied, and consumes nothing afterwards', async () => {
    const queue = 'policy.closing';
    const handled: string[] = [];
    const { server } = await startServer(queue, { 'thing.closing': async (_data, ctx) => void handled.push(ctx.eventId) });
    const applying = server.applyPolicy(policyFor(queue, ['thing.closing'], { prefetch: 3, retryDelaysMs: [900] }));
    const closing = server.close();
    await Promise.all([applying.catch(() => undefined), closing]);
    expect(server.isConsuming).toBe(false);
    // A policy after close is ignored, and does not start consuming again.
    await server.applyPolicy(policyFor(queue, ['thing.closing'], { prefetch: 5 }));
    expect(server.isConsuming).toBe(false);
    await publishEvent(publisher, EXCHANGE, 'thing.closing', {});
    await waitFor('the event to stay queued', async () => (await inspect.checkQueue(queue)).messageCount === 1);
    expect((await inspect.checkQueue(queue)).consumerCount).toBe(0);
    expect(handled).toEqual([]);
  });
});
