import type { OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { ServiceMetrics } from '@switchyard/telemetry';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * `GET /metrics` on a port of its own (`METRICS_PORT`), apart from the API: the NetworkPolicy can then let only
 * Prometheus reach it, and the API Service never exposes it. Listens when the app initialises, closes with the app.
 */
export class MetricsServer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly server: Server;

  constructor(
    private readonly metrics: ServiceMetrics,
    /** `METRICS_PORT`; 0 takes a free port (tests). */
    private readonly requestedPort: number,
    private readonly host = '0.0.0.0',
  ) {
    this.server = createServer((req, res) => void this.answer(req, res));
  }

  /** The port it listens on (the one picked when 0 was asked for); undefined before listening. */
  get port(): number | undefined {
    const address = this.server.address() as AddressInfo | null;
    return address?.port;
  }

  /** The listening server, e.g. for supertest. */
  get httpServer(): Server {
    return this.server;
  }

  async onApplicationBootstrap(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.requestedPort, this.host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
  }

  async onApplicationShutdown(): Promise<void> {
    if (!this.server.listening) return;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    // Prometheus keeps its connection alive between scrapes; do not let an idle one hold the close up.
    this.server.closeAllConnections();
    await closed;
  }

  private async answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics') return void res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return void res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain' }).end('method not allowed\n');
    }
    try {
      const { contentType, body } = await this.metrics.scrape();
      res.writeHead(200, { 'Content-Type': contentType }).end(req.method === 'HEAD' ? undefined : body);
    } catch {
      // Telemetry never throws past here: a failed scrape is a 500 for Prometheus, never a crashed process.
      res.writeHead(500, { 'Content-Type': 'text/plain' }).end('scrape failed\n');
    }
  }
}
