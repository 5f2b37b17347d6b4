import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { toWireMessage, UserCreatedV2, UserUpdatedV1 } from '@switchyard/contracts';
import { type ConsumerPolicy, consumerPolicyFileName, serializeConsumerPolicy } from '@switchyard/messaging/topology';
import {
  createTestDatabase,
  createTestVhost,
  IdentityPublisher,
  freePort,
  samples,
  startServiceProcess,
  type ServiceProcess,
  type TestDatabase,
  type TestVhost,
  valueOf,
  waitFor,
  waitUntilReady,
} from '@switchyard/testing';
import amqp, { type ChannelModel } from 'amqplib';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EVENT_QUEUE, SCHEMA_PATH } from '../src/app.module.js';
import { testTokenIssuer } from './order-service-app.js';

// Runs the built service (`dist/main.js`, built by `npm test` before jest): the policy must change in the running process.
const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const EXCHANGE = 'switchyard.events';
const CONSUMER_CHECK = `consumer:${EVENT_QUEUE}`;
/** The consumer's details in /health/ready are shown only to a caller with this token. */
const HEALTH_DETAIL_TOKEN = 'consumer-policy-health-token';

/** order-service's policy as the topology operator renders it from its EventSubscription. */
function policy(overrides: Partial<ConsumerPolicy>): ConsumerPolicy {
  return {
    apiVersion: 'switchyard.io/v1alpha1',
    kind: 'ConsumerPolicy',
    generation: 1,
    source: 'shop/order-service-user-events',
    service: 'order-service',
    queue: EVENT_QUEUE,
    exchange: EXCHANGE,
    queueType: 'quorum',
    events: ['user.created', 'user.updated', 'user.deleted'].map((type) => ({ type, versions: [] })),
    retryDelaysMs: [300, 600],
    deliveryLimit: 20,
    deadLetter: { queue: `${EVENT_QUEUE}.dlq` },
    prefetch: 20,
    paused: false,
    ...overrides,
  };
}

/**
 * A directory laid out like a mounted ConfigMap, updated the way the kubelet does it: each version in its own
 * timestamped directory, `..data` re-pointed by an atomic rename, the key a symlink through `..data`. (No kubelet
 * runs here; this reproduces exactly the file operations it performs on the volume.)
 */
class MountedConfigMap {
  private version = 0;
  constructor(readonly directory: string) {}

  async write(files: Record<string, string>): Promise<void> {
    const previous = this.version;
    this.version++;
    const dataDir = `..2026_11_27_10_00_00.${this.version}`;
    await mkdir(join(this.directory, dataDir));
    for (const [name, text] of Object.entries(files)) await writeFile(join(this.directory, dataDir, name), text);
    await symlink(dataDir, join(this.directory, '..data_tmp'));
    await rename(join(this.directory, '..data_tmp'), join(this.directory, '..data'));
    for (const name of Object.keys(files))
      await symlink(join('..data', name), join(this.directory, name)).catch(() => undefined);
    if (previous > 0)
      await rm(join(this.directory, `..2026_11_27_10_00_00.${previous}`), { recursive: true, force: true });
  }

  writePolicy(next: ConsumerPolicy): Promise<void> {
    return this.write({ [consumerPolicyFileName(EVENT_QUEUE)]: serializeConsumerPolicy(next) });
  }
}

