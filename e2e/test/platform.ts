import {
  createTestDatabase,
  createTestVhost,
  freePort,
  startServiceProcess,
  type ServiceProcess,
  type TestDatabase,
  type TestVhost,
  waitUntilReady,
} from '@switchyard/testing';
import { fileURLToPath } from 'node:url';

const service = (name: string) => ({
  main: fileURLToPath(new URL(`../../services/${name}/dist/main.js`, import.meta.url)),
  schema: fileURLToPath(new URL(`../../services/${name}/prisma/schema.prisma`, import.meta.url)),
});
const USER_SERVICE = service('user-service');
const ORDER_SERVICE = service('order-service');

export interface RunningService {
  url: string;
  port: number;
  /** Its `/metrics` listener (`METRICS_PORT`), apart from the API. */
  metricsUrl: string;
  process: ServiceProcess;
  env: NodeJS.ProcessEnv;
}

/**
 * The whole platform as a user runs it: both built services as processes, each on its own fresh database, sharing
 * one fresh RabbitMQ vhost. Retry tiers are shortened so failure paths finish within a test.
 */
export class Platform {
  users!: RunningService;
  orders!: RunningService;
  userDb!: TestDatabase;
  orderDb!: TestDatabase;
  vhost!: TestVhost;

  static async start(label: string, extraEnv: NodeJS.ProcessEnv = {}): Promise<Platform> {
    const platform = new Platform();
    [platform.userDb, platform.orderDb, platform.vhost] = await Promise.all([
      createTestDatabase(`${label}_users`, USER_SERVICE.schema),
      createTestDatabase(`${label}_orders`, ORDER_SERVICE.schema),
      createTestVhost(label),
    ]);
    // Each service connects as its own broker identity, as in production.
    const common = {
      MESSAGING_RETRY_DELAYS_MS: '200,400',
      LOG_LEVEL: 'info',
      // Every request comes from 127.0.0.1: user-service's per-address limits are for real clients, not these flows.
      RATE_LIMIT_PER_ADDRESS: '1000000',
      ...extraEnv,
    };
    [platform.users, platform.orders] = await Promise.all([
      platform.launch(USER_SERVICE.main, {
        RABBITMQ_URL: platform.vhost.identityUrl('user-service'),
        ...common,
        DATABASE_URL: platform.userDb.url,
      }),
      platform.launch(ORDER_SERVICE.main, {
        RABBITMQ_URL: platform.vhost.identityUrl('order-service'),
        ...common,
        DATABASE_URL: platform.orderDb.url,
      }),
    ]);
    return platform;
  }

  private async launch(main: string, env: NodeJS.ProcessEnv): Promise<RunningService> {
    const [port, metricsPort] = [await freePort(), await freePort()];
    const fullEnv = { ...env, PORT: String(port), METRICS_PORT: String(metricsPort) };
    const process = startServiceProcess(main, fullEnv);
    await waitUntilReady(process, port);
    return {
      url: `http://127.0.0.1:${port}`,
      port,
      metricsUrl: `http://127.0.0.1:${metricsPort}`,
      process,
      env: fullEnv,
    };
  }

  /** Restarts one service on the same database, vhost and port (a crash and a redeploy look like this). */
  async restart(which: 'users' | 'orders', signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const running = this[which];
    running.process.child.kill(signal);
    await running.process.exit;
    const process = startServiceProcess(which === 'users' ? USER_SERVICE.main : ORDER_SERVICE.main, running.env);
    await waitUntilReady(process, running.port);
    this[which] = { ...running, process };
  }

  async stop(): Promise<void> {
    for (const running of [this.users, this.orders]) {
      if (running && running.process.child.exitCode === null) {
        running.process.child.kill('SIGTERM');
        await running.process.exit;
      }
    }
    await Promise.all([this.userDb?.drop(), this.orderDb?.drop(), this.vhost?.drop()]);
  }
}

export async function http<T = Record<string, unknown>>(
  base: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: T }> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : undefined) as T };
}
