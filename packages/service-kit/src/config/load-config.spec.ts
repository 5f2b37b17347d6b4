import { describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { baseConfigShape, ConfigError, loadConfig, metricsPortSetting, portSetting } from './load-config.js';

const schema = z.object({ ...baseConfigShape, PORT: portSetting(3001) });

describe('loadConfig', () => {
  it('applies defaults and coerces numbers', () => {
    const config = loadConfig(schema, { DATABASE_URL: 'postgresql://postgres@127.0.0.1:5432/users' });
    expect(config).toMatchObject({
      PORT: 3001,
      LOG_LEVEL: 'info',
      BODY_LIMIT_BYTES: 102400,
      SHUTDOWN_TIMEOUT_MS: 9000,
    });
    expect(config.DATABASE_POOL_MAX).toBe(25);
  });

  it('names a missing variable', () => {
    expect(() => loadConfig(schema, { LOG_LEVEL: 'debug' })).toThrow(
      new ConfigError('invalid configuration: DATABASE_URL is required but not set'),
    );
  });

  it('names every bad variable on one line without echoing values', () => {
    let message = '';
    try {
      loadConfig(schema, {
        DATABASE_URL: 'mysql://root:hunter2@db/x',
        PORT: '70000',
        LOG_LEVEL: 'loud',
      });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('DATABASE_URL must be a postgres:// or postgresql:// URL');
    expect(message).toContain('PORT must be between 1 and 65535');
    expect(message).toContain('LOG_LEVEL must be one of');
    expect(message).not.toContain('hunter2');
    expect(message.split('\n')).toHaveLength(1);
  });

  it('treats an empty string as unset', () => {
    expect(() => loadConfig(schema, { DATABASE_URL: '', LOG_LEVEL: 'debug' })).toThrow(/DATABASE_URL is required/);
  });
});

describe('METRICS_PORT, API_DOCS_ENABLED and TLS in DATABASE_URL', () => {
  const withMetrics = z.object({ ...baseConfigShape, PORT: portSetting(3001), METRICS_PORT: metricsPortSetting(9464) });
  const base = { DATABASE_URL: 'postgresql://app@db:5432/users?sslmode=verify-full&sslrootcert=/etc/tls/ca.crt' };

  it('defaults to the service metrics port and docs on, and keeps sslmode in the URL', () => {
    expect(loadConfig(withMetrics, base)).toMatchObject({
      METRICS_PORT: 9464,
      API_DOCS_ENABLED: true,
      DATABASE_URL: base.DATABASE_URL,
    });
  });

  it('takes 0 (a free port) and false', () => {
    expect(loadConfig(withMetrics, { ...base, METRICS_PORT: '0', API_DOCS_ENABLED: 'false' })).toMatchObject({
      METRICS_PORT: 0,
      API_DOCS_ENABLED: false,
    });
  });

  it('names a bad metrics port or docs switch', () => {
    expect(() => loadConfig(withMetrics, { ...base, METRICS_PORT: '65536', API_DOCS_ENABLED: 'perhaps' })).toThrow(
      new ConfigError(
        'invalid configuration: API_DOCS_ENABLED must be true or false; METRICS_PORT must be between 0 and 65535',
      ),
    );
  });
});
