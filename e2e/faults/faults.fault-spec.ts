// Fault injection: nothing lost, nothing applied twice, no process crashing, whatever breaks underneath.
//
// Runs only against a PRIVATE RabbitMQ node and a PRIVATE Postgres cluster that this file starts (and removes in
// afterAll, pass or fail): the scenarios stop the broker, raise its memory alarm and restart Postgres, which must
// never happen to the shared servers other tests use. Needs root (or the rabbitmq/postgres users' rights) and the
// built services (`npm run build`). `npm run test:faults` runs the bounded mode; `FAULTS_FULL=1 npm run test:faults`
// the full one (thousands of operations per scenario, 30 s outages). Results: e2e/faults/results/<mode>.json.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  FaultLab,
  type FaultPlatform,
  HEARTBEAT_SECONDS,
  type PlatformOptions,
  type ServiceName,
} from './fault-lab.js';
import { formatTable, type ScenarioResult, writeResults } from './fault-report.js';
import { blackholeRelaysMidBatch, DRAINED_WITHIN_MS } from './relay-blackhole.js';
import { type Fault, FULL, MODE, runScenario, SETTINGS } from './scenario-driver.js';

const SCENARIO_TIMEOUT_MS = FULL ? 900_000 : 240_000;

describe(`fault injection (${MODE})`, () => {
  let lab: FaultLab | undefined;
  const results: ScenarioResult[] = [];

  beforeAll(async () => {
    lab = await FaultLab.start();
  }, 180_000);

  afterAll(async () => {
    if (results.length > 0) {
      const file = writeResults(MODE, results);
      process.stdout.write(`\nfault injection (${MODE}), results in ${file}\n${formatTable(results)}\n\n`);
    }
    await lab?.stop();
  }, 120_000);

  const scenario = (name: string, description: string, fault: Fault, platformOptions: PlatformOptions = {}): void => {
    it(
      `${name}: ${description}`,
      async () => {
        const result = await runScenario(lab!, name, description, fault, platformOptions);
        results.push(result);
        expect({
          lost: result.lost,
          lostAcknowledged: result.lostAcknowledged,
          duplicated: result.duplicated,
          crashes: result.crashes,
          examples: result.examples,
        }).toEqual({
          lost: 0,
          lostAcknowledged: 0,
          duplicated: 0,
          crashes: [],
          examples: [],
        });
        // The scenario really exercised the pipeline on both sides of the fault.
        expect(result.committed.orders).toBeGreaterThan(0);
        expect(result.delivered.orderPlaced).toBe(result.committed.orders);
        expect(result.delivered.userCreated).toBe(result.committed.users);
      },
      SCENARIO_TIMEOUT_MS,
    );
  };

  scenario(
    'publisher-sigkill',
    'order-service (publisher of order.placed) SIGKILLed mid-burst, then restarted',
    async (platform) => {
      // Slow confirms on its broker link, so committed order.placed rows are waiting in the outbox at the kill.
      platform.services.orders.brokerLink.latency(200);
      await sleep(1_000);
      await platform.kill('orders');
      platform.evidence.outboxUnsentAtKill = await countRows(
        platform,
        'orders',
        'SELECT count(*)::int AS n FROM outbox_events WHERE sent_at IS NULL',
      );
      platform.services.orders.brokerLink.passThrough();
      await platform.restart('orders');
      expect(platform.evidence.outboxUnsentAtKill).toBeGreaterThan(0);
    },
  );

  scenario(
    'consumer-sigkill',
    'user-service SIGKILLed while its handlers are mid-transaction, then restarted',
    async (platform) => {
      // Slow its database link so many order.placed handlers are in flight (prefetched, inside transactions) at the kill.
      platform.services.users.databaseLink.latency(40);
      await sleep(1_000);
      const inFlight = countRows(platform, 'users', OPEN_TRANSACTIONS, [platform.services.users.database]);
      await platform.kill('users');
      platform.evidence.transactionsOpenAtKill = await inFlight;
      platform.services.users.databaseLink.passThrough();
      await platform.restart('users');
      expect(platform.evidence.transactionsOpenAtKill).toBeGreaterThan(0);
    },
  );

  scenario(
    'rabbitmq-stop-start',
    `RabbitMQ stopped (rabbitmqctl stop_app) for ${SETTINGS.brokerDownMs / 1000} s during traffic, then started`,
    async (platform) => {
      await platform.lab.rabbit.stopApp();
      await sleep(SETTINGS.brokerDownMs);
      await platform.lab.rabbit.startApp();
    },
  );

  scenario(
    'postgres-terminate-restart',
    'every Postgres backend terminated (pg_terminate_backend), then the cluster restarted',
    async (platform) => {
      platform.evidence.backendsTerminated = await platform.lab.postgres.terminateBackends();
      await sleep(2_000);
      await platform.lab.postgres.restart();
    },
  );

  scenario(
    'broker-blackhole',
    `both services' broker links blackholed for ${SETTINGS.blackholeMs / 1000} s (> 2 heartbeats of ${HEARTBEAT_SECONDS} s), then restored`,
    async (platform) => {
      const links = [platform.services.users.brokerLink, platform.services.orders.brokerLink];
      for (const link of links) link.blackhole();
      await sleep(SETTINGS.blackholeMs);
      platform.evidence.bytesDropped = links.reduce((sum, link) => sum + link.stats().bytesDropped, 0);
      for (const link of links) link.passThrough();
    },
  );

  scenario(
    'broker-memory-alarm',
    `RabbitMQ memory alarm (watermark 0.0001) for ${SETTINGS.memoryAlarmMs / 1000} s while publishing, then lifted`,
    async (platform) => {
      await platform.lab.rabbit.setMemoryWatermark(0.0001);
      try {
        await sleep(SETTINGS.memoryAlarmMs);
        platform.evidence.outboxUnsentDuringAlarm = await countRows(
          platform,
          'orders',
          'SELECT count(*)::int AS n FROM outbox_events WHERE sent_at IS NULL',
        );
      } finally {
        await platform.lab.rabbit.setMemoryWatermark(0.4);
      }
      expect(platform.evidence.outboxUnsentDuringAlarm).toBeGreaterThan(0);
    },
  );

  scenario(
    'relay-database-blackhole',
    `both outbox relays' database links (pool and LISTEN) blackholed mid-batch for ${SETTINGS.blackholeMs / 1000} s, then restored; drained within ${DRAINED_WITHIN_MS / 1000} s`,
    blackholeRelaysMidBatch,
    { separateRelayLink: true },
  );
});

/** Client transactions open on a database right now (handlers mid-transaction), seen from a direct connection. */
const OPEN_TRANSACTIONS = `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND xact_start IS NOT NULL AND pid <> pg_backend_pid()`;

async function countRows(
  platform: FaultPlatform,
  service: ServiceName,
  sql: string,
  params: unknown[] = [],
): Promise<number> {
  const [row] = await platform.query<{ n: number }>(service, sql, params);
  return row!.n;
}
