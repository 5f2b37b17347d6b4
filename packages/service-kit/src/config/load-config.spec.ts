import { describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { baseConfigShape, ConfigError, loadConfig, portSetting } from './load-config.js';

const schema = z.object({ ...baseConfigShape, PORT: portSetting(3001) });

describe('loadConfig', () => {
  it('applies defaults and coerces numbers', () => {
    const config = loadConfig(schema, {
      DATABASE_URL: 'postgresql://postgres@127.0.0.1:5432/users',
      RABBITMQ_URL: 'amqp://guest:guest@127.0.0.1:5672',
    });
    expect(config).toMatchObject({
      PORT: 3001,
      LOG_LEVEL: 'info',
      BODY_LIMIT_BYTES: 102400,
      SHUTDOWN_TIMEOUT_MS: 9000,
    });
    expect(config.RABBITMQ_EXCHANGE).toBe('switchyard.events');
    expect(config.DATABASE_POOL_MAX).toBe(25);
    expect(config.MESSAGING_RETRY_DELAYS_MS).toEqual([1000, 5000, 30000, 120000, 600000]);
  });

  it('names a missing variable', () => {
    expect(() => loadConfig(schema, { RABBITMQ_URL: 'amqp://127.0.0.1' })).toThrow(
      new ConfigError('invalid configuration: DATABASE_URL is required but not set'),
    );
    expect(() => loadConfig(schema, { DATABASE_URL: 'postgresql://127.0.0.1/x' })).toThrow(
      new ConfigError('invalid configuration: RABBITMQ_URL is required but not set'),
    );
  });

  it('names every bad variable on one line without echoing values', () => {
    let message = '';
    try {
      loadConfig(schema, {
        DATABASE_URL: 'mysql://root:hunter2@db/x',
        RABBITMQ_URL: 'amqp://u:p@h',
        PORT: '70000',
        LOG_LEVEL: 'loud',
        MESSAGING_RETRY_DELAYS_MS: '1s,5s',
      });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('DATABASE_URL must be a postgres:// or postgresql:// URL');
    expect(message).toContain('PORT must be between 1 and 65535');
    expect(message).toContain('LOG_LEVEL must be one of');
    expect(message).toContain('MESSAGING_RETRY_DELAYS_MS must be a comma-separated list of milliseconds');
    expect(message).not.toContain('hunter2');
    expect(message.split('\n')).toHaveLength(1);
  });

  it('treats an empty string as unset', () => {
    expect(() => loadConfig(schema, { DATABASE_URL: '', RABBITMQ_URL: 'amqp://127.0.0.1' })).toThrow(
      /DATABASE_URL is required/,
    );
  });
});
