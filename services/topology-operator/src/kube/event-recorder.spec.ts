import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CoreV1Api, type CoreV1Event } from '@kubernetes/client-node';
import { type FaultProxy, startFaultProxy } from '@switchyard/testing';
import { type OperatorCluster, startOperatorCluster } from '../../test/operator-harness.js';
import { silentOperatorLogger } from '../operator-logger.js';
import { EventRecorder } from './event-recorder.js';

// Against the real API server, as the operator's ServiceAccount with the chart's RBAC (Events: create only):
// Events are created with the fields `kubectl describe` shows, identical ones are not repeated within the interval,
// and a failed write (the server unreachable through a fault proxy) never throws.

let cluster: OperatorCluster;
let proxy: FaultProxy;
let core: CoreV1Api;

beforeAll(async () => {
  cluster = await startOperatorCluster('events');
  proxy = await startFaultProxy('event recorder → kube-apiserver', {
    port: Number(new URL(cluster.plane.server).port),
  });
  core = cluster.operatorKubeConfig(`https://127.0.0.1:${proxy.port}`).makeApiClient(CoreV1Api);
}, 90_000);

afterAll(async () => {
  await proxy?.close();
  await cluster?.drop();
}, 90_000);

const subscriptionIn = (namespace: string) => ({
  apiVersion: 'switchyard.io/v1alpha1',
  kind: 'EventSubscription',
  metadata: { name: 'orders', namespace, uid: 'uid-1', resourceVersion: '7' },
});
/** The Events about `name` in the test namespace, as the admin reads them. */
const eventsAbout = async (name: string): Promise<CoreV1Event[]> =>
  (
    await cluster.user.core.listNamespacedEvent({
      namespace: cluster.namespace,
      fieldSelector: `involvedObject.name=${name}`,
    })
  ).items;

describe('EventRecorder', () => {
  it('creates a core/v1 Event about the object with type, reason, message and the operator as source', async () => {
    const recorder = new EventRecorder({ core, logger: silentOperatorLogger(), instance: 'operator-0' });
    await recorder.record(subscriptionIn(cluster.namespace), {
      type: 'Warning',
      reason: 'BrokerError',
      message: 'RabbitMQ is not connected',
    });
    const [event, ...more] = await eventsAbout('orders');
    expect(more).toEqual([]);
    expect(event).toMatchObject({
      metadata: { namespace: cluster.namespace },
      involvedObject: {
        apiVersion: 'switchyard.io/v1alpha1',
        kind: 'EventSubscription',
        name: 'orders',
        namespace: cluster.namespace,
        uid: 'uid-1',
      },
      type: 'Warning',
      reason: 'BrokerError',
      message: 'RabbitMQ is not connected',
      source: { component: 'switchyard-topology-operator' },
      reportingComponent: 'switchyard-topology-operator',
      reportingInstance: 'operator-0',
      count: 1,
    });
    expect(event!.metadata?.name).toMatch(/^orders\.[0-9a-f]+$/);
  });

  it('does not repeat an identical Event within the interval, but records a different one and repeats after it', async () => {
    let now = 1_000_000;
    const recorder = new EventRecorder({
      core,
      logger: silentOperatorLogger(),
      instance: 'operator-0',
      repeatIntervalMs: 60_000,
      now: () => now,
    });
    const subscription = subscriptionIn(cluster.namespace);
    const about = { ...subscription, metadata: { ...subscription.metadata, name: 'dedupe', uid: 'uid-2' } };
    const count = async () => (await eventsAbout('dedupe')).length;
    await recorder.record(about, { type: 'Normal', reason: 'TopologyApplied', message: 'same' });
    await recorder.record(about, { type: 'Normal', reason: 'TopologyApplied', message: 'same' });
    expect(await count()).toBe(1);
    await recorder.record(about, { type: 'Normal', reason: 'TopologyApplied', message: 'different' });
    expect(await count()).toBe(2);
    now += 60_000;
    await recorder.record(about, { type: 'Normal', reason: 'TopologyApplied', message: 'same' });
    expect(await count()).toBe(3);
  });

  it('logs and swallows a failed write, and tries the same Event again next time', async () => {
    const warnings: string[] = [];
    const logger = silentOperatorLogger();
    logger.warn = ((fields: { error: string }) => void warnings.push(fields.error)) as typeof logger.warn;
    const recorder = new EventRecorder({ core, logger, instance: 'operator-0' });
    const subscription = subscriptionIn(cluster.namespace);
    const about = { ...subscription, metadata: { ...subscription.metadata, name: 'failing', uid: 'uid-3' } };
    proxy.setMode({ kind: 'reset' });
    try {
      await expect(recorder.record(about, { type: 'Warning', reason: 'X', message: 'm' })).resolves.toBeUndefined();
    } finally {
      proxy.passThrough();
    }
    expect(warnings).toHaveLength(1);
    await recorder.record(about, { type: 'Warning', reason: 'X', message: 'm' });
    expect(await eventsAbout('failing')).toHaveLength(1);
  });

  it('logs and swallows a write the server refuses (403 outside the namespaces the chart grants)', async () => {
    const warnings: string[] = [];
    const logger = silentOperatorLogger();
    logger.warn = ((fields: { error: string }) => void warnings.push(fields.error)) as typeof logger.warn;
    const recorder = new EventRecorder({ core, logger, instance: 'operator-0' });
    await expect(
      recorder.record(subscriptionIn('default'), { type: 'Normal', reason: 'X', message: 'm' }),
    ).resolves.toBeUndefined();
    expect(warnings).toEqual([expect.stringMatching(/^HTTP 403: events is forbidden: User "system:serviceaccount:/)]);
  });
});