describe('order-service applies its mounted consumer policy without a restart', () => {
  let db: TestDatabase;
  let vhost: TestVhost;
  let policyDir: string;
  let configMap: MountedConfigMap;
  let service: ServiceProcess;
  let base: string;
  let metricsBase: string;
  let broker: ChannelModel;
  let producer: IdentityPublisher;

  beforeAll(async () => {
    [db, vhost] = await Promise.all([
      createTestDatabase('orders_policy', SCHEMA_PATH),
      createTestVhost('orders_policy'),
    ]);
    policyDir = await mkdtemp(join(tmpdir(), 'order-service-policy-'));
    configMap = new MountedConfigMap(policyDir);
    broker = await amqp.connect(vhost.url);
    producer = await IdentityPublisher.connect(vhost, 'user-service');
  });

  afterAll(async () => {
    if (service && service.child.exitCode === null && service.child.signalCode === null) {
      service.child.kill('SIGKILL');
      await service.exit;
    }
    await producer?.close();
    await broker?.close().catch(() => undefined);
    await Promise.all([
      db?.drop(),
      vhost?.drop(),
      policyDir ? rm(policyDir, { recursive: true, force: true }) : undefined,
    ]);
  });

  async function publish(wire: ReturnType<typeof toWireMessage>): Promise<void> {
    await producer.publish(EXCHANGE, wire.routingKey, wire.content, { persistent: true, ...wire.properties });
  }

  function userCreated(userId: string) {
    const data = {
      userId,
      email: `${userId}@example.com`,
      name: 'Ada',
      marketingOptIn: false,
      locale: 'en',
      occurredAt: new Date().toISOString(),
    };
    return toWireMessage({ eventId: randomUUID(), contract: UserCreatedV2, data, source: 'user-service' });
  }

  /** Ready messages and consumers of a queue, asked on a channel of its own (a missing queue closes it). */
  async function queueState(queue: string): Promise<{ messageCount: number; consumerCount: number } | undefined> {
    const probe = await broker.createChannel();
    probe.on('error', () => undefined);
    try {
      const state = await probe.checkQueue(queue);
      await probe.close();
      return state;
    } catch {
      return undefined;
    }
  }

  async function consumerHealth(): Promise<{ status: number; consumer: Record<string, unknown> | undefined }> {
    const response = await fetch(`${base}/health/ready`, {
      headers: { Authorization: `Bearer ${HEALTH_DETAIL_TOKEN}` },
    });
    const body = (await response.json()) as {
      info?: Record<string, Record<string, unknown>>;
      error?: Record<string, Record<string, unknown>>;
    };
    return { status: response.status, consumer: body.info?.[CONSUMER_CHECK] ?? body.error?.[CONSUMER_CHECK] };
  }

  /** `connection_name`s of the clients connected to the test vhost, as the broker reports them. */
  function connectionNames(): Promise<string[]> {
    return new Promise((resolve, reject) => {
      execFile(
        'rabbitmqctl',
        ['--quiet', 'list_connections', '-p', vhost.name, '--formatter', 'json', 'client_properties'],
        (error, stdout) => {
          if (error) return reject(error);
          const rows = JSON.parse(stdout) as Array<{ client_properties: Array<[string, string, unknown]> }>;
          resolve(
            rows.map((row) => String(row.client_properties.find(([key]) => key === 'connection_name')?.[2])).sort(),
          );
        },
      );
    });
  }

  const customerStatus = async (userId: string): Promise<number> =>
    (await fetch(`${base}/customers/${userId}`, { headers: await (await testTokenIssuer()).authorization(userId) }))
      .status;

  it('stays ready and serving while paused, consumes after unpausing, and retries through new tiers: one process throughout', async () => {
    await configMap.writePolicy(policy({ generation: 1, paused: true }));
    const [port, metricsPort] = [await freePort(), await freePort()];
    base = `http://127.0.0.1:${port}`;
    metricsBase = `http://127.0.0.1:${metricsPort}`;
    service = startServiceProcess(MAIN, {
      DATABASE_URL: db.url,
      RABBITMQ_URL: vhost.identityUrl('order-service'),
      PORT: String(port),
      METRICS_PORT: String(metricsPort),
      LOG_LEVEL: 'info',
      AUTH_JWKS_URL: (await testTokenIssuer()).jwksUrl,
      // The code defaults differ from the policy, so it is visible which one is in force.
      MESSAGING_RETRY_DELAYS_MS: '100,200',
      CONSUMER_POLICY_DIR: policyDir,
      CONSUMER_POLICY_POLL_MS: '200',
      HEALTH_DETAIL_TOKEN,
    });
    // Paused is deliberate: readiness says yes.
    await waitUntilReady(service, port, 30_000);
    const pid = service.child.pid;
    // Publishing and consuming on separate connections, so a publishing block cannot hold up acks.
    // (Waited for: on a loaded machine a connect attempt that timed out may still be listed while the broker closes it.)
    const ownConnections = async () => (await connectionNames()).filter((name) => name.startsWith('order-service'));
    await waitFor(
      'exactly the two named connections',
      async () =>
        JSON.stringify(await ownConnections()) === JSON.stringify(['order-service', 'order-service-consumer']),
      15_000,
    ).catch(() => undefined);
    expect(await ownConnections()).toEqual(['order-service', 'order-service-consumer']);
    expect(await consumerHealth()).toEqual({
      status: 200,
      consumer: expect.objectContaining({ status: 'up', paused: true, consuming: false, retryDelaysMs: [300, 600] }),
    });
    // The policy's tiers were declared, not the code defaults'.
    expect(await queueState(`${EVENT_QUEUE}.retry.300ms`)).toBeDefined();
    expect(await queueState(`${EVENT_QUEUE}.retry.100ms`)).toBeUndefined();

    // Paused: events pile up in the queue, nothing is consumed, HTTP still answers.
    const first = randomUUID();
    const second = randomUUID();
    await publish(userCreated(first));
    await waitFor('one event waiting', async () => (await queueState(EVENT_QUEUE))?.messageCount === 1);
    await publish(userCreated(second));
    await waitFor('two events waiting', async () => (await queueState(EVENT_QUEUE))?.messageCount === 2);
    expect((await queueState(EVENT_QUEUE))?.consumerCount).toBe(0);
    expect(await customerStatus(first)).toBe(404);
    const order = await fetch(`${base}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(await (await testTokenIssuer()).authorization(first)) },
      body: JSON.stringify({ userId: first, items: [{ sku: 'A', quantity: 1, unitPriceCents: 100 }] }),
    });
    expect(order.status).toBe(422);

    // Unpaused: both are consumed by the same process.
    await configMap.writePolicy(policy({ generation: 2, paused: false }));
    await waitFor(
      'both customers created',
      async () => (await customerStatus(first)) === 200 && (await customerStatus(second)) === 200,
      20_000,
    );
    expect((await queueState(EVENT_QUEUE))?.messageCount).toBe(0);
    expect((await consumerHealth()).consumer).toMatchObject({ paused: false, consuming: true });

    // New retry tiers: an update for a user order-service has never heard of fails and waits in the new 1-minute tier.
    await configMap.writePolicy(policy({ generation: 3, retryDelaysMs: [60_000] }));
    await waitFor(
      'the new tiers in force',
      async () => JSON.stringify((await consumerHealth()).consumer?.retryDelaysMs) === '[60000]',
      20_000,
    );
    const stranger = randomUUID();
    const update = toWireMessage({
      eventId: randomUUID(),
      contract: UserUpdatedV1,
      data: { userId: stranger, changes: { name: 'Bo' }, occurredAt: new Date().toISOString() },
      source: 'user-service',
    });
    await publish(update);
    await waitFor(
      'the failed update in order-service.user-events.retry.1m',
      async () => (await queueState(`${EVENT_QUEUE}.retry.1m`))?.messageCount === 1,
      20_000,
    );
    expect((await queueState(`${EVENT_QUEUE}.retry.300ms`))?.messageCount).toBe(0);
    const retried = service
      .logLines()
      .find((line) => line.msg === 'event handler failed' && line.eventId === update.properties.messageId);
    expect(retried).toMatchObject({ errorClass: 'ProfileNotYetKnownError', attempt: 1 });

    // A broken file keeps the last good policy, is reported, and does not hurt readiness.
    await configMap.write({
      [consumerPolicyFileName(EVENT_QUEUE)]: '{"apiVersion": "switchyard.io/v1alpha1", "kind": ',
    });
    await waitFor(
      'the policy error reported',
      async () => typeof (await consumerHealth()).consumer?.policyError === 'string',
      20_000,
    );
    const health = await consumerHealth();
    expect(health).toMatchObject({
      status: 200,
      consumer: {
        consuming: true,
        retryDelaysMs: [60_000],
        policy: { source: 'shop/order-service-user-events', generation: 3 },
      },
    });
    const metrics = samples(await (await fetch(`${metricsBase}/metrics`)).text());
    expect(valueOf(metrics, 'messaging_consumer_policy_errors_total', { queue: EVENT_QUEUE })).toBe(1);
    expect(valueOf(metrics, 'messaging_consumer_paused', { queue: EVENT_QUEUE })).toBe(0);
    expect(valueOf(metrics, 'messaging_consumer_policy_generation', { queue: EVENT_QUEUE })).toBe(3);

    // Same process all along.
    expect(service.child.pid).toBe(pid);
    expect(service.child.exitCode).toBeNull();
    const lines = service.logLines();
    expect(
      lines.filter((line) => typeof line.msg === 'string' && (line.msg as string).includes('listening on')),
    ).toHaveLength(1);
    expect(lines.map((line) => line.msg)).toEqual(
      expect.arrayContaining([
        'consumer paused by its policy: channel open, nothing consumed',
        'consumer resumed',
        'consumer policy in force',
      ]),
    );
    expect(lines.filter((line) => Number(line.level) >= 50).map((line) => line.msg)).toEqual([
      'invalid consumer policy: keeping the last good one',
    ]);

    service.child.kill('SIGTERM');
    expect(await service.exit).toEqual({ code: 0, signal: null });
  }, 120_000);
});
