import 'reflect-metadata';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { MessageHandler } from '@nestjs/microservices';
import { createTestVhost, freePort, type TestVhost, waitFor } from '@switchyard/testing';
import type { Channel } from 'amqplib';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeJson, gate, publishEvent, RecordingObserver } from '../../test/broker-harness.js';
import { startTcpProxy } from '../../test/tcp-proxy.js';
import { type ConsumerPolicy, consumerPolicyFileName, serializeConsumerPolicy } from '../topology/consumer-policy.js';
import { ConsumerPolicySource } from './consumer-policy-source.js';
import { declareTopology } from '../topology/declare-topology.js';
import type { EventContext } from './event-context.js';
import { EventPublisher } from '../publishing/event-publisher.js';
import type { MessagingLogger } from '../observability/messaging-logger.js';
import { TopologyConflictError } from '../messaging-errors.js';
import { RabbitMqConnection } from '../connection/rabbitmq-connection.js';
import { SwitchyardServer } from './switchyard-server.js';
import type { ConsumerPolicyFeed, SwitchyardServerOptions } from './switchyard-server-options.js';
import { planConsumerTopology } from '../topology/topology-plan.js';

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
  return {
    current: () => ({ policy }),
    subscribe: () => () => undefined,
    start: () => undefined,
    stop: async () => undefined,
  };
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
    servers.push(server);
    await new Promise<void>(
      (resolve, reject) => void server.listen((error?: unknown) => (error ? reject(error as Error) : resolve())),
    );
    return { server, observer };
  }

  /** Gates opened after the test, whatever its outcome. */
  const gatesToOpen: Array<{ open: () => void }> = [];
  function afterRelease(...gates: Array<{ open: () => void }>): void {
    gatesToOpen.push(...gates);
  }
  afterEach(() => {
    for (const opened of gatesToOpen.splice(0)) opened.open();
  });

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
    const waiting = await Promise.all(
      Array.from({ length: 5 }, (_, i) => publishEvent(publisher, EXCHANGE, 'thing.paused', { i })),
    );
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

  /**
   * A handler that holds every delivery until its batch's gate opens: the first `firstBatch` to start wait for
   * `first`, the later ones for `later`. Counts how many run at once, and whether a later one ever started while
   * one of the first batch was still running.
   */
  function heldHandler(firstBatch: number) {
    const first = gate();
    const later = gate();
    const state = {
      running: 0,
      maxRunning: 0,
      started: 0,
      firstRunning: 0,
      laterStartedBesideFirst: 0,
      handled: [] as string[],
    };
    const handler: Handler = async (_data, ctx) => {
      const ofFirst = state.started < firstBatch;
      state.started++;
      state.running++;
      state.maxRunning = Math.max(state.maxRunning, state.running);
      if (ofFirst) state.firstRunning++;
      else if (state.firstRunning > 0) state.laterStartedBesideFirst++;
      try {
        await (ofFirst ? first : later).promise;
        state.handled.push(ctx.eventId);
      } finally {
        state.running--;
        if (ofFirst) state.firstRunning--;
      }
    };
    return { handler, state, first, later };
  }

  it('applies a new prefetch once the deliveries in flight under the old one are acked: never more handlers at once than a prefetch allows', async () => {
    const queue = 'policy.prefetch';
    const { handler, state, first, later } = heldHandler(3);
    const { server, observer } = await startServer(
      queue,
      { 'thing.held': handler },
      { prefetch: 20, shutdownTimeoutMs: 60_000 },
    );
    // Whatever fails, no handler stays held (closing would wait for it).
    afterRelease(first, later);
    await server.applyPolicy(policyFor(queue, ['thing.held'], { prefetch: 3 }));
    const ids = await Promise.all(
      Array.from({ length: 10 }, (_, i) => publishEvent(publisher, EXCHANGE, 'thing.held', { i })),
    );
    // Prefetch 3: the broker hands out three and keeps seven (with the old 20 it would keep none).
    await waitFor(
      'three in flight, seven ready',
      async () => state.running === 3 && (await depth(queue)) === 7,
      10_000,
    );

    // Prefetch counts per consumer: a new consumer now would get five more on top of the cancelled one's three.
    const applying = server.applyPolicy(policyFor(queue, ['thing.held'], { prefetch: 5, generation: 2 }));
    // (The broker's consumer count is no witness: a quorum queue keeps counting a cancelled consumer until its deliveries settle.)
    await waitFor(
      'the old consumer cancelled, the new prefetch decided',
      () => server.currentSettings()?.prefetch === 5 && !server.isConsuming,
      10_000,
    );
    expect(await depth(queue)).toBe(7);
    expect(state.started).toBe(3);

    // Once the three are acked (on the channel they came from), the new consumer takes five.
    first.open();
    await applying;
    await waitFor('five in flight, two ready', async () => state.running === 5 && (await depth(queue)) === 2, 10_000);
    expect(server.isConsuming).toBe(true);

    later.open();
    await waitFor('all ten handled', () => state.handled.length === 10, 10_000);
    await waitFor('all ten acked', () => observer.outcomes('ack') === 10);
    expect(new Set(state.handled)).toEqual(new Set(ids));
    expect(await depth(queue)).toBe(0);
    // No redelivery: every ack landed on the live channel.
    expect(state.started).toBe(10);
    expect(state.maxRunning).toBe(5);
    expect(state.laterStartedBesideFirst).toBe(0);
  }, 60_000);

  it('resumes once the deliveries in flight from before the pause are acked', async () => {
    const queue = 'policy.resume';
    const { handler, state, first, later } = heldHandler(2);
    const { server } = await startServer(queue, { 'thing.resumed': handler }, { shutdownTimeoutMs: 60_000 });
    afterRelease(first, later);
    await server.applyPolicy(policyFor(queue, ['thing.resumed'], { prefetch: 2 }));
    await Promise.all(Array.from({ length: 6 }, (_, i) => publishEvent(publisher, EXCHANGE, 'thing.resumed', { i })));
    await waitFor('two in flight, four ready', async () => state.running === 2 && (await depth(queue)) === 4, 10_000);
    await server.applyPolicy(policyFor(queue, ['thing.resumed'], { prefetch: 2, paused: true, generation: 2 }));

    const resuming = server.applyPolicy(
      policyFor(queue, ['thing.resumed'], { prefetch: 2, paused: false, generation: 3 }),
    );
    await waitFor('unpaused, not consuming yet', () => server.currentSettings()?.paused === false, 10_000);
    expect(server.isConsuming).toBe(false);
    expect(await depth(queue)).toBe(4);
    expect(state.started).toBe(2);
    first.open();
    await resuming;
    await waitFor('two more in flight', async () => state.running === 2 && (await depth(queue)) === 2, 10_000);
    later.open();
    await waitFor('all six handled', () => state.handled.length === 6, 10_000);
    expect(state.maxRunning).toBe(2);
    expect(state.laterStartedBesideFirst).toBe(0);
  }, 60_000);

  it('waits for deliveries in flight at most the shutdown timeout: a hung handler delays the new prefetch, it does not stop consuming', async () => {
    const queue = 'policy.hung';
    const logger = new RecordingLogger();
    const { handler, state, first, later } = heldHandler(1);
    const { server } = await startServer(queue, { 'thing.hung': handler }, { shutdownTimeoutMs: 500, logger });
    afterRelease(first, later);
    await server.applyPolicy(policyFor(queue, ['thing.hung'], { prefetch: 1 }));
    await Promise.all(Array.from({ length: 3 }, (_, i) => publishEvent(publisher, EXCHANGE, 'thing.hung', { i })));
    await waitFor('one in flight', async () => state.running === 1 && (await depth(queue)) === 2, 10_000);

    await server.applyPolicy(policyFor(queue, ['thing.hung'], { prefetch: 2, generation: 2 }));
    expect(server.isConsuming).toBe(true);
    await waitFor(
      'two more in flight beside the hung one',
      async () => state.running === 3 && (await depth(queue)) === 0,
      10_000,
    );
    expect(logger.lines).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          level: 'warn',
          message: expect.stringContaining('still in flight after the wait'),
          fields: expect.objectContaining({ inFlight: 1 }),
        }),
      ]),
    );
    first.open();
    later.open();
    await waitFor('all three handled', () => state.handled.length === 3, 10_000);
  }, 60_000);

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

    await server.applyPolicy(
      policyFor(queue, ['thing.fails'], { retryDelaysMs: [300], deadLetter: { queue: parked }, generation: 2 }),
    );
    expect(await queueExists(`${queue}.retry.300ms`)).toBe(true);

    const id = await publishEvent(publisher, EXCHANGE, 'thing.fails', {});
    await waitFor('the dead letter in the policy’s DLQ', () => observer.deadLetters.length === 1, 10_000);
    expect(attempts).toEqual([1, 2]);
    expect(observer.retries.map(({ attempt, delayMs }) => [attempt, delayMs])).toEqual([[1, 300]]);
    const letter = await waitFor(
      `a message in ${parked}`,
      async () => (await inspect.get(parked, { noAck: true })) || undefined,
    );
    expect(letter.properties.messageId).toBe(id);
    expect(letter.properties.headers).toMatchObject({
      'x-death-reason': 'retries_exhausted',
      'x-attempts': 2,
      'x-last-error': 'Error: broken 1',
    });
  });

  it('binds the policy’s event types: a bound type without a handler is dead-lettered, and both mismatches are warned about', async () => {
    const queue = 'policy.bindings';
    const logger = new RecordingLogger();
    const handled: string[] = [];
    const { server, observer } = await startServer(
      queue,
      { 'thing.known': async (_data, ctx) => void handled.push(ctx.eventId), 'thing.unbound': async () => undefined },
      { logger },
    );
    await server.applyPolicy(policyFor(queue, ['thing.known', 'thing.extra']));
    expect(server.currentSettings()?.eventTypes).toEqual(['thing.known', 'thing.extra']);

    const known = await publishEvent(publisher, EXCHANGE, 'thing.known', {});
    const extra = await publishEvent(publisher, EXCHANGE, 'thing.extra', {});
    await waitFor('the known one handled', () => handled.includes(known));
    await waitFor('the extra one dead-lettered', () => observer.deadLetters.length === 1);
    const letter = await waitFor(
      'a message in the DLQ',
      async () => (await inspect.get(`${queue}.dlq`, { noAck: true })) || undefined,
    );
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

    await expect(server.applyPolicy(policyFor('policy.other', ['thing.kept']))).rejects.toThrow(
      /this consumer's queue is 'policy.refused'/,
    );
    // A quorum queue cannot become classic in place.
    await expect(
      server.applyPolicy(
        policyFor(queue, ['thing.kept'], { queueType: 'classic', paused: true, retryDelaysMs: [700] }),
      ),
    ).rejects.toBeInstanceOf(TopologyConflictError);
    expect(server.currentSettings()).toBe(before);
    expect(server.isConsuming).toBe(true);
    const id = await publishEvent(publisher, EXCHANGE, 'thing.kept', {});
    await waitFor('still consuming', () => handled.includes(id));
  });

  it('takes a policy that arrives before the first connection, declares its topology (not the defaults’) and re-declares it after a reconnect', async () => {
    const queue = 'policy.early';
    const port = await freePort();
    const late = new RabbitMqConnection({
      url: vhost.url.replace(':5672', `:${port}`),
      reconnectInitialDelayMs: 20,
      reconnectMaxDelayMs: 200,
    });
    const handled: string[] = [];
    const server = new SwitchyardServer({
      connection: late,
      publishConnection: connection,
      service: 'early',
      queue,
      exchange: EXCHANGE,
      retryDelaysMs: TIERS,
      decode: decodeJson,
      firstConnectWaitMs: 0,
    });
    server.addHandler(
      'thing.early',
      (async (_data: unknown, ctx: EventContext) => void handled.push(ctx.eventId)) as MessageHandler,
      true,
    );
    servers.push(server);
    const early = server.applyPolicy(policyFor(queue, ['thing.early'], { paused: true, retryDelaysMs: [250] }));
    await new Promise<void>(
      (resolve, reject) => void server.listen((error?: unknown) => (error ? reject(error as Error) : resolve())),
    );
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

      await server.applyPolicy(
        policyFor(queue, ['thing.early'], { paused: false, retryDelaysMs: [350], generation: 3 }),
      );
      await waitFor('the waiting event handled once resumed', () => handled.includes(id));

      // A lost connection: the reconnect declares the policy's topology again and consumes with it.
      await inspect.deleteQueue(`${queue}.retry.350ms`);
      proxy.cut();
      await waitFor(
        'the tier declared again after the reconnect',
        async () => late.isReady && server.isConsuming && (await queueExists(`${queue}.retry.350ms`)),
        10_000,
      );
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
    const { server } = await startServer(queue, {
      'thing.closing': async (_data, ctx) => void handled.push(ctx.eventId),
    });
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

  it('rejects a policy present at startup that the broker refuses, and consumes with the code defaults instead; a later valid policy still applies', async () => {
    const queue = 'policy.boot';
    // The queue exists as the code defaults make it (quorum); the policy asks for a classic one.
    await declareTopology(
      connection.current()!,
      planConsumerTopology({ exchange: EXCHANGE, queue, eventTypes: ['thing.boot'], retryDelaysMs: TIERS }),
    );
    const directory = await mkdtemp(join(tmpdir(), 'server-policy-boot-'));
    try {
      await writeFile(
        join(directory, consumerPolicyFileName(queue)),
        serializeConsumerPolicy(policyFor(queue, ['thing.boot'], { queueType: 'classic', retryDelaysMs: [650] })),
      );
      const source = new ConsumerPolicySource({ directory, queue, pollIntervalMs: 50 });
      const logger = new RecordingLogger();
      const handled: string[] = [];
      const rejections: Error[] = [];
      const server = new SwitchyardServer({
        connection,
        service: 'spec-service',
        queue,
        exchange: EXCHANGE,
        retryDelaysMs: TIERS,
        decode: decodeJson,
        policySource: source,
        logger,
      });
      server.addHandler(
        'thing.boot',
        (async (_data: unknown, ctx: EventContext) => void handled.push(ctx.eventId)) as MessageHandler,
        true,
      );
      server.on('policyRejected', (error) => rejections.push(error));
      servers.push(server);
      await new Promise<void>(
        (resolve, reject) => void server.listen((error?: unknown) => (error ? reject(error as Error) : resolve())),
      );

      expect(server.isConsuming).toBe(true);
      expect(server.currentSettings()).toMatchObject({
        policy: undefined,
        retryDelaysMs: TIERS,
        deadLetterQueue: `${queue}.dlq`,
      });
      expect(rejections).toHaveLength(1);
      expect(rejections[0]).toBeInstanceOf(TopologyConflictError);
      expect(rejections[0]).toMatchObject({
        objectName: queue,
        brokerMessage: expect.stringContaining(
          `inequivalent arg '${(rejections[0] as TopologyConflictError).argument}' for queue '${queue}'`,
        ),
      });
      // The broker's reason, where readiness shows it.
      expect(source.current().error).toBe(
        `consumer policy default/${queue} generation 1 not applied: ${rejections[0]!.message}`,
      );
      expect(logger.lines).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            level: 'error',
            message: 'could not apply the consumer policy; the code defaults are in force instead',
          }),
        ]),
      );
      const id = await publishEvent(publisher, EXCHANGE, 'thing.boot', {});
      await waitFor('consuming with the defaults', () => handled.includes(id));

      await writeFile(
        join(directory, consumerPolicyFileName(queue)),
        serializeConsumerPolicy(policyFor(queue, ['thing.boot'], { retryDelaysMs: [650], generation: 2 })),
      );
      await waitFor('the valid policy in force', () => server.currentSettings()?.policy?.generation === 2, 10_000);
      expect(source.current().error).toBeUndefined();
      expect(server.currentSettings()?.retryDelaysMs).toEqual([650]);
      expect(await queueExists(`${queue}.retry.650ms`)).toBe(true);
      expect(rejections).toHaveLength(1);
      const next = await publishEvent(publisher, EXCHANGE, 'thing.boot', {});
      await waitFor('consuming with the policy', () => handled.includes(next));
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  }, 60_000);

  it('still fails listen when the code defaults conflict with the broker too', async () => {
    const queue = 'policy.boot-both';
    await declareTopology(
      connection.current()!,
      planConsumerTopology({
        exchange: EXCHANGE,
        queue,
        eventTypes: ['thing.both'],
        retryDelaysMs: TIERS,
        deliveryLimit: 5,
      }),
    );
    const error = await startServer(
      queue,
      { 'thing.both': async () => undefined },
      { policySource: fixedPolicy(policyFor(queue, ['thing.both'], { queueType: 'classic' })) },
    ).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TopologyConflictError);
    expect((error as TopologyConflictError).argument).toBe('x-delivery-limit');
    const server = servers.at(-1)!;
    expect(server.isConsuming).toBe(false);
    // The policy was refused (so not reported as in force); the defaults are what failed to declare.
    expect(server.currentSettings()?.policy).toBeUndefined();
  });
});
