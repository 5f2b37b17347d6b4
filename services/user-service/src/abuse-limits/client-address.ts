import type { Request } from 'express';
import { isIP } from 'node:net';

/**
 * The address a request is counted against. The socket's peer, unless `trustProxy`: then the first hop of
 * `X-Forwarded-For` (the client as the proxy saw it; the proxy must overwrite, not append to, what clients send).
 * A header that is not an address counts against the proxy's own address: a shared bucket, never a free pass.
 */
export function clientAddressOf(request: Request, trustProxy: boolean): string {
  if (trustProxy) {
    const header = request.headers['x-forwarded-for'];
    const firstHop = (Array.isArray(header) ? header[0] : header)?.split(',')[0]?.trim();
    if (firstHop && isIP(firstHop) !== 0) return normaliseAddress(firstHop);
  }
  return normaliseAddress(request.socket.remoteAddress ?? 'unknown');
}

/** An IPv4 client on a dual-stack socket shows up as `::ffff:a.b.c.d`: one client, one key. */
function normaliseAddress(address: string): string {
  const lower = address.toLowerCase();
  return lower.startsWith('::ffff:') && isIP(lower.slice(7)) === 4 ? lower.slice(7) : lower;
}
