// A TCP proxy in front of the broker that a test can freeze: while frozen, nothing the broker sends reaches the
// client (confirms, heartbeats), as on a stalled network path. Real broker, real amqplib, only the wire held.
import { createServer, type Server, type Socket, connect } from 'node:net';
import { once } from 'node:events';

export interface TcpProxy {
  port: number;
  /** Hold everything the broker sends from now on. */
  freeze(): void;
  /** Deliver what was held and go on forwarding. */
  thaw(): void;
  /** Drop every open connection mid-stream (what was held is lost), as a network cut would; new ones work. */
  cut(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number, targetHost = '127.0.0.1', listenPort = 0): Promise<TcpProxy> {
  let frozen = false;
  const pairs = new Set<{ client: Socket; upstream: Socket; held: Buffer[] }>();
  const server: Server = createServer((client) => {
    const upstream = connect(targetPort, targetHost);
    const pair = { client, upstream, held: [] as Buffer[] };
    pairs.add(pair);
    client.on('data', (chunk: Buffer) => upstream.write(chunk));
    upstream.on('data', (chunk: Buffer) => (frozen ? pair.held.push(chunk) : client.write(chunk)));
    const end = (): void => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  server.listen(listenPort, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  return {
    port,
    freeze: () => {
      frozen = true;
    },
    thaw: () => {
      frozen = false;
      for (const pair of pairs) for (const chunk of pair.held.splice(0)) pair.client.write(chunk);
    },
    cut: () => {
      frozen = false;
      for (const pair of [...pairs]) {
        pair.held.length = 0;
        pair.client.destroy();
        pair.upstream.destroy();
      }
    },
    close: async () => {
      for (const pair of pairs) {
        pair.client.destroy();
        pair.upstream.destroy();
      }
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
