import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { type ConsumerPolicy, parseConsumerPolicy } from '@switchyard/messaging';
import { type KubeApiStandIn, startKubeApiStandIn } from '@switchyard/testing';
import { ConsumerPolicyConfigMap } from './consumer-policy-config-map.js';

// Against the API server stand-in with only the ConfigMap verbs the operator is granted (get, create, patch).

let standIn: KubeApiStandIn;
let core: CoreV1Api;
let writer: ConsumerPolicyConfigMap;

beforeAll(async () => {
  standIn = await startKubeApiStandIn({ rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'create', 'patch'] }] });
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions(standIn.kubeConfig('shop'));
  core = kubeConfig.makeApiClient(CoreV1Api);
  writer = new ConsumerPolicyConfigMap(core);
});

afterAll(() => standIn.close());

function policy(queue: string, prefetch = 20): ConsumerPolicy {
  return {
    apiVersion: 'switchyard.io/v1alpha1',
    kind: 'ConsumerPolicy',
    generation: 1,
    source: `shop/${queue}`,
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

const read = async () => core.readNamespacedConfigMap({ name: 'order-service-consumer-policy', namespace: 'shop' });

describe('ConsumerPolicyConfigMap', () => {
  it('creates the service ConfigMap with the managed-by label and the queue key', async () => {
    expect(await writer.write({ namespace: 'shop', service: 'order-service', queue: 'order-service.a' }, policy('order-service.a'))).toBe(true);
    const configMap = await read();
    expect(configMap.metadata?.labels).toEqual({ 'app.kubernetes.io/managed-by': 'switchyard-topology-operator', 'switchyard.io/service': 'order-service' });
    expect(parseConsumerPolicy(configMap.data!['order-service.a.json']!)).toEqual(policy('order-service.a'));
  });

  it('adds and changes one key without touching the others, and skips a write that changes nothing', async () => {
    await writer.write({ namespace: 'shop', service: 'order-service', queue: 'order-service.b' }, policy('order-service.b'));
    await writer.write({ namespace: 'shop', service: 'order-service', queue: 'order-service.a' }, policy('order-service.a', 5));
    const data = (await read()).data!;
    expect(Object.keys(data).sort()).toEqual(['order-service.a.json', 'order-service.b.json']);
    expect(parseConsumerPolicy(data['order-service.a.json']!).prefetch).toBe(5);
    const patchesBefore = standIn.requests().filter((request) => request.verb === 'patch').length;
    expect(await writer.write({ namespace: 'shop', service: 'order-service', queue: 'order-service.a' }, policy('order-service.a', 5))).toBe(false);
    expect(standIn.requests().filter((request) => request.verb === 'patch').length).toBe(patchesBefore);
  });

  it('removes only its key, and a missing ConfigMap is not an error', async () => {
    await writer.remove({ namespace: 'shop', service: 'order-service', queue: 'order-service.a' });
    expect(Object.keys((await read()).data!)).toEqual(['order-service.b.json']);
    await expect(writer.remove({ namespace: 'shop', service: 'no-such-service', queue: 'no-such-service.q' })).resolves.toBeUndefined();
  });

  it('surfaces an API failure to the caller', async () => {
    standIn.failNext({ code: 500, verb: 'get', resource: 'configmaps' });
    await expect(writer.write({ namespace: 'shop', service: 'order-service', queue: 'order-service.c' }, policy('order-service.c'))).rejects.toMatchObject({ code: 500 });
  });
});
