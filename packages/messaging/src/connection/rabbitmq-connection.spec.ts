import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { MessageHandler } from '@nestjs/microservices';
import { createTestVhost, freePort, startFaultProxy, type TestVhost, waitFor } from '@switchyard/testing';
import type { ChannelModel } from 'amqplib';
import { randomUUID } from 'node:crypto';
import { Socket } from 'node:net';
import { setImmediate as yieldToIo } from 'node:timers/promises';
import { decodeJson, publishEvent, RecordingObserver } from '../../test/broker-harness.js';
import { startTcpProxy } from '../../test/tcp-proxy.js';
import { startTlsTerminatingProxy, type TlsTerminatingProxy } from '../../test/tls-terminating-proxy.js';
import { EventPublisher } from '../publishing/event-publisher.js';
import { ChannelClosedError, ConnectionClosedError, PublishTimeoutError } from '../messaging-errors.js';
import { type MessagingLogger } from '../observability/messaging-logger.js';
import { RabbitMqConnection } from './rabbitmq-connection.js';
import { SwitchyardServer } from '../consumer/switchyard-server.js';

const EXCHANGE = 'test.events';

describe('RabbitMqConnection', () => {
  let vhost: TestVhost;

  beforeAll(async () => {
    vhost = await createTestVhost('connection');
  });
  afterAll(async () => {
    await vhost?.drop();
  });

  it('keeps retrying with backoff until the broker is reachable, logging the URL without its password', async () => {
    const port = await freePort();
    const warnings: Array<Record<string, unknown>> = [];
    const logger: MessagingLogger = {
      info: () => undefined,
      warn: (fields) => warnings.push(fields),
      error: () => undefined,
    };
    const connection = new RabbitMqConnection({
      url: vhost.url.replace(':5672', `:${port}`),
      logger,
      reconnectInitialDelayMs: 20,
      reconnectMaxDelayMs: 100,
    });
    const started = connection.start();
    await waitFor('a few failed attempts', () => warnings.length >= 3);
    expect(connection.health()).toEqual({ connected: false, blocked: false });
    expect(connection.isReady).toBe(false);

    const proxy = await startTcpProxy(5672, '127.0.0.1', port);
    try {
      await started;
      expect(connection.health()).toEqual({ connected: true, blocked: false });
      expect(connection.isReady).toBe(true);
      expect(JSON.stringify(warnings)).not.toContain('guest:guest');
      expect(warnings[0]!.url).toMatch(/^amqp:\/\/guest:\*\*\*@127\.0\.0\.1:/);
      await connection.close();
    } finally {
      await proxy.close();
    }
  });

  it('rejects start() when closed before it ever connected, and reconnects no more', async () => {
    const connection = new RabbitMqConnection({
      url: `amqp://guest:guest@127.0.0.1:${await freePort()}`,
      reconnectInitialDelayMs: 20,
    });
    const started = connection.start();
    await connection.close();
    await expect(started).rejects.toBeInstanceOf(ConnectionClosedError);
    await expect(connection.onConnected(async () => undefined)).rejects.toBeInstanceOf(ConnectionClosedError);
  });

  it("turns Nagle off (TCP_NODELAY) on its socket, so small publishes are not held back for the peer's delayed ACK", async () => {
    // amqplib calls setNoDelay(noDelay) on its socket once TCP is up, with false unless told otherwise. Node
    // exposes no getter for the flag, so the calls are observed on the way (and passed through unchanged).
    const calls: Array<{ socket: Socket; enable: boolean | undefined }> = [];
    const original = Socket.prototype.setNoDelay;
    Socket.prototype.setNoDelay = function (this: Socket, enable?: boolean) {
      calls.push({ socket: this, enable });
      return original.call(this, enable);
    };
    const connection = new RabbitMqConnection({ url: vhost.url, connectionName: 'nodelay' });
    try {
      await connection.start();
    } finally {
      Socket.prototype.setNoDelay = original;
    }
    try {
      const socket = (connection.current()!.connection as unknown as { stream: Socket }).stream;
      expect(socket).toBeInstanceOf(Socket);
      expect(socket.remotePort).toBe(5672);
      const onOurSocket = calls.filter((call) => call.socket === socket);
      expect(onOurSocket.length).toBeGreaterThan(0);
      expect(onOurSocket.at(-1)!.enable).toBe(true);
    } finally {
      await connection.close();
    }
  });

  it('closes within about 5 s while a connect hangs on a blackholed link, and never connects afterwards', async () => {
    const proxy = await startFaultProxy('connection → rabbitmq', { port: 5672 });
    proxy.blackhole();
    // The TCP connect succeeds (the proxy accepts) but no handshake byte comes back: the connect would last its
    // whole timeout, far longer than a shutdown may wait.
    const connection = new RabbitMqConnection({
      url: vhost.url.replace(':5672', `:${proxy.port}`),
      connectTimeoutMs: 60_000,
    });
    const started = connection.start();
    try {
      await waitFor(
        'the connect to reach the blackholed link',
        () => proxy.stats().accepted === 1 && proxy.stats().bytesDropped > 0,
        10_000,
      );
      const closing = performance.now();
      await connection.close();
      const tookMs = performance.now() - closing;
      expect(tookMs).toBeLessThan(7_000);
      await expect(started).rejects.toBeInstanceOf(ConnectionClosedError);
      expect(connection.health()).toEqual({ connected: false, blocked: false });

      // The link comes back: the abandoned attempt must not turn into a connection (or a new attempt).
      proxy.passThrough();
      proxy.resetConnections();
      await waitFor('the abandoned attempt to end', () => proxy.stats().open === 0, 5_000);
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(proxy.stats().accepted).toBe(1);
      expect(connection.current()).toBeUndefined();
    } finally {
      await proxy.close();
    }
  }, 30_000);

  it('re-runs every setup, in registration order, after each reconnect; a setup failing on a live connection is reported to its caller', async () => {
    const connection = new RabbitMqConnection({ url: vhost.url, connectionName: 'setups' });
    await connection.start();
    const runs: string[] = [];
    await connection.onConnected(async () => void runs.push('first'));
    await connection.onConnected(async () => void runs.push('second'));
    await expect(
      connection.onConnected(async (model: ChannelModel) => {
        const channel = await model.createChannel();
        channel.on('error', () => undefined);
        await channel.checkQueue('no-such-queue');
      }),
    ).rejects.toThrow(/NOT_FOUND/);
    const before = connection.current();

    await vhost.closeAllConnections('setups spec');
    await waitFor(
      'a new, fully set-up connection',
      () => connection.current() !== before && connection.isReady,
      10_000,
    );

    expect(runs).toEqual(['first', 'second', 'first', 'second']);
    await connection.close();
    expect(connection.health().connected).toBe(false);
  });

  it('loses nothing when the broker drops every connection mid-stream: consumer and publisher recover and every event is handled', async () => {
    const errors: string[] = [];
    const logger: MessagingLogger = {
      info: () => undefined,
      warn: () => undefined,
      error: (fields, message) => errors.push(`${message} ${JSON.stringify(fields)}`),
    };
    const connection = new RabbitMqConnection({
      url: vhost.url,
      connectionName: 'recovery',
      reconnectInitialDelayMs: 100,
      logger,
    });
    await connection.start();
    const publisher = new EventPublisher({ connection, exchanges: [EXCHANGE], logger });
    await publisher.start();
    const observer = new RecordingObserver();
    const handled = new Set<string>();
    let handlerRuns = 0;
    const server = new SwitchyardServer({
      connection,
      service: 'recovery-spec',
      queue: 'spec.recovery',
      exchange: EXCHANGE,
      retryDelaysMs: [200],
      decode: decodeJson,
      observer,
      prefetch: 20,
      logger,
    });
    server.addHandler(
      'thing.counted',
      (async (_data: unknown, ctx: { eventId: string }) => {
        handlerRuns++;
        await yieldToIo();
        handled.add(ctx.eventId);
      }) as MessageHandler,
      true,
    );
    await new Promise<void>(
      (resolve, reject) => void server.listen((error?: unknown) => (error ? reject(error as Error) : resolve())),
    );

    const published = new Set<string>();
    let retriedPublishes = 0;
    let stop = false;
    async function publishUntilConfirmed(id: string): Promise<void> {
      for (;;) {
        try {
          await publishEvent(publisher, EXCHANGE, 'thing.counted', {}, id);
          published.add(id);
          return;
        } catch (error) {
          if (!(error instanceof ChannelClosedError || error instanceof PublishTimeoutError)) throw error;
          retriedPublishes++;
          await waitFor('the publisher to be back', () => publisher.isReady, 15_000);
        }
      }
    }
    const workers = Array.from({ length: 4 }, async () => {
      while (!stop) await publishUntilConfirmed(randomUUID());
    });

    try {
      await waitFor('traffic to flow', () => handled.size >= 100, 10_000);
      const before = connection.current();
      await vhost.closeAllConnections('recovery spec: mid-stream');
      await waitFor(
        'the reconnect',
        () => connection.current() !== before && connection.isReady && server.isConsuming,
        10_000,
      );
      const publishedAtRecovery = published.size;
      await waitFor(
        'publishing to go on after the reconnect',
        () => published.size >= publishedAtRecovery + 100,
        10_000,
      );
    } finally {
      stop = true;
      await Promise.all(workers);
    }

    await waitFor('every published event to be handled', () => [...published].every((id) => handled.has(id)), 15_000);
    expect(retriedPublishes).toBeGreaterThan(0);
    expect(handlerRuns).toBeGreaterThanOrEqual(published.size);
    // Every id was published until confirmed (same id on retry), so handled and published are the same set.
    expect(handled.size).toBe(published.size);
    expect(observer.deadLetters).toEqual([]);
    // A forced disconnect is routine: warnings, never errors.
    expect(errors).toEqual([]);

    await server.close();
    await publisher.close();
    await connection.close();
  }, 40_000);
});

