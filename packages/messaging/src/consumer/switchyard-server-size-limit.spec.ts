import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestVhost, type TestVhost, waitFor } from '@switchyard/testing';
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { parse } from 'yaml';
import { publishEvent } from '../../test/broker-harness.js';
import { RabbitMqConnection } from '../connection/rabbitmq-connection.js';
import { listDeadLetters } from '../dlq/dlq-admin.js';
import { EventPublisher } from '../publishing/event-publisher.js';
import { declareTopology } from '../topology/declare-topology.js';
import { planConsumerTopology } from '../topology/topology-plan.js';
import { DEFAULT_MAX_MESSAGE_BYTES } from './message-size-limit.js';

const EXCHANGE = 'test.events';
const QUEUE = 'spec.size';
const HUGE_BYTES = 50 * 1024 * 1024;
const PACKAGE = resolve(import.meta.dirname, '../..');
const REPO = resolve(PACKAGE, '../..');
const CONSUMER_SCRIPT = resolve(PACKAGE, 'test/size-limit-consumer.mjs');

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

type ConsumerLine = {
  ready?: true;
  decoded?: number;
  deadLettered?: string;
  handled?: number;
  peakRss?: number;
  consuming?: boolean;
};

describe('SwitchyardServer message size limit', () => {
  let vhost: TestVhost;
  let connection: RabbitMqConnection;
  let publisher: EventPublisher;
  let consumer: ChildProcessWithoutNullStreams;
  const lines: ConsumerLine[] = [];
  let stderr = '';

  beforeAll(async () => {
    if (!existsSync(resolve(PACKAGE, 'dist/consumer/message-size-limit.js')))
      throw new Error('packages/messaging/dist is missing or stale: run `npm run build` first');
    vhost = await createTestVhost('size');
    connection = new RabbitMqConnection({ url: vhost.url, connectionName: 'size-spec' });
    await connection.start();
    publisher = new EventPublisher({ connection, exchanges: [EXCHANGE] });
    await publisher.start();
    await declareTopology(
      connection.current()!,
      planConsumerTopology({ exchange: EXCHANGE, queue: QUEUE, eventTypes: ['thing.happened'], retryDelaysMs: [] }),
    );
    consumer = spawn(process.execPath, [CONSUMER_SCRIPT], {
      env: { ...process.env, AMQP_URL: vhost.url, EXCHANGE, QUEUE },
    });
    consumer.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    createInterface({ input: consumer.stdout }).on('line', (line) => lines.push(JSON.parse(line) as ConsumerLine));
    await waitFor('the consumer process to consume', () => lines.some((line) => line.ready) || exited(), 20_000);
    expect(stderr).toBe('');
  }, 30_000);

  const exited = (): false => {
    if (consumer.exitCode !== null) throw new Error(`the consumer exited (${consumer.exitCode}): ${stderr}`);
    return false;
  };

  afterAll(async () => {
    if (consumer && consumer.exitCode === null) consumer.kill();
    await publisher?.close();
    await connection?.close();
    await vhost?.drop();
  }, 30_000);

  it('defaults to 1 MiB', () => {
    expect(DEFAULT_MAX_MESSAGE_BYTES).toBe(1024 * 1024);
  });

  it('dead-letters a 50 MiB message as message_too_large without parsing it, keeps consuming, and stays under the chart memory limit', async () => {
    const handled = (): number[] => lines.flatMap((line) => (line.handled === undefined ? [] : [line.handled]));
    await publishEvent(publisher, EXCHANGE, 'thing.happened', { n: 1 });
    await publisher.publish(EXCHANGE, 'thing.happened', Buffer.alloc(HUGE_BYTES, 0x5b), {
      messageId: 'huge-1',
      type: 'thing.happened',
      contentType: 'application/json',
      headers: { 'x-event-version': 1 },
    });
    await publishEvent(publisher, EXCHANGE, 'thing.happened', { n: 2 });

    const dead = await waitFor(
      'the huge message to be dead-lettered',
      () => lines.find((line) => line.deadLettered) ?? exited(),
      30_000,
    );
    expect(dead.deadLettered).toBe('message_too_large');
    await waitFor('the messages around it to be handled', () => handled().length === 2 || exited(), 30_000);

    // Still consuming afterwards: the same process, no crash, no restart.
    await publishEvent(publisher, EXCHANGE, 'thing.happened', { n: 3 });
    await waitFor('a later message to be handled', () => handled().includes(3) || exited(), 10_000);
    consumer.stdin.end();
    const report = await waitFor('the consumer’s report', () => lines.find((line) => line.peakRss) ?? exited());

    expect(handled().sort()).toEqual([1, 2, 3]);
    // Nothing over the limit reached the decoder (so no JSON.parse of it).
    expect(Math.max(...lines.flatMap((line) => (line.decoded === undefined ? [] : [line.decoded])))).toBeLessThan(1024);
    expect(report.consuming).toBe(true);
    expect(report.peakRss).toBeLessThan(serviceMemoryLimitBytes());
    const inspect = await connection.current()!.createChannel();
    try {
      await waitFor(
        'the broker to move it to the DLQ',
        async () => (await inspect.checkQueue(`${QUEUE}.dlq`)).messageCount === 1,
      );
      expect((await inspect.checkQueue(QUEUE)).messageCount).toBe(0);
    } finally {
      await inspect.close();
    }
    const [letter] = (await listDeadLetters(connection.current()!, QUEUE)).items;
    expect(letter).toMatchObject({ eventId: 'huge-1', reason: 'message_too_large' });
    expect(stderr).toBe('');
  }, 90_000);
});
