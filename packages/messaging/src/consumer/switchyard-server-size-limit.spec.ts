import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { MessageHandler } from '@nestjs/microservices';
import { createTestVhost, type TestVhost, waitFor } from '@switchyard/testing';
import type { Channel } from 'amqplib';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse } from 'yaml';
import { decodeJson, publishEvent, RecordingObserver } from '../../test/broker-harness.js';
import { RabbitMqConnection } from '../connection/rabbitmq-connection.js';
import type { IncomingMessage } from './event-context.js';
import { EventPublisher } from '../publishing/event-publisher.js';
import { DEFAULT_MAX_MESSAGE_BYTES } from './message-size-limit.js';
import { SwitchyardServer } from './switchyard-server.js';
import { listDeadLetters } from '../dlq/dlq-admin.js';

const EXCHANGE = 'test.events';
const QUEUE = 'spec.size';
const HUGE_BYTES = 50 * 1024 * 1024;
const REPO = resolve(import.meta.dirname, '../../../..');

/** `384Mi` → bytes (the units the charts use for memory). */
function quantityBytes(quantity: string): number {
  const match = /^(\d+)(Ki|Mi|Gi)?$/.exec(quantity);
  if (!match) throw new Error(`unexpected memory quantity '${quantity}'`);
  const unit = { Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3 }[match[2] ?? ''] ?? 1;
  return Number(match[1]) * unit;
}

/** The smallest memory limit the charts give a service container: the consumer must stay under it. */
function serviceMemoryLimitBytes(): number {
  const limits = ['order-service', 'user-service'].map((chart) => {
    const values = parse(readFileSync(resolve(REPO, 'charts', chart, 'values.yaml'), 'utf8')) as {
      resources: { limits: { memory: string } };
    };
    return quantityBytes(values.resources.limits.memory);
  });
  return Math.min(...limits);
}

/**
 * Publishes one huge message from a process of its own, so that the producer's copy of the body is not counted in
 * this (the consumer's) process's memory.
 */
function publishHugeMessage(url: string, bytes: number): Promise<void> {
  const script = `
    const amqp = require('amqplib');
    (async () => {
      const connection = await amqp.connect(process.env.URL);
      const channel = await connection.createConfirmChannel();
      channel.publish('${EXCHANGE}', 'thing.happened', Buffer.alloc(${bytes}, 0x5b), {
        messageId: 'huge-1', type: 'thing.happened', contentType: 'application/json', persistent: true,
        headers: { 'x-event-version': 1 },
      });
      await channel.waitForConfirms();
      await connection.close();
    })().catch((error) => { console.error(error); process.exit(1); });`;
  return new Promise((done, fail) => {
    execFile(
      process.execPath,
      ['-e', script],
      { env: { ...process.env, URL: url }, cwd: REPO, timeout: 60_000 },
      (error, _stdout, stderr) => (error ? fail(new Error(`publisher failed: ${stderr || error.message}`)) : done()),
    );
  });
}

describe('SwitchyardServer message size limit', () => {
  let vhost: TestVhost;
  let connection: RabbitMqConnection;
  let publisher: EventPublisher;
  let server: SwitchyardServer;
  let inspect: Channel;
  const observer = new RecordingObserver();
  const decoded: number[] = [];
  const handled: string[] = [];

  beforeAll(async () => {
    vhost = await createTestVhost('size');
    connection = new RabbitMqConnection({ url: vhost.url, connectionName: 'size-spec' });
    await connection.start();
    publisher = new EventPublisher({ connection, exchanges: [EXCHANGE] });
    await publisher.start();
    inspect = await connection.current()!.createChannel();
    server = new SwitchyardServer({
      connection,
      service: 'size-spec',
      queue: QUEUE,
      exchange: EXCHANGE,
      retryDelaysMs: [],
      // Records the size of every body that reaches the decoder: an oversized one must never get here.
      decode: (message: IncomingMessage) => {
        decoded.push(message.content.length);
        return decodeJson(message);
      },
      observer,
    });
    server.addHandler(
      'thing.happened',
      (async (data: { n: number }) => {
        handled.push(String(data.n));
      }) as MessageHandler,
      true,
    );
    await new Promise<void>(
      (done, fail) => void server.listen((error?: unknown) => (error ? fail(error as Error) : done())),
    );
  }, 20_000);

  afterAll(async () => {
    await server?.close();
    await inspect?.close().catch(() => undefined);
    await publisher?.close();
    await connection?.close();
    await vhost?.drop();
  }, 30_000);

  it('defaults to 1 MiB', () => {
    expect(DEFAULT_MAX_MESSAGE_BYTES).toBe(1024 * 1024);
  });

  it('dead-letters a 50 MiB message as message_too_large without parsing it, keeps consuming, and stays under the chart memory limit', async () => {
    const limit = serviceMemoryLimitBytes();
    const startRss = process.memoryUsage().rss;
    let peakRss = startRss;
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
    }, 10);
    try {
      await publishEvent(publisher, EXCHANGE, 'thing.happened', { n: 1 });
      await publishHugeMessage(vhost.url, HUGE_BYTES);
      await publishEvent(publisher, EXCHANGE, 'thing.happened', { n: 2 });

      const dead = await waitFor(
        'the huge message to be dead-lettered',
        () => observer.deadLetters.find((letter) => letter.queue === QUEUE),
        30_000,
      );
      expect(dead.reason).toBe('message_too_large');
      await waitFor('the messages around it to be handled', () => handled.length === 2, 30_000);
    } finally {
      clearInterval(sampler);
    }
    expect(handled.sort()).toEqual(['1', '2']);
    expect(Math.max(...decoded)).toBeLessThan(1024);
    expect(server.isConsuming).toBe(true);
    await waitFor(
      'the broker to move it to the DLQ',
      async () => (await inspect.checkQueue(`${QUEUE}.dlq`)).messageCount === 1,
    );
    const [letter] = (await listDeadLetters(connection.current()!, QUEUE)).items;
    expect(letter).toMatchObject({ eventId: 'huge-1', reason: 'message_too_large' });
    expect((await inspect.checkQueue(QUEUE)).messageCount).toBe(0);
    expect(peakRss).toBeLessThan(limit);

    // Still consuming afterwards: no crash, no restart.
    await publishEvent(publisher, EXCHANGE, 'thing.happened', { n: 3 });
    await waitFor('a later message to be handled', () => handled.includes('3'), 10_000);
  }, 90_000);
});
