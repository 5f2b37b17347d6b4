import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { MessageHandler } from '@nestjs/microservices';
import { createTestVhost, type TestVhost, waitFor } from '@switchyard/testing';
import type { Channel, ConfirmChannel, Options } from 'amqplib';
import { decodeJson, publishEvent, RecordingObserver } from '../../test/broker-harness.js';
import { RabbitMqConnection } from '../connection/rabbitmq-connection.js';
import type { EventContext } from '../consumer/event-context.js';
import { NonRetriableError } from '../consumer/failure-routing.js';
import { SwitchyardServer } from '../consumer/switchyard-server.js';
import { EventPublisher } from '../publishing/event-publisher.js';
import { type CliIo, main } from './cli.js';
import {
  discardDeadLetters,
  listDeadLetters,
  purgeDeadLetters,
  replayDeadLetters,
  showDeadLetter,
} from './dlq-admin.js';

const EXCHANGE = 'test.events';
const QUEUE = 'spec.copies';
const DLQ = `${QUEUE}.dlq`;

/**
 * A DLQ holding two copies of one event id, as the transport leaves it when the ack of a dead-lettered delivery is
 * lost (the copies are byte-for-byte the transport's own): the tools count, replay, discard and purge per event id.
 */
describe('DLQ tools with several copies of one dead letter', () => {
  let vhost: TestVhost;
  let connection: RabbitMqConnection;
  let publisher: EventPublisher;
  let server: SwitchyardServer;
  let inspect: Channel;
  let injector: ConfirmChannel;
  const observer = new RecordingObserver();
  let accept = false;
  const handled: EventContext[] = [];

  const depth = async (): Promise<number> => (await inspect.checkQueue(DLQ)).messageCount;

  /** Dead-letters a fresh event through the transport; returns its id. */
  async function deadLetter(data: unknown): Promise<string> {
    const before = observer.deadLetters.length;
    const id = await publishEvent(publisher, EXCHANGE, 'thing.copied', data);
    await waitFor(`${id} dead-lettered`, () => observer.deadLetters.length === before + 1);
    return id;
  }

  /**
   * Puts `times` more copies of the transport's dead letter `id` into the DLQ, with its properties and headers, and
   * with `body` instead of its own when given (a same-id dead letter with another payload).
   */
  async function copyInDlq(id: string, times: number, body?: Buffer): Promise<void> {
    const reader = await connection.current()!.createChannel();
    const count = (await reader.checkQueue(DLQ)).messageCount;
    try {
      for (let i = 0; i < count; i++) {
        const message = await reader.get(DLQ, { noAck: false });
        if (!message) break;
        if (message.properties.messageId !== id) continue;
        const properties = Object.fromEntries(
          Object.entries(message.properties).filter(([, value]) => value !== undefined),
        ) as Options.Publish;
        for (let n = 0; n < times; n++) injector.sendToQueue(DLQ, body ?? message.content, properties);
        await injector.waitForConfirms();
        return;
      }
      throw new Error(`no dead letter ${id} in ${DLQ}`);
    } finally {
      await reader.close();
      // The closed reader's messages go back asynchronously (quorum queue): wait until they and the copies are there.
      await waitFor('the DLQ to hold the copies', async () => (await depth()) === count + times);
    }
  }

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

  beforeAll(async () => {
    vhost = await createTestVhost('dlq-copies');
    connection = new RabbitMqConnection({ url: vhost.url, connectionName: 'dlq-copies-spec' });
    await connection.start();
    publisher = new EventPublisher({ connection, exchanges: [EXCHANGE] });
    await publisher.start();
    inspect = await connection.current()!.createChannel();
    injector = await connection.current()!.createConfirmChannel();
    server = new SwitchyardServer({
      connection,
      service: 'copies-spec',
      queue: QUEUE,
      exchange: EXCHANGE,
      retryDelaysMs: [],
      decode: decodeJson,
      observer,
    });
    server.addHandler(
      'thing.copied',
      (async (_data: unknown, ctx: EventContext) => {
        if (!accept) throw new NonRetriableError(`cannot take ${ctx.eventId} yet`);
        handled.push(ctx);
      }) as MessageHandler,
      true,
    );
    await new Promise<void>(
      (resolve, reject) => void server.listen((error?: unknown) => (error ? reject(error as Error) : resolve())),
    );
  }, 20_000);

  afterAll(async () => {
    await server?.close();
    await inspect?.close().catch(() => undefined);
    await injector?.close().catch(() => undefined);
    await publisher?.close();
    await connection?.close();
    await vhost?.drop();
  }, 20_000);

  it('lists, shows and tabulates a dead letter with two copies once, with its copy count', async () => {
    const twice = await deadLetter({ n: 'twice' });
    const once = await deadLetter({ n: 'once' });
    await copyInDlq(twice, 1);
    expect(await depth()).toBe(3);

    const list = await listDeadLetters(connection.current()!, QUEUE);
    expect(list).toMatchObject({ queue: DLQ, total: 3, deadLetters: 2 });
    expect(list.items.map((item) => [item.eventId, item.copies])).toEqual([
      [twice, 2],
      [once, 1],
    ]);
    expect(list.items[0]).toMatchObject({ reason: 'non_retriable', consumerQueue: QUEUE, attempts: 1 });
    expect((await showDeadLetter(connection.current()!, QUEUE, twice))?.copies).toBe(2);

    const table = await run('dlq', 'list', QUEUE);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/LAST FAILURE\s+COPIES/);
    expect(table.stdout).toContain(`2 of 2 dead letter(s) in ${DLQ} (3 message(s))`);
    expect(await depth()).toBe(3);
  });

  it('replays each event id once and removes its extra copy: the consumer gets it once', async () => {
    accept = true;
    const [twice, once] = (await listDeadLetters(connection.current()!, QUEUE)).items.map((item) => item.eventId!);
    const replayed = await run('dlq', 'replay', QUEUE, '--all');
    expect(replayed.code).toBe(0);
    expect(replayed.stdout).toContain(`replayed 2 message(s): ${twice}, ${once}`);
    expect(replayed.stdout).toContain('removed 1 extra copy(ies) without publishing');
    expect(await depth()).toBe(0);

    // Published after the replays were confirmed: once it is handled, a second replay of `twice` would have been too.
    const marker = await publishEvent(publisher, EXCHANGE, 'thing.copied', { n: 'marker' });
    await waitFor('the marker to be handled', () => handled.some((ctx) => ctx.eventId === marker));
    await waitFor('every delivery settled', () => observer.outcomes('ack') === 3 || undefined);
    expect(handled.map((ctx) => ctx.eventId).sort()).toEqual([twice, once, marker].sort());
    expect(observer.outcomes('ack')).toBe(3);
  });

  it('discards every copy of an id, but keeps a same-id dead letter with another body apart, and purges per id', async () => {
    accept = false;
    const reused = await deadLetter({ n: 'reused' });
    await copyInDlq(reused, 1);
    await copyInDlq(reused, 1, Buffer.from(JSON.stringify({ n: 'another payload' })));
    const kept = await deadLetter({ n: 'kept' });
    await copyInDlq(kept, 2);

    const list = await listDeadLetters(connection.current()!, QUEUE);
    expect(list).toMatchObject({ total: 6, deadLetters: 3 });
    expect(list.items.map((item) => [item.eventId, item.copies])).toEqual([
      [reused, 2],
      [reused, 1],
      [kept, 3],
    ]);

    expect(await discardDeadLetters(connection.current()!, QUEUE, [reused, 'no-such-id'])).toEqual({
      discarded: [reused],
      notFound: ['no-such-id'],
      messages: 3,
    });
    expect(await depth()).toBe(3);

    const purged = await run('dlq', 'purge', QUEUE, '--yes');
    expect(purged).toMatchObject({ code: 0, stdout: 'purged 1 dead letter(s) (3 message(s))\n' });
    expect(await depth()).toBe(0);
    const none = await replayDeadLetters(connection.current()!, QUEUE, { ids: [kept] });
    expect(none).toEqual({ replayed: [], removedCopies: 0, notFound: [kept], failed: [] });
    expect(await purgeDeadLetters(connection.current()!, QUEUE)).toEqual({ messages: 0, deadLetters: 0 });
  });

  it('discard by CLI needs ids and reports what it removed', async () => {
    const id = await deadLetter({ n: 'cli' });
    await copyInDlq(id, 1);
    expect((await run('dlq', 'discard', QUEUE)).code).toBe(2);
    const discarded = await run('dlq', 'discard', QUEUE, '--id', id);
    expect(discarded).toMatchObject({ code: 0, stdout: `discarded 1 dead letter(s) (2 message(s)): ${id}\n` });
    const missing = await run('dlq', 'discard', QUEUE, '--id', id);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`not found: ${id}`);
    expect(await depth()).toBe(0);
  });
});
