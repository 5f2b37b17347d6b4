import { describe, expect, it } from '@jest/globals';
import { hostname } from 'node:os';
import { operatorConfigFromEnv, OperatorConfigError } from './operator-config.js';

const URL = 'amqp://guest:secret@rabbitmq:5672/switchyard';

describe('operatorConfigFromEnv', () => {
  it('applies the documented defaults when only RABBITMQ_URL is set', () => {
    expect(operatorConfigFromEnv({ RABBITMQ_URL: URL })).toEqual({
      rabbitmqUrl: URL,
      watchNamespace: 'default',
      podName: hostname(),
      podNamespace: 'default',
      leaseName: 'switchyard-topology-operator',
      port: 8080,
      logLevel: 'info',
      resyncSeconds: 300,
      statusRefreshSeconds: 30,
    });
  });

  it('reads every variable', () => {
    const config = operatorConfigFromEnv({
      RABBITMQ_URL: URL,
      WATCH_NAMESPACE: 'shop',
      POD_NAME: 'switchyard-topology-operator-7d9c-abcde',
      POD_NAMESPACE: 'switchyard-system',
      LEASE_NAME: 'topology.switchyard.io',
      PORT: '9090',
      LOG_LEVEL: 'DEBUG',
      RESYNC_SECONDS: '60',
      STATUS_REFRESH_SECONDS: '10',
    });
    expect(config).toMatchObject({
      watchNamespace: 'shop',
      podName: 'switchyard-topology-operator-7d9c-abcde',
      podNamespace: 'switchyard-system',
      leaseName: 'topology.switchyard.io',
      port: 9090,
      logLevel: 'debug',
      resyncSeconds: 60,
      statusRefreshSeconds: 10,
    });
  });

  it('watches its own namespace (POD_NAMESPACE) when WATCH_NAMESPACE is empty, never every namespace by default', () => {
    const env = { RABBITMQ_URL: URL, WATCH_NAMESPACE: '', POD_NAMESPACE: 'switchyard' };
    expect(operatorConfigFromEnv(env).watchNamespace).toBe('switchyard');
    expect(operatorConfigFromEnv({ ...env, WATCH_ALL_NAMESPACES: 'false' }).watchNamespace).toBe('switchyard');
  });

  it('watches every namespace only with WATCH_ALL_NAMESPACES=true', () => {
    const env = { RABBITMQ_URL: URL, WATCH_NAMESPACE: '', POD_NAMESPACE: 'switchyard', WATCH_ALL_NAMESPACES: 'true' };
    expect(operatorConfigFromEnv(env).watchNamespace).toBeUndefined();
  });

  it.each([
    [{}, /^RABBITMQ_URL is required/],
    [{ RABBITMQ_URL: 'http://rabbitmq:15672' }, /^RABBITMQ_URL must start with amqp/],
    [{ RABBITMQ_URL: 'not a url' }, /^RABBITMQ_URL is not a URL/],
    [{ RABBITMQ_URL: URL, PORT: 'eighty' }, /^PORT must be an integer from 1 to 65535, got "eighty"/],
    [{ RABBITMQ_URL: URL, PORT: '70000' }, /^PORT must be an integer/],
    [{ RABBITMQ_URL: URL, RESYNC_SECONDS: '0' }, /^RESYNC_SECONDS must be an integer from 1/],
    [{ RABBITMQ_URL: URL, STATUS_REFRESH_SECONDS: '1.5' }, /^STATUS_REFRESH_SECONDS must be an integer/],
    [{ RABBITMQ_URL: URL, LOG_LEVEL: 'loud' }, /^LOG_LEVEL must be one of/],
    [{ RABBITMQ_URL: URL, WATCH_NAMESPACE: 'Shop_NS' }, /^WATCH_NAMESPACE must be a valid Kubernetes name/],
    [{ RABBITMQ_URL: URL, LEASE_NAME: 'bad name' }, /^LEASE_NAME must be a valid Kubernetes name/],
    [{ RABBITMQ_URL: URL, WATCH_ALL_NAMESPACES: 'yes' }, /^WATCH_ALL_NAMESPACES must be true or false, got "yes"/],
    [
      { RABBITMQ_URL: URL, WATCH_ALL_NAMESPACES: 'true', WATCH_NAMESPACE: 'shop' },
      /^WATCH_ALL_NAMESPACES=true watches every namespace, but WATCH_NAMESPACE names one \("shop"\): set only one/,
    ],
  ])('rejects %j with an error naming the variable', (env, message) => {
    expect(() => operatorConfigFromEnv(env)).toThrow(OperatorConfigError);
    expect(() => operatorConfigFromEnv(env)).toThrow(message);
  });

  it('never echoes the broker password in an error', () => {
    expect(() => operatorConfigFromEnv({ RABBITMQ_URL: 'http://guest:hunter2@rabbitmq' })).toThrow(/^(?!.*hunter2)/);
  });
});
