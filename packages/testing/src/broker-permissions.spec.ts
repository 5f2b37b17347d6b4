import { describe, expect, it } from '@jest/globals';
import { eventCatalog } from '@switchyard/contracts';
import { brokerIdentityDefinitions, rabbitPasswordHash } from './broker-identities.js';
import { BROKER_IDENTITIES, brokerPermissions, SERVICE_IDENTITIES } from './broker-permissions.js';
import { createHash } from 'node:crypto';

describe('brokerPermissions', () => {
  const permissions = brokerPermissions();

  it('gives the administrator tag to nobody and impersonator to the DLQ tooling alone', () => {
    expect(permissions.map((p) => p.user)).toEqual(BROKER_IDENTITIES);
    expect(permissions.flatMap((p) => p.tags)).toEqual(['impersonator']);
    expect(permissions.find((p) => p.tags.includes('impersonator'))?.user).toBe('switchyard-dlq');
  });

  it('lets each event type be published by its catalog producer only (catalog producer = broker user)', () => {
    for (const { type, producer } of eventCatalog.eventFamilies) {
      expect(Object.keys(SERVICE_IDENTITIES)).toContain(producer);
      for (const { user, topic } of permissions.filter((p) => p.user !== 'switchyard-dlq')) {
        expect({ type, user, allowed: new RegExp(topic.write).test(type) }).toEqual({
          type,
          user,
          allowed: user === producer,
        });
      }
    }
  });

  it('confines each service to its own queues, anchored (the table the README and the RabbitMQ chart mirror)', () => {
    const userService = permissions.find((p) => p.user === 'user-service')!;
    expect(userService).toEqual({
      user: 'user-service',
      tags: [],
      configure: '^(user-service\\..*|switchyard\\.events)$',
      write: '^(user-service\\..*|switchyard\\.events|amq\\.default)$',
      read: '^(user-service\\..*|switchyard\\.events)$',
      topic: { exchange: 'switchyard.events', write: '^user\\.', read: '.*' },
    });
    const read = new RegExp(userService.read);
    expect(['user-service.order-events', 'user-service.order-events.dlq'].every((q) => read.test(q))).toBe(true);
    expect(['order-service.user-events', 'x.user-service.q', 'user-servicex.q'].some((q) => read.test(q))).toBe(false);
    expect(permissions.find((p) => p.user === 'switchyard-dlq')).toMatchObject({
      configure: '^$',
      write: '^switchyard\\.events$',
      read: '^(user-service|order-service)\\..*$',
      topic: { write: '.*', read: '^$' },
    });
  });

  it('escapes the exchange name it is given', () => {
    expect(brokerPermissions('a.b+c')[0]!.configure).toBe('^(user-service\\..*|a\\.b\\+c)$');
  });
});

describe('brokerIdentityDefinitions', () => {
  it('hashes passwords as rabbit_password_hashing_sha256 and grants full access only to whom it is told', () => {
    const passwords = Object.fromEntries(BROKER_IDENTITIES.map((user) => [user, `pw-${user}`]));
    const definitions = brokerIdentityDefinitions({ vhost: 'v', passwords, fullAccess: ['guest'] }) as {
      users: Array<{ name: string; password_hash: string }>;
      permissions: Array<{ user: string; write: string }>;
    };
    const hash = Buffer.from(definitions.users[0]!.password_hash, 'base64');
    const salt = hash.subarray(0, 4);
    const expected = createHash('sha256')
      .update(Buffer.concat([salt, Buffer.from('pw-user-service')]))
      .digest();
    expect(hash.subarray(4)).toEqual(expected);
    expect(definitions.permissions.filter((p) => p.write === '.*').map((p) => p.user)).toEqual(['guest']);
    expect(rabbitPasswordHash('x')).not.toBe(rabbitPasswordHash('x'));
  });

  it('refuses passwords missing for an identity, naming it', () => {
    expect(() => brokerIdentityDefinitions({ vhost: 'v', passwords: { 'user-service': 'x' } })).toThrow(
      "passwords has no password for the broker identity 'order-service'",
    );
  });
});
