import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CoreV1Api } from '@kubernetes/client-node';
import { type ConsumerPolicy, parseConsumerPolicy } from '@switchyard/messaging/topology';
import { type OperatorCluster, startOperatorCluster } from '../../test/operator-harness.js';
import { ConsumerPolicyConfigMap } from './consumer-policy-config-map.js';

// Against the real API server, as the operator's ServiceAccount with the chart's RBAC (ConfigMaps: get, create,
// patch, in the watched namespace only); the test reads back as admin.

let cluster: OperatorCluster;
let namespace: string;
let writer: ConsumerPolicyConfigMap;

beforeAll(async () => {
  cluster = await startOperatorCluster('policy-configmap');
  namespace = cluster.namespace;
  writer = new ConsumerPolicyConfigMap(cluster.operatorKubeConfig().makeApiClient(CoreV1Api));
}, 90_000);

afterAll(() => cluster?.drop(), 90_000);

function policy(queue: string, prefetch = 20): ConsumerPolicy {
  return {
    apiVersion: 'switchyard.io/v1alpha1',
    kind: 'ConsumerPolicy',
    generation: 1,
    source: `${namespace}/${queue}`,
    service: 'order-service',
    queue,
    exchange: 'switchyard.events',
    queueType: 'quorum',
    events: [{ type: 'user.created', versions: [] }],
    retryDelaysMs: [1000],
    deliveryLimit: 20,
    deadLetter: { queue: `${queue}.dlq` },
    prefetch,
    paused: false,
  };
}

const read = async () =>
  cluster.user.core.readNamespacedConfigMap({ name: 'order-service-consumer-policy', namespace });

describe('ConsumerPolicyConfigMap', () => {
  it('creates the service ConfigMap with the managed-by label and the queue key', async () => {
    expect(
      await writer.write({ namespace, service: 'order-service', queue: 'order-service.a' }, policy('order-service.a')),
    ).toBe(true);
    const configMap = await read();
    expect(configMap.metadata?.labels).toEqual({
      'app.kubernetes.io/managed-by': 'switchyard-topology-operator',
      'switchyard.io/service': 'order-service',
    });
    expect(parseConsumerPolicy(configMap.data!['order-service.a.json']!)).toEqual(policy('order-service.a'));
  });

  it('adds and changes one key without touching the others, and skips a write that changes nothing', async () => {
    await writer.write({ namespace, service: 'order-service', queue: 'order-service.b' }, policy('order-service.b'));
    await writer.write({ namespace, service: 'order-service', queue: 'order-service.a' }, policy('order-service.a', 5));
    const data = (await read()).data!;
    expect(Object.keys(data).sort()).toEqual(['order-service.a.json', 'order-service.b.json']);
    expect(parseConsumerPolicy(data['order-service.a.json']!).prefetch).toBe(5);
    // Any write would give the ConfigMap a new resourceVersion.
    const versionBefore = (await read()).metadata?.resourceVersion;
    expect(
      await writer.write(
        { namespace, service: 'order-service', queue: 'order-service.a' },
        policy('order-service.a', 5),
      ),
    ).toBe(false);
    expect((await read()).metadata?.resourceVersion).toBe(versionBefore);
  });

  it('removes only its key, and a missing ConfigMap is not an error', async () => {
    await writer.remove({ namespace, service: 'order-service', queue: 'order-service.a' });
    expect(Object.keys((await read()).data!)).toEqual(['order-service.b.json']);
    await expect(
      writer.remove({ namespace, service: 'no-such-service', queue: 'no-such-service.q' }),
    ).resolves.toBeUndefined();
  });

  it('surfaces an API failure to the caller', async () => {
    // The chart grants ConfigMaps in the watched namespace only: anywhere else the server answers 403.
    await expect(
      writer.write(
        { namespace: 'default', service: 'order-service', queue: 'order-service.c' },
        policy('order-service.c'),
      ),
    ).rejects.toMatchObject({ code: 403 });
  });
});
