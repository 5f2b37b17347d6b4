// A TCP proxy of our own for fault injection (Toxiproxy is a Go binary that cannot be installed here). One proxy is
// one link, e.g. "user-service → RabbitMQ": the service is given the proxy's port, and the test changes what the
// link does at runtime. Real sockets on both sides; only the bytes in between are delayed, dropped or cut.
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';

/** What the link does to the bytes (and connections) passing through it from now on. */
export type FaultMode =
  /** Forward everything both ways. */
  | { kind: 'pass' }
  /**
   * Forward everything, each chunk `ms` later, order kept. A chunk still delayed when the link turns to `blackhole`
   * or `reset` is dropped, as packets in flight are on a path that goes dark.
   */
  | { kind: 'latency'; ms: number }
  /**
   * Accept connections, forward nothing either way (bytes are dropped), close nothing: a silently dead network
   * path. Connections that lost bytes are reset when the blackhole lifts (their streams are corrupt), as the peers'
   * heartbeats or TCP timeouts would have done anyway.
   */
  | { kind: 'blackhole' }
  /** Refuse: open connections and every new one are reset at once (RST), as by a firewall rejecting the port. */
  | { kind: 'reset' }
  /** Forward `bytes` more bytes per connection (both directions together), then reset it; new ones likewise. */
  | { kind: 'cutAfter'; bytes: number };

export interface FaultProxyStats {
  /** Connections accepted since the start. */
  accepted: number;
  /** Connections open now. */
  open: number;
  /** Bytes forwarded client → server and server → client. */
  bytesUp: number;
  bytesDown: number;
  /** Bytes dropped by a blackhole. */
  bytesDropped: number;
}

export interface FaultProxy {
  /** Name of the link, for logs and reports. */
  readonly name: string;
  /** Port on 127.0.0.1 to give the client instead of the target's. */
  readonly port: number;
  mode(): FaultMode;
  setMode(mode: FaultMode): void;
  passThrough(): void;
  latency(ms: number): void;
  blackhole(): void;
  /** Resets (RST) every open connection now; the mode stays as it is, so new connections still work in `pass`. */
  resetConnections(): void;
  cutAfter(bytes: number): void;
  stats(): FaultProxyStats;
  close(): Promise<void>;
}

interface Link {
  client: Socket;
  upstream: Socket;
  /** Bytes this connection may still forward in `cutAfter` mode. */
  budget: number;
  /** Bytes were dropped: the stream is corrupt and cannot resume. */
  tainted: boolean;
  /** When the last delayed chunk of each direction goes out, so latency keeps order. */
  upDueAt: number;
  downDueAt: number;
}

export async function startFaultProxy(name: string, target: { host?: string; port: number }): Promise<FaultProxy> {
  const host = target.host ?? '127.0.0.1';
  let current: FaultMode = { kind: 'pass' };
  const links = new Set<Link>();
  const stats: FaultProxyStats = { accepted: 0, open: 0, bytesUp: 0, bytesDown: 0, bytesDropped: 0 };

  const destroy = (link: Link): void => {
    if (!links.delete(link)) return;
    stats.open = links.size;
    // resetAndDestroy sends RST, as a real cut does; a FIN would look like a polite close.
    for (const socket of [link.client, link.upstream]) {
      if (socket.destroyed) continue;
      if (socket.readyState === 'open') socket.resetAndDestroy();
      else socket.destroy();
    }
  };

  const drop = (link: Link, chunk: Buffer): void => {
    stats.bytesDropped += chunk.length;
    link.tainted = true;
  };

  const forward = (link: Link, chunk: Buffer, direction: 'up' | 'down'): void => {
    const to = direction === 'up' ? link.upstream : link.client;
    switch (current.kind) {
      case 'blackhole':
      case 'reset':
        drop(link, chunk);
        return;
      case 'cutAfter': {
        const allowed = chunk.subarray(0, Math.max(0, link.budget));
        link.budget -= allowed.length;
        if (allowed.length > 0) write(link, to, allowed, direction);
        if (link.budget <= 0) destroy(link);
        return;
      }
      case 'latency': {
        const key = direction === 'up' ? 'upDueAt' : 'downDueAt';
        const dueAt = Math.max(Date.now() + current.ms, link[key]);
        link[key] = dueAt;
        setTimeout(() => {
          if (current.kind === 'blackhole' || current.kind === 'reset') drop(link, chunk);
          else write(link, to, chunk, direction);
        }, dueAt - Date.now());
        return;
      }
      case 'pass':
        write(link, to, chunk, direction);
    }
  };

  const write = (link: Link, to: Socket, chunk: Buffer, direction: 'up' | 'down'): void => {
    if (to.destroyed) return;
    if (direction === 'up') stats.bytesUp += chunk.length;
    else stats.bytesDown += chunk.length;
    to.write(chunk);
  };

  const server: Server = createServer((client) => {
    stats.accepted++;
    if (current.kind === 'reset') {
      client.resetAndDestroy();
      return;
    }
    const upstream = connect(target.port, host);
    const link: Link = {
      client,
      upstream,
      budget: current.kind === 'cutAfter' ? current.bytes : 0,
      tainted: false,
      upDueAt: 0,
      downDueAt: 0,
    };
    links.add(link);
    stats.open = links.size;
    client.on('data', (chunk: Buffer) => forward(link, chunk, 'up'));
    upstream.on('data', (chunk: Buffer) => forward(link, chunk, 'down'));
    // Either side going away takes the other with it, as on a real path.
    for (const socket of [client, upstream]) socket.on('close', () => destroy(link)).on('error', () => destroy(link));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };

  const setMode = (mode: FaultMode): void => {
    const leaving = current;
    current = mode;
    if (mode.kind === 'cutAfter') for (const link of links) link.budget = mode.bytes;
    if (mode.kind === 'reset') for (const link of [...links]) destroy(link);
    if ((leaving.kind === 'blackhole' || leaving.kind === 'reset') && mode.kind !== 'blackhole') {
      for (const link of [...links]) if (link.tainted) destroy(link);
    }
  };

  return {
    name,
    port,
    mode: () => current,
    setMode,
    passThrough: () => setMode({ kind: 'pass' }),
    latency: (ms) => setMode({ kind: 'latency', ms }),
    blackhole: () => setMode({ kind: 'blackhole' }),
    resetConnections: () => {
      for (const link of [...links]) destroy(link);
    },
    cutAfter: (bytes) => setMode({ kind: 'cutAfter', bytes }),
    stats: () => ({ ...stats }),
    close: async () => {
      for (const link of [...links]) destroy(link);
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
