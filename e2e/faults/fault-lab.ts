// The fault suite's own infrastructure. It stops brokers, raises memory alarms and restarts Postgres, so it never
// uses the shared RabbitMQ (rabbit@localhost:5672) or Postgres (5432) other tests run against: it starts a private
// RabbitMQ node and a private Postgres cluster, and puts a fault proxy on every link between a service and them.
// e2e/test/platform.ts is not reused as is because it creates its databases and vhost on the shared servers; the
// process handling (startServiceProcess / waitUntilReady) is the same.
import { deployMigrations } from '@switchyard/db-migrate';
import {
  type FaultProxy,
  type PrivatePostgres,
  type PrivateRabbitMq,
  type ServiceProcess,
  BROKER_IDENTITIES,
  brokerIdentityDefinitions,
  freePort,
  startFaultProxy,
  startPrivatePostgres,
  startPrivateRabbitMq,
  startServiceProcess,
  waitUntilReady,
  writeTestSigningKey,
} from '@switchyard/testing';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { RssSampler } from './rss-sampler.js';

export type ServiceName = 'users' | 'orders';

const SERVICES: Record<ServiceName, { main: string; schema: string; dir: string }> = {
  users: entry('user-service'),
  orders: entry('order-service'),
};

function entry(dir: string): { main: string; schema: string; dir: string } {
  return {
    dir,
    main: fileURLToPath(new URL(`../../services/${dir}/dist/main.js`, import.meta.url)),
    schema: fileURLToPath(new URL(`../../services/${dir}/prisma/schema.prisma`, import.meta.url)),
  };
}

/**
 * Heartbeat of the services' AMQP connections in this suite: a blackholed link is noticed within about two of
 * them (amqplib drops the connection after two missed heartbeats), so every blackhole here lasts longer than that.
 */
export const HEARTBEAT_SECONDS = 5;

/**
 * Test-only audit of effects: a trigger logs every row a consumer writes for an event (insert or update), so an
 * effect applied twice shows up as two log rows for one key even though the upsert itself leaves the same state.
 * It lives in its own schema, beside (not in) the service's migrated schema.
 */
const EFFECT_AUDIT = (table: string, keyColumn: string): string => `
  CREATE SCHEMA faults;
  CREATE TABLE faults.effects (key uuid NOT NULL, op text NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp());
  CREATE FUNCTION faults.log_effect() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN INSERT INTO faults.effects (key, op) VALUES (NEW.${keyColumn}, TG_OP); RETURN NEW; END $$;
  CREATE TRIGGER log_effect AFTER INSERT OR UPDATE ON public.${table} FOR EACH ROW EXECUTE FUNCTION faults.log_effect();`;

/**
 * Log lines that mean a process crashed or was about to: pino `fatal`, Node's unhandled `error` event and
 * unhandled rejection / uncaught exception reports, V8's fatal errors. (Postgres's own `severity: 'FATAL'` inside a
 * logged, handled query error is not one of them.)
 */
const CRASH_SIGNS =
  /"level":60|Unhandled 'error' event|uncaughtException|Uncaught |unhandledRejection|UnhandledPromiseRejection|FATAL ERROR:|Segmentation fault/;

/** Where each service's consumed events leave their effect. */
const AUDITED: Record<ServiceName, { table: string; key: string }> = {
  // order.placed → one user_orders row per order
  users: { table: 'user_orders', key: 'order_id' },
  // user.created → one customer_profiles row per user
  orders: { table: 'customer_profiles', key: 'user_id' },
};

/** The private broker and database, shared by every scenario of one run (each scenario gets fresh vhost and databases). */
export class FaultLab {
  private constructor(
    readonly rabbit: PrivateRabbitMq,
    readonly postgres: PrivatePostgres,
  ) {}

  static async start(): Promise<FaultLab> {
    const [rabbit, postgres] = await Promise.allSettled([
      startPrivateRabbitMq('faults'),
      startPrivatePostgres('faults'),
    ]);
    if (rabbit.status === 'rejected' || postgres.status === 'rejected') {
      if (rabbit.status === 'fulfilled') await rabbit.value.stop();
      if (postgres.status === 'fulfilled') await postgres.value.stop();
      throw rabbit.status === 'rejected' ? rabbit.reason : (postgres as PromiseRejectedResult).reason;
    }
    return new FaultLab(rabbit.value, postgres.value);
  }

  async stop(): Promise<void> {
    await Promise.allSettled([this.rabbit.stop(), this.postgres.stop()]);
  }
}

