#!/usr/bin/env node
// `npm start`: runs the whole platform on this machine against local Postgres and RabbitMQ.
// Builds, creates the broker identities (rabbitmqctl) and each service's database if missing, applies migrations,
// starts both services, each under its own broker identity, with their logs interleaved and readable, prints their
// URLs, and stops both cleanly on Ctrl-C.
import { spawn, spawnSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { createConnection } from 'node:net';
import { createInterface } from 'node:readline';

const root = new URL('..', import.meta.url).pathname;

/** Where Postgres lives; each service gets its own database on it unless its own URL is given. */
const postgresUrl = process.env.POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const rabbitmqUrl = process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

const services = [
  {
    name: 'user-service',
    tag: '\x1b[36muser \x1b[0m',
    dir: 'services/user-service',
    port: Number(process.env.USER_SERVICE_PORT ?? 3001),
    metricsPort: Number(process.env.USER_SERVICE_METRICS_PORT ?? 9464),
    databaseUrl: process.env.USER_SERVICE_DATABASE_URL,
    defaultDatabase: 'switchyard_users',
  },
  {
    name: 'order-service',
    tag: '\x1b[35morder\x1b[0m',
    dir: 'services/order-service',
    port: Number(process.env.ORDER_SERVICE_PORT ?? 3002),
    metricsPort: Number(process.env.ORDER_SERVICE_METRICS_PORT ?? 9465),
    databaseUrl: process.env.ORDER_SERVICE_DATABASE_URL,
    defaultDatabase: 'switchyard_orders',
  },
];

function reachable(url, defaultPort) {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = createConnection({ host: hostname.replace(/^\[|\]$/g, ''), port: Number(port || defaultPort) });
    socket.setTimeout(2000);
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => (socket.destroy(), resolve(false)));
  });
}

const howToGetThem = `
  On Debian/Ubuntu, as root:   sudo bash scripts/install-infra.sh
  (installs postgresql and rabbitmq-server with apt-get if missing and starts both), or point
  POSTGRES_URL / RABBITMQ_URL at servers you already run.`;

if (!(await reachable(postgresUrl, 5432))) {
  console.error(`✖ PostgreSQL is not reachable at ${new URL(postgresUrl).host} (POSTGRES_URL).${howToGetThem}`);
  process.exit(1);
}
if (!(await reachable(rabbitmqUrl, 5672))) {
  console.error(`✖ RabbitMQ is not reachable at ${new URL(rabbitmqUrl).host} (RABBITMQ_URL).${howToGetThem}`);
  process.exit(1);
}

console.log('▶ building (prisma generate + tsc -b)');
const build = spawnSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);

// Each service connects as its own broker identity (README "Broker identities"), created or updated here with
// rabbitmqctl; the passwords come from BROKER_PASSWORD_<USER>, else ~/.config/switchyard/broker-passwords.json.
const { devBrokerPasswords, provisionBrokerIdentities } = await import('../packages/testing/dist/broker-identities.js');
const brokerPasswords = Object.fromEntries(
  Object.entries(devBrokerPasswords()).map(([user, password]) => [
    user,
    process.env[`BROKER_PASSWORD_${user.toUpperCase().replace(/-/g, '_')}`] || password,
  ]),
);
const brokerUrl = new URL(rabbitmqUrl);
const vhost = decodeURIComponent(brokerUrl.pathname.slice(1)) || '/';
try {
  await provisionBrokerIdentities({ vhost, passwords: brokerPasswords });
} catch (error) {
  console.error(
    `✖ could not create the broker identities in vhost '${vhost}': ${error.message}\n` +
      '  Run npm start as a user allowed to run rabbitmqctl (e.g. root), on the machine RabbitMQ runs on.',
  );
  process.exit(1);
}
for (const service of services) {
  const url = new URL(rabbitmqUrl);
  url.username = encodeURIComponent(service.name);
  url.password = encodeURIComponent(brokerPasswords[service.name]);
  service.rabbitmqUrl = url.toString();
}
console.log(`▶ broker identities user-service, order-service (vhost '${vhost}') are up to date`);

const { deployMigrations, ensureDatabase, ensureRuntimeRole, maskDatabaseUrl, runtimeRoleName, withDatabaseName } =
  await import('../packages/db-migrate/dist/index.js');
for (const service of services) {
  // Migrations run as the owner (the URL's user); the service itself runs as `<database>_app`, DML only.
  const ownerUrl = service.databaseUrl ?? withDatabaseName(postgresUrl, service.defaultDatabase);
  await ensureDatabase(ownerUrl);
  const role = runtimeRoleName(ownerUrl);
  // A fresh password each start: nothing to store, and it works whether the server trusts local logins or not.
  const password = randomBytes(18).toString('base64url');
  await ensureRuntimeRole({ ownerUrl, role, password });
  const { applied } = await deployMigrations({
    databaseUrl: ownerUrl,
    schemaPath: `${root}${service.dir}/prisma/schema.prisma`,
  });
  const runtimeUrl = new URL(ownerUrl);
  runtimeUrl.username = encodeURIComponent(role);
  runtimeUrl.password = password;
  service.databaseUrl = runtimeUrl.toString();
  console.log(
    `▶ ${service.name}: database ${maskDatabaseUrl(ownerUrl)}, ${applied.length ? `applied ${applied.join(', ')}` : 'migrations up to date'}; runs as ${role}`,
  );
}

