import {
  createTestDatabase,
  createTestVhost,
  freePort,
  type SignedUpUser,
  signUpAndGetToken,
  startServiceProcess,
  type ServiceProcess,
  type TestDatabase,
  type TestVhost,
  waitUntilReady,
  writeTestSigningKey,
} from '@switchyard/testing';
import { randomUUID } from 'node:crypto';
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
 * one fresh RabbitMQ vhost. Retry tiers are shortened so failure paths finish within a test. Authentication is on:
 * user-service signs with a key of its own, order-service verifies against user-service's JWKS, and one email
 * (`adminEmail`) is an admin.
 */
export class Platform {
  users!: RunningService;
  orders!: RunningService;
  userDb!: TestDatabase;
  orderDb!: TestDatabase;
  vhost!: TestVhost;
  /** In user-service's `ADMIN_EMAILS`: whoever signs up with it gets the `admin` role (see `signUpAdmin`). */
  readonly adminEmail = `admin.${randomUUID()}@example.com`;

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
    // user-service's port is chosen first so order-service can be told where the JWKS is; it fetches it on the first
    // token it sees, so both can start at once.
    const usersPort = await freePort();
    [platform.users, platform.orders] = await Promise.all([
      platform.launch(
        USER_SERVICE.main,
        {
          RABBITMQ_URL: platform.vhost.identityUrl('user-service'),
          AUTH_SIGNING_KEY_FILE: writeTestSigningKey(),
          ADMIN_EMAILS: platform.adminEmail,
          ...common,
          DATABASE_URL: platform.userDb.url,
        },
        usersPort,
      ),
      platform.launch(ORDER_SERVICE.main, {
        RABBITMQ_URL: platform.vhost.identityUrl('order-service'),
        AUTH_JWKS_URL: `http://127.0.0.1:${usersPort}/.well-known/jwks.json`,
        ...common,
        DATABASE_URL: platform.orderDb.url,
      }),
    ]);
    return platform;
  }

  /** Signs a new user up at user-service and logs it in. */
  signUp(user: { email?: string; name?: string; password?: string } = {}): Promise<SignedUpUser> {
    return signUpAndGetToken(this.users.url, user);
  }

  /** Signs up the admin (once per platform; later calls throw, as the email is taken). */
  signUpAdmin(): Promise<SignedUpUser> {
    return signUpAndGetToken(this.users.url, { email: this.adminEmail, name: 'Admin' });
  }

  private async launch(main: string, env: NodeJS.ProcessEnv, port?: number): Promise<RunningService> {
    port ??= await freePort();
    const metricsPort = await freePort();
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

/** One JSON request; with `token`, as that user (`Authorization: Bearer`). */
export async function http<T = Record<string, unknown>>(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  token?: string,
): Promise<{ status: number; body: T }> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : undefined) as T };
}
