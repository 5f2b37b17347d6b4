// The built images run as the pods run them (read-only root, UID 10001, no capabilities, no privilege escalation),
// against the machine's real Postgres and RabbitMQ: migrations through the image's own `npx switchyard-migrate`,
// both services ready, a user → profile → order → statistics flow between the two containers, and `docker stop`
// within the charts' grace period ending each with exit code 0.
//
// Networks: the migration containers sit on an `--internal` bridge (no route out of its subnet, no external DNS).
// The only thing reachable on it is a TCP forwarder this test opens on the bridge's gateway address, which leads to
// Postgres and nowhere else; a probe container on the same network proves the npm registry is out of reach. So a
// migration that passes proves npx found switchyard-migrate in the image and never asked a registry.
// The services run with --network host (Postgres and RabbitMQ listen on 127.0.0.1 here); they talk to each other
// only through RabbitMQ, as in the cluster.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { dropDatabase, ensureDatabase, withDatabaseName } from '@switchyard/db-migrate';
import {
  createTestVhost,
  freePort,
  TEST_POSTGRES_URL,
  type TestVhost,
  waitFor,
  writeTestSigningKey,
} from '@switchyard/testing';
import { randomBytes } from 'node:crypto';
import { chmodSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { parse } from 'yaml';
import { docker, DockerScope, image, logsOf, POD_SECURITY, requireImages, stopWithin } from './docker-cli.js';

const SERVICES = ['user-service', 'order-service'] as const;
type ServiceName = (typeof SERVICES)[number];

/** A migration in a container (node start-up, the Wasm schema engine, a few migrations): 2 minutes at most. */
const MIGRATE_TIMEOUT_MS = 120_000;
/** A service container to /health/ready on a loaded 2-core machine: 90 s. */
const READY_TIMEOUT_MS = 90_000;
/** An event crossing the broker between the two containers: 30 s. */
const EVENT_TIMEOUT_MS = 30_000;
/** Where user-service's signing key is mounted, as a Secret volume would be. */
const SIGNING_KEY_DIR = '/var/run/secrets/switchyard/auth';

/** What the chart sets: terminationGracePeriodSeconds and the shutdown timings the service reads from its ConfigMap. */
function chartSettings(service: ServiceName): {
  graceSeconds: number;
  shutdownDelayMs: number;
  shutdownTimeoutMs: number;
} {
  const values = parse(readFileSync(new URL(`../../charts/${service}/values.yaml`, import.meta.url), 'utf8')) as {
    terminationGracePeriodSeconds: number;
    shutdown: { delayMs: number; timeoutMs: number };
  };
  return {
    graceSeconds: values.terminationGracePeriodSeconds,
    shutdownDelayMs: values.shutdown.delayMs,
    shutdownTimeoutMs: values.shutdown.timeoutMs,
  };
}

/** Forwards TCP from `host:<ephemeral port>` to Postgres, and only there. */
async function startPostgresForwarder(host: string): Promise<{ server: Server; port: number; sockets: Set<Socket> }> {
  const target = new URL(TEST_POSTGRES_URL);
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect({ host: target.hostname, port: Number(target.port || 5432) });
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, resolve);
  });
  return { server, port: (server.address() as { port: number }).port, sockets };
}

interface RunningService {
  container: string;
  url: string;
}

