import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { MessageHandler } from '@nestjs/microservices';
import { createTestVhost, type TestVhost, waitFor } from '@switchyard/testing';
import type { Channel, ConsumeMessage } from 'amqplib';
import { decodeJson, publishEvent, RecordingObserver } from '../../test/broker-harness.js';
import { type CliIo, main } from './cli.js';
import { declareTopology } from '../topology/declare-topology.js';
import { listDeadLetters, purgeDeadLetters, replayDeadLetters, showDeadLetter } from './dlq-admin.js';
import type { EventContext } from '../consumer/event-context.js';
import { EventPublisher } from '../publishing/event-publisher.js';
import { NonRetriableError } from '../consumer/failure-routing.js';
import { RabbitMqConnection } from '../connection/rabbitmq-connection.js';
import { SwitchyardServer } from '../consumer/switchyard-server.js';
import { planConsumerTopology } from '../topology/topology-plan.js';

const EXCHANGE = 'test.events';
const QUEUE = 'spec.tools';
const LIMITED = 'spec.limited';

describe('DLQ tools', () => {
  let vhost: TestVhost;
  let connection: RabbitMqConnection;
  let publisher: EventPublisher;
  let server: SwitchyardServer;
  let inspect: Channel;
  const observer = new RecordingObserver();
  let accept = false;
  const accepted: EventContext[] = [];
  const doomed: string[] = [];
  let overLimit: string;

  const depth = async (queue: string): Promise<number> => (await inspect.checkQueue(queue)).messageCount;

  beforeAll(async () => {
    vhost = await createTestVhost('dlq');
    connection = new RabbitMqConnection({ url: vhost.url, connectionName: 'dlq-spec' });
    await connection.start();
    publisher = new EventPublisher({ connection, exchanges: [EXCHANGE] });
    await publisher.start();
    inspect = await connection.current()!.createChannel();
    server = new SwitchyardServer({
      connection,
      service: 'tools-spec',
      queue: QUEUE,
      exchange: EXCHANGE,
      retryDelaysMs: [],
      decode: decodeJson,
      observer,
    });
    server.addHandler(
      'thing.doomed',
      (async (_data: unknown, ctx: EventContext) => {
        if (!accept) throw new NonRetriableError(`cannot take ${ctx.eventId} yet`);
        accepted.push(ctx);
      }) as MessageHandler,
      true,
    );
    await new Promise<void>(
      (resolve, reject) => void server.listen((error?: unknown) => (error ? reject(error as Error) : resolve())),
    );
    for (let i = 0; i < 3; i++) doomed.push(await publishEvent(publisher, EXCHANGE, 'thing.doomed', { i }));
    await waitFor('three dead letters', () => observer.deadLetters.length === 3);

    // A message the broker dead-letters by itself: a consumer that keeps handing it back hits the delivery limit.
    await declareTopology(
      connection.current()!,
      planConsumerTopology({
        exchange: EXCHANGE,
        queue: LIMITED,
        eventTypes: ['thing.limited'],
        retryDelaysMs: [],
        deliveryLimit: 1,
      }),
    );
    overLimit = await publishEvent(publisher, EXCHANGE, 'thing.limited', { limited: true });
    const bouncer = await connection.current()!.createChannel();
    await bouncer.consume(LIMITED, (message: ConsumeMessage | null) => message && bouncer.nack(message, false, true));
    await waitFor('the broker to dead-letter it', async () => (await depth(`${LIMITED}.dlq`)) === 1);
    await bouncer.close();
  }, 20_000);

  afterAll(async () => {
    await server?.close();
    await inspect?.close().catch(() => undefined);
    await publisher?.close();
    await connection?.close();
    await vhost?.drop();
  }, 20_000);

  it('lists dead letters with id, type, reason, attempts and last failure, without consuming them', async () => {
    const list = await listDeadLetters(connection.current()!, QUEUE);
    const again = await listDeadLetters(connection.current()!, `${QUEUE}.dlq`, { limit: 2 });

    expect(list.queue).toBe(`${QUEUE}.dlq`);
    expect(list.total).toBe(3);
    expect(list.deadLetters).toBe(3);
    expect(list.items.map((item) => item.eventId).sort()).toEqual([...doomed].sort());
    expect(list.items[0]).toMatchObject({
      type: 'thing.doomed',
      reason: 'non_retriable',
      attempts: 1,
      lastFailureAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      errorClass: 'NonRetriableError',
      originalRoutingKey: 'thing.doomed',
      originalExchange: EXCHANGE,
      consumerService: 'tools-spec',
      consumerQueue: QUEUE,
      copies: 1,
    });
    expect(again.items).toHaveLength(2);
    expect(await depth(`${QUEUE}.dlq`)).toBe(3);
  });

  it('shows messages the broker dead-lettered itself, with the reason from x-death', async () => {
    const list = await listDeadLetters(connection.current()!, LIMITED);
    expect(list.items).toEqual([
      expect.objectContaining({
        eventId: overLimit,
        type: 'thing.limited',
        reason: 'delivery_limit',
        consumerQueue: LIMITED,
        originalRoutingKey: 'thing.limited',
        originalExchange: EXCHANGE,
        lastFailureAt: expect.any(String),
      }),
    ]);
  });

  it('shows one dead letter with all its headers and its body', async () => {
    const letter = await showDeadLetter(connection.current()!, QUEUE, doomed[1]!);
    expect(letter).toBeDefined();
    expect(JSON.parse(letter!.body.toString())).toEqual({ i: 1 });
    expect(letter!.properties).toMatchObject({
      messageId: doomed[1],
      type: 'thing.doomed',
      contentType: 'application/json',
    });
    expect(letter!.headers).toMatchObject({
      'x-death-reason': 'non_retriable',
      'x-error-message': `cannot take ${doomed[1]} yet`,
      'ce-id': doomed[1],
    });
    expect(await showDeadLetter(connection.current()!, QUEUE, 'no-such-id')).toBeUndefined();
    expect(await depth(`${QUEUE}.dlq`)).toBe(3);
  });

  it('replays chosen dead letters through the exchange with the same id and a fresh attempt count, removing them from the DLQ', async () => {
    accept = true;
    const result = await replayDeadLetters(connection.current()!, QUEUE, { ids: [doomed[0]!, 'missing-id'] });

    expect(result).toEqual({ replayed: [doomed[0]], removedCopies: 0, notFound: ['missing-id'], failed: [] });
    await waitFor('the replayed event to be handled', () => accepted.length === 1);
    expect(accepted[0]).toMatchObject({ eventId: doomed[0], type: 'thing.doomed', attempt: 1 });
    expect(accepted[0]!.headers).toMatchObject({ 'x-replayed-at': expect.any(String), 'ce-id': doomed[0] });
    expect(accepted[0]!.headers).not.toHaveProperty('x-death-reason');
    expect(accepted[0]!.headers).not.toHaveProperty('x-attempts');
    expect(await depth(`${QUEUE}.dlq`)).toBe(2);
  });

  it('replays broker dead letters to their original route too', async () => {
    const result = await replayDeadLetters(connection.current()!, LIMITED, { all: true });
    expect(result.replayed).toEqual([overLimit]);
    expect(await depth(`${LIMITED}.dlq`)).toBe(0);
    const back = await waitFor(
      'the message back in its queue',
      async () => (await inspect.get(LIMITED, { noAck: true })) || undefined,
    );
    expect(back.properties.messageId).toBe(overLimit);
    expect(back.properties.headers).not.toHaveProperty('x-death');
  });

  describe('switchyard dlq (CLI)', () => {
    async function run(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
      let stdout = '';
      let stderr = '';
      const io: CliIo = {
        stdout: (text) => (stdout += `${text}\n`),
        stderr: (text) => (stderr += `${text}\n`),
        env: { RABBITMQ_URL: vhost.url },
      };
      const code = await main(argv, io);
      return { code, stdout, stderr };
    }

    it('lists as a table or as JSON, and shows one message', async () => {
      const table = await run('dlq', 'list', QUEUE);
      expect(table.code).toBe(0);
      expect(table.stdout).toMatch(/EVENT ID\s+TYPE\s+REASON\s+ATTEMPTS\s+LAST FAILURE/);
      expect(table.stdout).toContain(doomed[1]);
      expect(table.stdout).toContain('non_retriable');
      expect(table.stdout).toContain(`2 of 2 dead letter(s) in ${QUEUE}.dlq`);

      const json = await run('dlq', 'list', QUEUE, '--json', '--limit', '1');
      expect(JSON.parse(json.stdout)).toMatchObject({
        total: 2,
        items: [expect.objectContaining({ reason: 'non_retriable' })],
      });

      const shown = await run('dlq', 'show', QUEUE, doomed[2]!);
      expect(shown.code).toBe(0);
      expect(JSON.parse(shown.stdout)).toMatchObject({
        eventId: doomed[2],
        body: { i: 2 },
        headers: { 'x-death-reason': 'non_retriable' },
      });

      const missing = await run('dlq', 'show', QUEUE, 'no-such-id');
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain('no dead letter with id no-such-id');
    });

    it('answers usage mistakes with exit code 2 and broker trouble with 1, never echoing the password', async () => {
      expect((await run()).code).toBe(2);
      expect((await run('dlq', 'frobnicate', QUEUE)).code).toBe(2);
      expect((await run('dlq', 'replay', QUEUE)).code).toBe(2);
      expect((await run('dlq', 'replay', QUEUE, '--all', '--id', 'x')).code).toBe(2);
      const noYes = await run('dlq', 'purge', QUEUE);
      expect(noYes.code).toBe(2);
      expect(noYes.stderr).toContain('--yes');
      expect((await run('dlq', 'list', QUEUE, '--limit', 'many')).code).toBe(2);
      expect((await run('dlq', 'discard', QUEUE)).code).toBe(2);
      expect((await run('--help')).code).toBe(0);

      const missingQueue = await run('dlq', 'list', 'no.such.queue');
      expect(missingQueue.code).toBe(1);
      expect(missingQueue.stderr).toContain('queue not found');

      let stderr = '';
      const code = await main(['dlq', 'list', QUEUE], {
        stdout: () => undefined,
        stderr: (text) => (stderr += text),
        env: { RABBITMQ_URL: 'amqp://guest:s3cret@127.0.0.1:1/x' },
      });
      expect(code).toBe(1);
      expect(stderr).toContain('amqp://guest:***@127.0.0.1:1/x');
      expect(stderr).not.toContain('s3cret');
    });

    it('replays by id and purges with --yes', async () => {
      const replayed = await run('dlq', 'replay', QUEUE, '--id', doomed[1]!);
      expect(replayed.code).toBe(0);
      expect(replayed.stdout).toContain(`replayed 1 message(s): ${doomed[1]}`);
      await waitFor('the replayed event to be handled', () => accepted.some((ctx) => ctx.eventId === doomed[1]));

      const purged = await run('dlq', 'purge', QUEUE, '--yes');
      expect(purged).toMatchObject({ code: 0, stdout: 'purged 1 dead letter(s) (1 message(s))\n' });
      expect(await depth(`${QUEUE}.dlq`)).toBe(0);
      expect(await purgeDeadLetters(connection.current()!, QUEUE)).toEqual({ messages: 0, deadLetters: 0 });

      const gone = await run('dlq', 'replay', QUEUE, '--id', doomed[2]!);
      expect(gone.code).toBe(1);
      expect(gone.stderr).toContain(`not found: ${doomed[2]}`);
    });
  });
});
