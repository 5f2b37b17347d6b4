import { describe, expect, it } from '@jest/globals';
import { baseConfigShape, ConfigError, loadConfig, portSetting } from '@switchyard/service-kit';
import { z } from 'zod';
import { messagingConfigShape } from './messaging-config.js';

/** Composed as the services compose it. */
const schema = z.object({ ...baseConfigShape, ...messagingConfigShape, PORT: portSetting(3001) });
const DATABASE_URL = 'postgresql://postgres@127.0.0.1:5432/users';

describe('messagingConfigShape', () => {
  it('applies the documented defaults', () => {
    const config = loadConfig(schema, { DATABASE_URL, RABBITMQ_URL: 'amqp://guest:guest@127.0.0.1:5672' });
    expect(config.RABBITMQ_EXCHANGE).toBe('switchyard.events');
    expect(config.MESSAGING_RETRY_DELAYS_MS).toEqual([1000, 5000, 30000, 120000, 600000]);
    expect(config.CONSUMER_POLICY_DIR).toBeUndefined();
    expect(config.CONSUMER_POLICY_POLL_MS).toBe(2000);
    expect(config.MESSAGING_MAX_MESSAGE_BYTES).toBe(1024 * 1024);
    expect(config.MESSAGING_RELAY_STUCK_AFTER_MS).toBe(120_000);
    expect(config.MESSAGING_OUTBOX_UNROUTABLE_MAX_ATTEMPTS).toBe(20);
    expect(config.MESSAGING_RELAY_DATABASE_URL).toBeUndefined();
  });

  it('takes a separate database URL for the relay, and refuses one that is not postgres', () => {
    const relayUrl = 'postgresql://postgres@127.0.0.1:6432/users';
    const config = loadConfig(schema, {
      DATABASE_URL,
      RABBITMQ_URL: 'amqp://guest:guest@127.0.0.1:5672',
      MESSAGING_RELAY_DATABASE_URL: relayUrl,
    });
    expect(config.MESSAGING_RELAY_DATABASE_URL).toBe(relayUrl);
    expect(() =>
      loadConfig(schema, {
        DATABASE_URL,
        RABBITMQ_URL: 'amqp://guest:guest@127.0.0.1:5672',
        MESSAGING_RELAY_DATABASE_URL: 'mysql://root:hunter2@db/x',
      }),
    ).toThrow(/MESSAGING_RELAY_DATABASE_URL must be a postgres:\/\/ or postgresql:\/\/ URL/);
  });

  it('names a missing broker URL', () => {
    expect(() => loadConfig(schema, { DATABASE_URL: 'postgresql://127.0.0.1/x' })).toThrow(
      new ConfigError('invalid configuration: RABBITMQ_URL is required but not set'),
    );
  });

  it('names every bad variable on one line without echoing values', () => {
    let message = '';
    try {
      loadConfig(schema, {
        DATABASE_URL,
        RABBITMQ_URL: 'http://u:hunter2@h',
        MESSAGING_RETRY_DELAYS_MS: '1s,5s',
        CONSUMER_POLICY_POLL_MS: '50',
        MESSAGING_MAX_MESSAGE_BYTES: '1kb',
        MESSAGING_RELAY_STUCK_AFTER_MS: '500',
        MESSAGING_OUTBOX_UNROUTABLE_MAX_ATTEMPTS: '0',
      });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('RABBITMQ_URL must be an amqp:// or amqps:// URL');
    expect(message).toContain('MESSAGING_RETRY_DELAYS_MS must be a comma-separated list of milliseconds');
    expect(message).toContain('CONSUMER_POLICY_POLL_MS must be between 100 and 600000');
    expect(message).toContain('MESSAGING_MAX_MESSAGE_BYTES must be a number of bytes');
    expect(message).toContain('MESSAGING_RELAY_STUCK_AFTER_MS must be between 1000 and 3600000');
    expect(message).toContain('MESSAGING_OUTBOX_UNROUTABLE_MAX_ATTEMPTS must be between 1 and 1000');
    expect(message).not.toContain('hunter2');
    expect(message.split('\n')).toHaveLength(1);
  });
});