export interface RunningService {
  name: ServiceName;
  url: string;
  port: number;
  /** Its `/metrics` listener (`METRICS_PORT`), apart from the API. */
  metricsUrl: string;
  process: ServiceProcess;
  /** Every process this service ran as in the scenario (a restart adds one); the last is the live one. */
  history: Array<{ process: ServiceProcess; killedOnPurpose: boolean }>;
  env: NodeJS.ProcessEnv;
  database: string;
  /** service ⇄ RabbitMQ and service ⇄ Postgres. */
  brokerLink: FaultProxy;
  databaseLink: FaultProxy;
  /**
   * The outbox relay's own link to Postgres (its pool and LISTEN connection, through `MESSAGING_RELAY_DATABASE_URL`),
   * only with {@link PlatformOptions.separateRelayLink}; otherwise the relay shares `databaseLink`.
   */
  relayDatabaseLink?: FaultProxy;
}

export interface PlatformOptions {
  /** Give each service's outbox relay a database link (and proxy) of its own, so a fault can hit only the relay. */
  separateRelayLink?: boolean;
  /** Added to both services' environment (the soak lowers their log level with it). */
  extraEnv?: NodeJS.ProcessEnv;
}

/** Both services for one scenario: fresh databases and vhost on the private servers, every link through a proxy. */
export class FaultPlatform {
  readonly services = {} as Record<ServiceName, RunningService>;
  readonly rss = new RssSampler();
  /** What a fault observed at the moment it struck (e.g. outbox rows unsent at a kill), for the report. */
  readonly evidence: Record<string, number> = {};
  /** user-service's signing key; order-service verifies against user-service's JWKS. */
  private readonly signingKeyFile = writeTestSigningKey();
  /** Passwords of the broker identities on the private node. */
  readonly brokerPasswords: Record<string, string> = Object.fromEntries(
    BROKER_IDENTITIES.map((user) => [user, randomBytes(12).toString('hex')]),
  );

  private constructor(
    readonly lab: FaultLab,
    readonly label: string,
  ) {}

  static async start(lab: FaultLab, label: string, options: PlatformOptions = {}): Promise<FaultPlatform> {
    const platform = new FaultPlatform(lab, label);
    try {
      const vhost = `faults_${label}`;
      await lab.rabbit.addVhost(vhost);
      // Each service connects as its own broker identity, as in production (the node is private: fresh passwords).
      await lab.rabbit.importDefinitions(brokerIdentityDefinitions({ vhost, passwords: platform.brokerPasswords }));
      // Ports first: order-service is told where user-service's JWKS is (it fetches it on the first token it sees).
      const ports = { users: await freePort(), orders: await freePort() };
      await Promise.all((['users', 'orders'] as const).map((name) => platform.launch(name, vhost, ports, options)));
      platform.rss.start();
      return platform;
    } catch (error) {
      await platform.stop();
      throw error;
    }
  }

  private async launch(
    name: ServiceName,
    vhost: string,
    ports: Record<ServiceName, number>,
    options: PlatformOptions,
  ): Promise<void> {
    const database = `${this.label}_${name}`;
    const directUrl = await this.lab.postgres.createDatabase(database);
    await deployMigrations({ databaseUrl: directUrl, schemaPath: SERVICES[name].schema });
    await this.lab.postgres.query(EFFECT_AUDIT(AUDITED[name].table, AUDITED[name].key), [], database);
    const brokerLink = await startFaultProxy(`${name} ⇄ rabbitmq`, { port: this.lab.rabbit.port });
    const databaseLink = await startFaultProxy(`${name} ⇄ postgres`, { port: this.lab.postgres.port });
    const relayDatabaseLink = options.separateRelayLink
      ? await startFaultProxy(`${name} relay ⇄ postgres`, { port: this.lab.postgres.port })
      : undefined;
    const port = ports[name];
    const metricsPort = await freePort();
    // Authentication on, as in production; order-service fetches the keys directly, not through a fault proxy.
    const auth =
      name === 'users'
        ? { AUTH_SIGNING_KEY_FILE: this.signingKeyFile }
        : { AUTH_JWKS_URL: `http://127.0.0.1:${ports.users}/.well-known/jwks.json` };
    const env: NodeJS.ProcessEnv = {
      PORT: String(port),
      METRICS_PORT: String(metricsPort),
      DATABASE_URL: `postgresql://postgres@127.0.0.1:${databaseLink.port}/${database}`,
      ...(relayDatabaseLink
        ? { MESSAGING_RELAY_DATABASE_URL: `postgresql://postgres@127.0.0.1:${relayDatabaseLink.port}/${database}` }
        : {}),
      RABBITMQ_URL: `amqp://${SERVICES[name].dir}:${this.brokerPasswords[SERVICES[name].dir]}@127.0.0.1:${brokerLink.port}/${encodeURIComponent(vhost)}?heartbeat=${HEARTBEAT_SECONDS}`,
      // Short retry tiers: a handler that fails during a fault (database gone) is retried within the scenario.
      MESSAGING_RETRY_DELAYS_MS: '200,500,1000,2000,4000,8000,15000',
      LOG_LEVEL: 'info',
      SHUTDOWN_TIMEOUT_MS: '5000',
      // The workload comes from 127.0.0.1 only: user-service's per-address limit is for real clients.
      RATE_LIMIT_PER_ADDRESS: '1000000',
      ...auth,
      ...options.extraEnv,
    };
    const process = startServiceProcess(SERVICES[name].main, env);
    this.services[name] = {
      name,
      url: `http://127.0.0.1:${port}`,
      port,
      metricsUrl: `http://127.0.0.1:${metricsPort}`,
      process,
      history: [{ process, killedOnPurpose: false }],
      env,
      database,
      brokerLink,
      databaseLink,
      ...(relayDatabaseLink ? { relayDatabaseLink } : {}),
    };
    this.rss.track(name, process);
    await waitUntilReady(process, port, 60_000);
  }