describe('RabbitMqConnection over amqps://', () => {
  let vhost: TestVhost;
  let proxy: TlsTerminatingProxy;

  beforeAll(async () => {
    [vhost, proxy] = await Promise.all([createTestVhost('connection_tls'), startTlsTerminatingProxy()]);
  });
  afterAll(async () => {
    await proxy?.close();
    await vhost?.drop();
  });

  const amqpsUrl = () => {
    const url = new URL(vhost.url);
    url.protocol = 'amqps:';
    url.host = `localhost:${proxy.port}`;
    return url.toString();
  };

  it('connects when RABBITMQ_CA_FILE names the CA that signed the broker certificate', async () => {
    const connection = new RabbitMqConnection({ url: amqpsUrl(), caFile: proxy.caFile, connectionName: 'tls' });
    try {
      await connection.start();
      expect(connection.health()).toEqual({ connected: true, blocked: false });
    } finally {
      await connection.close();
    }
  });

  it('refuses a certificate it cannot verify without the CA file, and keeps retrying with the reason logged', async () => {
    const warnings: Array<Record<string, unknown>> = [];
    const logger: MessagingLogger = {
      info: () => undefined,
      warn: (fields) => warnings.push(fields),
      error: () => undefined,
    };
    const connection = new RabbitMqConnection({ url: amqpsUrl(), logger, reconnectInitialDelayMs: 20 });
    const started = connection.start().catch(() => undefined);
    try {
      await waitFor('a failed TLS connect logged', () => warnings.length >= 1);
      expect(JSON.stringify(warnings[0])).toMatch(/certificate/i);
      expect(connection.health().connected).toBe(false);
    } finally {
      await connection.close();
      await started;
    }
  });

  it('fails construction with the file named when the CA file is missing or not a PEM certificate', () => {
    expect(() => new RabbitMqConnection({ url: amqpsUrl(), caFile: '/nonexistent/ca.pem' })).toThrow(
      /RABBITMQ_CA_FILE \/nonexistent\/ca\.pem cannot be used: ENOENT/,
    );
    expect(() => new RabbitMqConnection({ url: amqpsUrl(), caFile: new URL(import.meta.url).pathname })).toThrow(
      /cannot be used: no PEM certificate in it/,
    );
  });
});