const scope = new DockerScope('platform');
const suffix = `${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
const databases: Record<ServiceName, string> = {
  'user-service': withDatabaseName(TEST_POSTGRES_URL, `switchyard_test_ctr_users_${suffix}`),
  'order-service': withDatabaseName(TEST_POSTGRES_URL, `switchyard_test_ctr_orders_${suffix}`),
};
let vhost: TestVhost | undefined;
let forwarder: Awaited<ReturnType<typeof startPostgresForwarder>> | undefined;
let offline: Awaited<ReturnType<DockerScope['network']>>;
const running = {} as Record<ServiceName, RunningService>;

beforeAll(async () => {
  await requireImages(SERVICES);
  await Promise.all(Object.values(databases).map((url) => ensureDatabase(url)));
  vhost = await createTestVhost('containers');
  offline = await scope.network('offline', { internal: true });
  forwarder = await startPostgresForwarder(offline.gateway);
}, 120_000);

afterAll(async () => {
  await scope.cleanup();
  for (const socket of forwarder?.sockets ?? []) socket.destroy();
  await new Promise((resolve) => (forwarder ? forwarder.server.close(resolve) : resolve(undefined)));
  await Promise.all(Object.values(databases).map((url) => dropDatabase(url).catch(() => undefined)));
  await vhost?.drop();
}, 120_000);

async function status(url: string): Promise<number | undefined> {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(5_000) })).status;
  } catch {
    return undefined;
  }
}

async function http<T>(
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
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : undefined) as T };
}

describe('the service images, run as the pods run them', () => {
  it('the migration network reaches Postgres through the forwarder and no registry', async () => {
    // Same image, same network as the migrations: the registry must be out of reach (no DNS, no route), while the
    // forwarder on the gateway answers.
    const probe = await scope.runToEnd(
      'probe',
      [
        ...POD_SECURITY,
        '--network',
        offline.name,
        '--entrypoint',
        'node',
        image('user-service'),
        '-e',
        `const net = require('node:net');
         const tryConnect = (host, port) => new Promise((resolve) => {
           const s = net.connect({ host, port, timeout: 5000 });
           s.on('connect', () => { s.destroy(); resolve('open'); });
           s.on('timeout', () => { s.destroy(); resolve('timeout'); });
           s.on('error', (e) => resolve(e.code));
         });
         (async () => {
           const registry = await fetch('https://registry.npmjs.org/npm', { signal: AbortSignal.timeout(10000) }).then((r) => 'answered ' + r.status, (e) => 'failed ' + (e.cause?.code ?? e.name));
           const postgres = await tryConnect('${offline.gateway}', ${forwarder!.port});
           console.log(JSON.stringify({ registry, postgres }));
         })();`,
      ],
      60_000,
    );
    expect(probe.code).toBe(0);
    const seen = JSON.parse(probe.stdout.trim().split('\n').at(-1)!) as { registry: string; postgres: string };
    expect(seen.postgres).toBe('open');
    expect(seen.registry).toMatch(/^failed /);
  }, 90_000);

  it.each(SERVICES)(
    '%s: `npx switchyard-migrate deploy` applies the migrations with only Postgres reachable',
    async (service) => {
      const { pathname } = new URL(databases[service]);
      const url = `postgresql://postgres@${offline.gateway}:${forwarder!.port}${pathname}`;
      // The chart's migration Job, command and all.
      const result = await scope.runToEnd(
        `migrate-${service}`,
        [
          ...POD_SECURITY,
          '--network',
          offline.name,
          '-e',
          `DATABASE_URL=${url}`,
          image(service),
          'npx',
          'switchyard-migrate',
          'deploy',
          '--schema',
          'prisma/schema.prisma',
        ],
        MIGRATE_TIMEOUT_MS,
      );
      expect({ code: result.code, output: `${result.stdout}${result.stderr}` }).toEqual({
        code: 0,
        output: expect.stringMatching(/migration/i),
      });
    },
    MIGRATE_TIMEOUT_MS + 10_000,
  );

  it(
    'both services become ready on their migrated databases',
    async () => {
      // user-service's signing key, mounted read-only as the chart mounts its Secret (world-readable like a Secret
      // volume's default mode: the image runs as 10001, the test as whoever made the file).
      const keyFile = writeTestSigningKey('sec1');
      chmodSync(keyFile, 0o444);
      chmodSync(dirname(keyFile), 0o755);
      const auth: Record<ServiceName, (usersPort: number) => string[]> = {
        'user-service': () => [
          ...['-v', `${dirname(keyFile)}:${SIGNING_KEY_DIR}:ro`],
          ...['-e', `AUTH_SIGNING_KEY_FILE=${SIGNING_KEY_DIR}/signing-key.pem`],
        ],
        // Host networking: order-service reaches user-service's JWKS on the loopback.
        'order-service': (usersPort) => ['-e', `AUTH_JWKS_URL=http://127.0.0.1:${usersPort}/.well-known/jwks.json`],
      };
      let usersPort = 0;
      for (const service of SERVICES) {
        const port = await freePort();
        if (service === 'user-service') usersPort = port;
        const { shutdownDelayMs, shutdownTimeoutMs } = chartSettings(service);
        const container = await scope.start(service, [
          ...POD_SECURITY,
          '--network',
          'host',
          '-e',
          `PORT=${port}`,
          '-e',
          `DATABASE_URL=${databases[service]}`,
          '-e',
          `RABBITMQ_URL=${vhost!.identityUrl(service)}`,
          '-e',
          `SHUTDOWN_DELAY_MS=${shutdownDelayMs}`,
          '-e',
          `SHUTDOWN_TIMEOUT_MS=${shutdownTimeoutMs}`,
          '-e',
          'LOG_LEVEL=info',
          ...auth[service](usersPort),
          image(service),
        ]);
        running[service] = { container, url: `http://127.0.0.1:${port}` };
      }
      for (const service of SERVICES) {
        const { container, url } = running[service];
        try {
          await waitFor(
            `${service} /health/ready`,
            async () => (await status(`${url}/health/ready`)) === 200,
            READY_TIMEOUT_MS,
            250,
          );
        } catch (error) {
          throw new Error(`${String(error)}\n--- docker logs ${container}:\n${await logsOf(container)}`, {
            cause: error,
          });
        }
        expect(await status(`${url}/health/live`)).toBe(200);
        expect(
          await docker(['inspect', '--format', '{{.Config.User}} {{.HostConfig.ReadonlyRootfs}}', container]),
        ).toBe('10001:10001 true\n');
      }
    },
    2 * READY_TIMEOUT_MS + 30_000,
  );

  it(
    'a user becomes a customer, orders, and the order is counted in the user’s statistics',
    async () => {
      const users = running['user-service'].url;
      const orders = running['order-service'].url;
      const credentials = { email: `ctr.${suffix}@example.com`, password: 'a decent passphrase' };
      const created = await http<{ id: string; email: string }>(users, 'POST', '/users', {
        ...credentials,
        name: 'Container Flow',
      });
      expect(created.status).toBe(201);
      const userId = created.body.id;
      const issued = await http<{ access_token: string }>(users, 'POST', '/auth/token', credentials);
      expect(issued.status).toBe(200);
      const token = issued.body.access_token;

      const customer = await waitFor(
        'the profile to reach order-service',
        async () => {
          const response = await http<{ userId: string; email: string }>(
            orders,
            'GET',
            `/customers/${userId}`,
            undefined,
            token,
          );
          return response.status === 200 ? response.body : undefined;
        },
        EVENT_TIMEOUT_MS,
        200,
      );
      expect(customer).toMatchObject({ userId, email: created.body.email });

      const placed = await http<{ id: string }>(
        orders,
        'POST',
        '/orders',
        { userId, items: [{ sku: 'BOOK', quantity: 2, unitPriceCents: 1500 }] },
        token,
      );
      expect(placed.status).toBe(201);

      const user = await waitFor(
        'the order counted by user-service',
        async () => {
          const response = await http<{ orderCount: number }>(users, 'GET', `/users/${userId}`, undefined, token);
          return response.body.orderCount === 1 ? response.body : undefined;
        },
        EVENT_TIMEOUT_MS,
        200,
      );
      expect(user.orderCount).toBe(1);
    },
    2 * EVENT_TIMEOUT_MS + 20_000,
  );

  it.each(SERVICES)(
    '%s: docker stop ends it with exit code 0 within the chart’s grace period',
    async (service) => {
      const { graceSeconds } = chartSettings(service);
      const { container } = running[service];
      const stopped = await stopWithin(container, graceSeconds);
      const logs = stopped.exitCode === 0 ? '' : await logsOf(container);
      expect({ exitCode: stopped.exitCode, oomKilled: stopped.oomKilled, logs }).toEqual({
        exitCode: 0,
        oomKilled: false,
        logs: '',
      });
      // A SIGKILL at the deadline would show as 137; this also shows there was time to spare.
      expect(stopped.elapsedMs).toBeLessThan(graceSeconds * 1000);
    },
    90_000,
  );
});