  /** SIGKILLs a service (a crash, or the OOM killer) and starts it again on the same database, vhost, links and port. */
  async kill(name: ServiceName): Promise<void> {
    const running = this.services[name];
    running.history.at(-1)!.killedOnPurpose = true;
    running.process.child.kill('SIGKILL');
    await running.process.exit;
  }

  async restart(name: ServiceName): Promise<void> {
    const running = this.services[name];
    const process = startServiceProcess(SERVICES[name].main, running.env);
    running.process = process;
    running.history.push({ process, killedOnPurpose: false });
    this.rss.track(name, process);
    await waitUntilReady(process, running.port, 60_000);
  }

  /** Both services answer `GET /health/ready` with 200. Throws when one has died: waiting longer cannot help. */
  async ready(): Promise<boolean> {
    for (const service of Object.values(this.services)) {
      const { exitCode, signalCode } = service.process.child;
      if (exitCode !== null || signalCode !== null)
        throw new Error(`${service.name} exited (${signalCode ?? exitCode})`);
    }
    const answers = await Promise.all(
      Object.values(this.services).map((service) =>
        fetch(`${service.url}/health/ready`)
          .then((response) => response.status === 200)
          .catch(() => false),
      ),
    );
    return answers.every(Boolean);
  }

  /**
   * Deliveries each live consumer settled, by outcome (`ack`, `duplicate`: removed by the inbox, `retry`,
   * `dead_letter`), from its /metrics. Processes killed during the scenario took their counters with them.
   */
  async consumedByOutcome(): Promise<Record<string, number>> {
    const totals: Record<string, number> = {};
    for (const service of Object.values(this.services)) {
      const text = await fetch(`${service.metricsUrl}/metrics`).then((response) => response.text());
      for (const match of text.matchAll(/^messaging_messages_consumed_total\{[^}]*outcome="(\w+)"[^}]*\} (\d+)/gm)) {
        totals[match[1]!] = (totals[match[1]!] ?? 0) + Number(match[2]);
      }
    }
    return totals;
  }

  /** Each service's readiness answer and last log lines, for a failure message. */
  async diagnose(): Promise<string> {
    const parts: string[] = [];
    for (const service of Object.values(this.services)) {
      const ready = await fetch(`${service.url}/health/ready`)
        .then(async (response) => `${response.status} ${await response.text()}`)
        .catch((error: unknown) => String(error));
      parts.push(
        `${service.name} /health/ready → ${ready.slice(0, 600)}\n${service.process.output().split('\n').slice(-60).join('\n')}`,
      );
    }
    return parts.join('\n\n');
  }

  /** Runs `sql` directly (never through a proxy) on a service's database. */
  query<Row extends Record<string, unknown>>(name: ServiceName, sql: string, params: unknown[] = []): Promise<Row[]> {
    return this.lab.postgres.query<Row>(sql, params, this.services[name].database);
  }

  /**
   * Processes that died without being killed on purpose, and log lines that say something crashed. The processes
   * must survive every fault here; only the deliberately SIGKILLed ones may be gone.
   */
  crashes(): string[] {
    const problems: string[] = [];
    for (const service of Object.values(this.services)) {
      for (const [index, { process, killedOnPurpose }] of service.history.entries()) {
        const { exitCode, signalCode } = process.child;
        if (!killedOnPurpose && (exitCode !== null || signalCode !== null))
          problems.push(`${service.name}#${index} exited (${signalCode ?? exitCode})`);
        for (const line of process.output().split('\n')) {
          if (CRASH_SIGNS.test(line)) {
            problems.push(`${service.name}#${index}: ${line.slice(0, 400)}`);
          }
        }
      }
    }
    return problems;
  }

  async stop(): Promise<void> {
    this.rss.stop();
    for (const service of Object.values(this.services)) {
      const { child } = service.process;
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        // Cleared once the child exits: a pending 10 s timer would hold the jest process open after the run.
        let timer: NodeJS.Timeout | undefined;
        const timedOut = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), 10_000)));
        const exited = await Promise.race([service.process.exit.then(() => true), timedOut]);
        clearTimeout(timer);
        if (!exited) child.kill('SIGKILL');
      }
      await Promise.allSettled([
        service.brokerLink.close(),
        service.databaseLink.close(),
        service.relayDatabaseLink?.close(),
      ]);
    }
    // The databases and vhost go with the private servers at the end of the run.
  }
}
