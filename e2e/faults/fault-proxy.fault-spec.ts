// The fault proxy itself, against a local echo server: each mode does to real sockets what it says.
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { type FaultProxy, startFaultProxy, waitFor } from '@switchyard/testing';
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

interface Client {
  socket: Socket;
  received(): Buffer;
  closed: Promise<Error | undefined>;
}

describe('startFaultProxy', () => {
  let echo: Server;
  let proxy: FaultProxy;
  const clients: Socket[] = [];

  beforeAll(async () => {
    echo = createServer((socket) =>
      socket.on('data', (chunk) => socket.write(chunk)).on('error', () => undefined),
    ).listen(0, '127.0.0.1');
    await once(echo, 'listening');
    proxy = await startFaultProxy('test ⇄ echo', { port: (echo.address() as { port: number }).port });
  });
  afterEach(() => {
    proxy.passThrough();
    for (const socket of clients.splice(0)) socket.destroy();
  });
  afterAll(async () => {
    await proxy.close();
    await new Promise((resolve) => echo.close(resolve));
  });

  async function open(): Promise<Client> {
    const socket = connect(proxy.port, '127.0.0.1');
    clients.push(socket);
    let data = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => (data = Buffer.concat([data, chunk])));
    let closedWith: Error | undefined;
    socket.on('error', (error) => (closedWith = error));
    // Not events.once: it would reject on the 'error' that comes before 'close' on a reset.
    const closed = new Promise<Error | undefined>((resolve) => socket.on('close', () => resolve(closedWith)));
    await once(socket, 'connect');
    return { socket, received: () => data, closed };
  }

  it('passes bytes both ways', async () => {
    const client = await open();
    client.socket.write('hello');
    await waitFor('the echo', () => client.received().toString() === 'hello');
  });

  it('delays each chunk by the latency, keeping order', async () => {
    proxy.latency(150);
    const client = await open();
    const started = Date.now();
    client.socket.write('a');
    client.socket.write('b');
    await waitFor('the delayed echo', () => client.received().toString() === 'ab', 5_000);
    // Up and down: two delays.
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
  });

  it('blackholes: accepts, forwards nothing, closes nothing; when it lifts, the corrupted connection is reset and new ones work', async () => {
    const before = await open();
    proxy.blackhole();
    const during = await open();
    before.socket.write('lost');
    during.socket.write('lost too');
    await sleep(300);
    expect(before.received().length + during.received().length).toBe(0);
    expect(before.socket.destroyed || during.socket.destroyed).toBe(false);
    expect(proxy.stats().bytesDropped).toBeGreaterThanOrEqual(12);
    proxy.passThrough();
    expect((await before.closed)?.message).toMatch(/ECONNRESET/);
    await during.closed;
    const after = await open();
    after.socket.write('back');
    await waitFor('the echo after the blackhole', () => after.received().toString() === 'back');
  });

  it('drops chunks still delayed by latency when a blackhole starts, as a dark path drops packets in flight', async () => {
    proxy.latency(300);
    const client = await open();
    const before = proxy.stats();
    client.socket.write('in flight');
    await sleep(50);
    proxy.blackhole();
    await sleep(600);
    // Dropped on the way up: the echo server never got it (not merely its echo lost on the way down).
    expect(proxy.stats().bytesUp - before.bytesUp).toBe(0);
    expect(proxy.stats().bytesDropped - before.bytesDropped).toBe('in flight'.length);
    expect(client.received().length).toBe(0);
    proxy.passThrough();
    expect((await client.closed)?.message).toMatch(/ECONNRESET/);
  });

  it('refuses in reset mode: open connections and new ones are reset', async () => {
    const open1 = await open();
    proxy.setMode({ kind: 'reset' });
    expect((await open1.closed)?.message).toMatch(/ECONNRESET/);
    const refused = connect(proxy.port, '127.0.0.1');
    clients.push(refused);
    const error = await new Promise<Error | undefined>((resolve) =>
      refused.on('error', resolve).on('close', () => resolve(undefined)),
    );
    expect(error?.message ?? 'closed').toMatch(/ECONNRESET|closed/);
  });

  it('cuts a connection after N bytes (both directions together)', async () => {
    proxy.cutAfter(10);
    const client = await open();
    client.socket.write('0123456789abcdefghij');
    await client.closed;
    // 10 bytes went up; none were left for the echo on the way down.
    expect(client.received().length).toBe(0);
  });

  it('resets every open connection on demand, and new ones still work', async () => {
    const client = await open();
    proxy.resetConnections();
    expect((await client.closed)?.message).toMatch(/ECONNRESET/);
    const next = await open();
    next.socket.write('x');
    await waitFor('the echo on a new connection', () => next.received().toString() === 'x');
  });
});