/**
 * user-service signs tokens with this key. Made on the first run and kept (gitignored, readable only by you), so
 * tokens stay valid across restarts; delete the file to start over with a new key. Never used outside `npm start`.
 */
const devSigningKeyFile = process.env.AUTH_SIGNING_KEY_FILE ?? `${root}.switchyard/dev-signing-key.pem`;
if (!existsSync(devSigningKeyFile)) {
  mkdirSync(dirname(devSigningKeyFile), { recursive: true, mode: 0o700 });
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  writeFileSync(devSigningKeyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
  console.log(`▶ created a development signing key: ${devSigningKeyFile}`);
}
const serviceEnv = {
  'user-service': {
    AUTH_SIGNING_KEY_FILE: devSigningKeyFile,
    // Local development: every request, `switchyard load`'s sign-ups and logins included, comes from 127.0.0.1, which
    // the per-address limit (30 a minute by default) would soon refuse. Set RATE_LIMIT_PER_ADDRESS to try the limit.
    RATE_LIMIT_PER_ADDRESS: process.env.RATE_LIMIT_PER_ADDRESS ?? '1000000',
  },
  'order-service': {
    AUTH_JWKS_URL: process.env.AUTH_JWKS_URL ?? `http://127.0.0.1:${services[0].port}/.well-known/jwks.json`,
  },
};

const LEVELS = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO ',
  40: '\x1b[33mWARN \x1b[0m',
  50: '\x1b[31mERROR\x1b[0m',
  60: '\x1b[31mFATAL\x1b[0m',
};

/** One JSON log line as `time LEVEL message key=value…`; anything that is not JSON passes through. */
function readable(line) {
  let entry;
  try {
    entry = JSON.parse(line);
  } catch {
    return line;
  }
  const {
    level,
    time,
    msg,
    service: _service,
    pid: _pid,
    hostname: _hostname,
    req,
    res,
    responseTime,
    context,
    ...rest
  } = entry;
  const parts = [new Date(time).toISOString().slice(11, 23), LEVELS[level] ?? level];
  if (context) parts.push(`[${context}]`);
  if (req) parts.push(`${req.method} ${req.url}`);
  if (res) parts.push(`→ ${res.statusCode}${responseTime !== undefined ? ` ${responseTime} ms` : ''}`);
  parts.push(msg ?? '');
  for (const [key, value] of Object.entries(rest))
    parts.push(`${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`);
  return parts.join(' ');
}

const children = services.map((service) => {
  // The preload starts OpenTelemetry before the service loads; without OTEL_EXPORTER_OTLP_ENDPOINT it does nothing.
  const child = spawn(process.execPath, ['--import', '@switchyard/telemetry/register', 'dist/main.js'], {
    cwd: `${root}${service.dir}`,
    env: {
      ...process.env,
      ...serviceEnv[service.name],
      PORT: String(service.port),
      METRICS_PORT: String(service.metricsPort),
      DATABASE_URL: service.databaseUrl,
      RABBITMQ_URL: service.rabbitmqUrl,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', (line) => console.log(`${service.tag} │ ${readable(line)}`));
  }
  return {
    service,
    child,
    exited: new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal }))),
  };
});

let stopping = false;
async function stop(signal) {
  if (stopping) return;
  stopping = true;
  console.log(`\n▶ stopping (${signal})`);
  for (const { child } of children) if (child.exitCode === null) child.kill('SIGTERM');
  const results = await Promise.all(children.map((c) => c.exited));
  process.exit(results.every((r) => r.code === 0) ? 0 : 1);
}
process.on('SIGINT', () => void stop('SIGINT'));
process.on('SIGTERM', () => void stop('SIGTERM'));

// If one service dies on its own, stop the other: a half-running platform only confuses.
for (const { service, exited } of children) {
  exited.then(({ code, signal }) => {
    if (stopping) return;
    console.error(`✖ ${service.name} exited (${signal ?? code}); stopping the rest`);
    void stop('exit');
  });
}

async function ready(port) {
  for (let i = 0; i < 300 && !stopping; i++) {
    const response = await fetch(`http://127.0.0.1:${port}/health/ready`).catch(() => undefined);
    if (response?.status === 200) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
}

const allReady = await Promise.all(services.map((s) => ready(s.port)));
if (allReady.every(Boolean)) {
  console.log('\n  Switchyard is running (Ctrl-C stops it):');
  for (const service of services) {
    console.log(
      `    ${service.name.padEnd(14)} http://localhost:${service.port}   API docs http://localhost:${service.port}/docs   metrics http://localhost:${service.metricsPort}/metrics`,
    );
  }
  console.log('');
}
