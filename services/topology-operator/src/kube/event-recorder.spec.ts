import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { type KubeApiStandIn, startKubeApiStandIn } from '@switchyard/testing';
import { silentOperatorLogger } from '../operator-logger.js';
import { EventRecorder } from './event-recorder.js';

// Against the API server stand-in: Events are created (the only verb the operator has on them) with the fields
// `kubectl describe` shows, identical ones are not repeated within the interval, and a failed write never throws.

let standIn: KubeApiStandIn;
let core: CoreV1Api;

beforeAll(async () => {
  standIn = await startKubeApiStandIn({ rules: [{ apiGroups: [''], resources: ['events'], verbs: ['create'] }] });
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions(standIn.kubeConfig('shop'));
  core = kubeConfig.makeApiClient(CoreV1Api);
});

afterAll(() => standIn.close());

const subscription = { apiVersion: 'switchyard.io/v1alpha1', kind: 'EventSubscription', metadata: { name: 'orders', namespace: 'shop', uid: 'uid-1', resourceVersion: '7' } };

describe('EventRecorder', () => {
  it('creates a core/v1 Event about the object with type, reason, message and the operator as source', async () => {
    const recorder = new EventRecorder({ core, logger: silentOperatorLogger(), instance: 'operator-0' });
    await recorder.record(subscription, { type: 'Warning', reason: 'BrokerError', message: 'RabbitMQ is not connected' });
    const [event] = standIn.objects('events', 'shop');
    expect(event).toMatchObject({
      metadata: { namespace: 'shop' },
      involvedObject: { apiVersion: 'switchyard.io/v1alpha1', kind: 'EventSubscription', name: 'orders', namespace: 'shop', uid: 'uid-1' },
      type: 'Warning',
      reason: 'BrokerError',
      message: 'RabbitMQ is not connected',
      source: { component: 'switchyard-topology-operator' },
      reportingComponent: 'switchyard-topology-operator',
      reportingInstance: 'operator-0',
      count: 1,
    });
    expect(event!.metadata.name).toMatch(/^orders\.[0-9a-f]+$/);
  });

  it('does not repeat an identical Event within the interval, but records a different one and repeats after it', async () => {
    let now = 1_000_000;
    const recorder = new EventRecorder({ core, logger: silentOperatorLogger(), instance: 'operator-0', repeatIntervalMs: 60_000, now: () => now });
    const about = { ...subscription, metadata: { ...subscription.metadata, name: 'dedupe', uid: 'uid-2' } };
    const count = () => standIn.objects('events', 'shop').filter((event) => (event.involvedObject as { name: string }).name === 'dedupe').length;
    await recorder.record(about, { type: 'Normal', reason: 'TopologyApplied', message: 'same' });
    await recorder.record(about, { type: 'Normal', reason: 'TopologyApplied', message: 'same' });
    expect(count()).toBe(1);
    await recorder.record(about, { type: 'Normal', reason: 'TopologyApplied', message: 'different' });
    expect(count()).toBe(2);
    now += 60_000;
    await recorder.record(about, { type: 'Normal', reason: 'TopologyApplied', message: 'same' });
    expect(count()).toBe(3);
  });

  it('logs and swallows a failed write, and tries the same Event again next time', async () => {
    const warnings: string[] = [];
    const logger = silentOperatorLogger();
    logger.warn = ((fields: { error: string }) => void warnings.push(fields.error)) as typeof logger.warn;
    const recorder = new EventRecorder({ core, logger, instance: 'operator-0' });
    const about = { ...subscription, metadata: { ...subscription.metadata, name: 'failing', uid: 'uid-3' } };
    standIn.failNext({ code: 500, verb: 'create', resource: 'events' });
    await expect(recorder.record(about, { type: 'Warning', reason: 'X', message: 'm' })).resolves.toBeUndefined();
    expect(warnings).toEqual([expect.stringMatching(/^HTTP 500: Internal error occurred: injected fault/)]);
    await recorder.record(about, { type: 'Warning', reason: 'X', message: 'm' });
    expect(standIn.objects('events', 'shop').filter((event) => (event.involvedObject as { name: string }).name === 'failing')).toHaveLength(1);
  });
});
