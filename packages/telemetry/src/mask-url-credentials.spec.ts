import { describe, expect, it } from '@jest/globals';
import { maskUrlCredentials } from './mask-url-credentials.js';

describe('maskUrlCredentials', () => {
  it('replaces the password and keeps user, host and path', () => {
    expect(maskUrlCredentials('amqp://switchyard:s3cr3t@rabbit:5672/vhost')).toBe('amqp://switchyard:***@rabbit:5672/vhost');
  });

  it('leaves a URL without a password unchanged', () => {
    expect(maskUrlCredentials('postgresql://postgres@127.0.0.1:5432/users')).toBe('postgresql://postgres@127.0.0.1:5432/users');
  });

  it('never echoes input it cannot parse', () => {
    expect(maskUrlCredentials('postgres://app:pa ss word@db/users')).toBe('[unparseable url]');
  });
});
