import { describe, expect, it } from '@jest/globals';
import { fileURLToPath } from 'node:url';
import { tracingConfigFromEnv } from './tracing-config.js';

const USER_SERVICE_MAIN = fileURLToPath(new URL('../../../../services/user-service/dist/main.js', import.meta.url));
const ENDPOINT = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' };

describe('tracingConfigFromEnv', () => {
  it('is off without an endpoint, or when disabled', () => {
    expect(tracingConfigFromEnv({}, USER_SERVICE_MAIN)).toEqual({ enabled: false, reason: 'no OTLP endpoint' });
    expect(tracingConfigFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: '  ' }, USER_SERVICE_MAIN).enabled).toBe(false);
    expect(tracingConfigFromEnv({ ...ENDPOINT, OTEL_SDK_DISABLED: 'true' }, USER_SERVICE_MAIN).enabled).toBe(false);
    expect(tracingConfigFromEnv({ ...ENDPOINT, OTEL_TRACES_EXPORTER: 'none' }, USER_SERVICE_MAIN).enabled).toBe(false);
  });

  it('is on with a general or a traces endpoint, or the console exporter', () => {
    expect(tracingConfigFromEnv(ENDPOINT, USER_SERVICE_MAIN).enabled).toBe(true);
    expect(
      tracingConfigFromEnv({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/v1/traces' }, USER_SERVICE_MAIN)
        .enabled,
    ).toBe(true);
    expect(tracingConfigFromEnv({ OTEL_TRACES_EXPORTER: 'console' }, USER_SERVICE_MAIN).enabled).toBe(true);
  });

  it('names the service after its package unless told otherwise, and describes where it runs', () => {
    expect(tracingConfigFromEnv(ENDPOINT, USER_SERVICE_MAIN)).toEqual({
      enabled: true,
      resourceAttributes: {
        'service.name': 'user-service',
        'service.version': '0.1.0',
        'deployment.environment.name': 'local',
      },
    });
    const config = tracingConfigFromEnv(
      {
        ...ENDPOINT,
        SWITCHYARD_SERVICE_NAME: 'users',
        SWITCHYARD_SERVICE_VERSION: '2.0.0',
        DEPLOYMENT_ENVIRONMENT: 'staging',
        K8S_POD_NAME: 'users-7f9c-abcde',
        K8S_NAMESPACE_NAME: 'switchyard',
      },
      USER_SERVICE_MAIN,
    );
    expect(config).toEqual({
      enabled: true,
      resourceAttributes: {
        'service.name': 'users',
        'service.version': '2.0.0',
        'deployment.environment.name': 'staging',
        'k8s.pod.name': 'users-7f9c-abcde',
        'k8s.namespace.name': 'switchyard',
      },
    });
  });

  it('falls back to a generic name when there is no package to read', () => {
    const config = tracingConfigFromEnv(ENDPOINT, '/no/such/dir/main.js');
    expect(config.enabled && config.resourceAttributes['service.name']).toBe('unknown_service:node');
  });
});
