import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { errorMessage } from '../errors.js';

/** What /readyz reports: ready, or not with the reason a human reading `kubectl describe pod` needs. */
export interface Readiness {
  ready: boolean;
  detail: Record<string, unknown>;
}

export interface OperatorHttpServerOptions {
  port: number;
  /** Loopback in tests; all interfaces in a pod so the kubelet and Prometheus reach it. */
  host?: string;
  registry: Registry;
  readiness: () => Readiness;
}

/**
 * The operator's only HTTP surface: GET /healthz (the process and its event loop answer), GET /readyz (see
 * `Readiness`) and GET /metrics (Prometheus text format). Anything else is a 404 or 405 with a JSON body.
 */
export class OperatorHttpServer {
  private readonly server: Server;

  constructor(private readonly options: OperatorHttpServerOptions) {
    this.server = createServer((request, response) => {
      this.handle(request, response).catch((error: unknown) => send(response, 500, { error: errorMessage(error) }));
    });
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port, this.options.host ?? '0.0.0.0', () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    return (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    if (!this.server.listening) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    const known = path === '/healthz' || path === '/readyz' || path === '/metrics';
    if (!known) return send(response, 404, { error: `no route ${path}; try /healthz, /readyz or /metrics` });
    if (request.method !== 'GET' && request.method !== 'HEAD')
      return send(response, 405, { error: `${request.method} not allowed on ${path}; use GET` });
    if (path === '/healthz') return send(response, 200, { status: 'ok' });
    if (path === '/readyz') {
      const { ready, detail } = this.options.readiness();
      return send(response, ready ? 200 : 503, { status: ready ? 'ready' : 'not ready', ...detail });
    }
    const text = await this.options.registry.metrics();
    response.writeHead(200, { 'content-type': this.options.registry.contentType });
    response.end(text);
  }
}

function send(response: ServerResponse, status: number, body: Record<string, unknown>): void {
  if (response.headersSent) return void response.end();
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}
