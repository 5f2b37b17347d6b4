import { describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { baseConfigShape, ConfigError, loadConfig, portSetting } from './load-config.js';

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
