import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { RabbitMqConnection } from '@switchyard/messaging/topology';
import { createTestVhost, type TestVhost, waitFor } from '@switchyard/testing';
import { connectionChannels } from '../src/controller/broker-channels.js';
import type { TopologyOperator } from '../src/operator.js';
import {
  condition,
  forbiddenIn,
  type OperatorCluster,
  recordingLogger,
  startOperatorCluster,
  testOperator,
  waitForLeader,
} from './operator-harness.js';

// The chart's RBAC is the operator's whole identity on the server, so a verb missing from it is a real 403 the
// operator must report. Here the chart's rules lose `patch` on eventsubscriptions/status: everything else works,
// the status write is refused, and the operator says so in a Warning Event and its log, and keeps retrying.

let cluster: OperatorCluster;
let vhost: TestVhost;
let connection: RabbitMqConnection;
let operator: TopologyOperator;
const log = recordingLogger();

beforeAll(async () => {
  cluster = await startOperatorCluster('rbac', {
    withoutVerb: { resource: 'eventsubscriptions/status', verb: 'patch' },
  });
  vhost = await createTestVhost('operator_rbac');
  connection = new RabbitMqConnection({
    url: vhost.identityUrl('switchyard-operator'),
    connectionName: 'topology-operator-rbac-test',
  });
  await connection.start();
  operator = testOperator(cluster, connectionChannels(connection), 'operator-rbac', { logger: log.logger });
  await operator.start();
  await waitForLeader([operator]);
}, 90_000);

afterAll(async () => {
  await operator?.stop();
  await connection?.close();
  await vhost?.drop();
  await cluster?.drop();
}, 90_000);

describe('the operator without a verb the chart grants', () => {
  it('reports the 403 on the status write as a ReconcileFailed Warning and an error, writing no status', async () => {
    await cluster.user.create('no-status', { queue: 'order-service.no-status', queueType: 'classic' });
    const warning = await waitFor(
      'a ReconcileFailed Warning',
      async () => (await cluster.eventsAbout('no-status')).find((event) => event.reason === 'ReconcileFailed'),
      30_000,
    );
    expect(warning).toMatchObject({ type: 'Warning' });
    expect(warning.message).toMatch(/^HTTP 403: .*cannot patch resource "eventsubscriptions\/status"/);
    expect(warning.message).toContain(`system:serviceaccount:${cluster.namespace}:${cluster.serviceAccount}`);
    await waitFor(
      'the 403 in the log',
      () => forbiddenIn(log.lines).some((line) => line.msg === 'reconcile failed'),
      10_000,
    );
    const errors = async () =>
      (await operator.metrics.registry.getMetricsAsJSON())
        .find((metric) => metric.name === 'reconcile_total')!
        .values.find((value) => value.labels.result === 'error')?.value ?? 0;
    // Requeued with backoff: it tries again (and is refused again).
    await waitFor('a second failed reconcile', async () => (await errors()) >= 2, 30_000);
    expect(condition(await cluster.user.get('no-status'), 'TopologyReconciled')).toBeUndefined();
  }, 60_000);
});
