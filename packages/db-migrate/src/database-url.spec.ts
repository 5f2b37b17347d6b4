import { describe, expect, it } from '@jest/globals';
import { databaseNameOf, maskDatabaseUrl, withDatabaseName } from './database-url.js';

describe('database URLs', () => {
  it('masks the password and keeps the rest', () => {
    expect(maskDatabaseUrl('postgresql://app:s3cr3t@db:5432/users?sslmode=require')).toBe(
      'postgresql://app:***@db:5432/users?sslmode=require',
    );
    expect(maskDatabaseUrl('postgresql://app@db/users')).toBe('postgresql://app@db/users');
  });

  it('never echoes a URL it cannot parse', () => {
    expect(maskDatabaseUrl('app:s3cr3t@db/users')).toBe('[unparseable database url]');
    expect(() => databaseNameOf('app:s3cr3t@db/users')).toThrow(/^(?!.*s3cr3t)/);
  });

  it('reads the database name, decoding it', () => {
    expect(databaseNameOf('postgresql://app@db:5432/my%20db')).toBe('my db');
    expect(() => databaseNameOf('postgresql://app:s3cr3t@db:5432')).toThrow(
      'postgresql://app:***@db:5432 names no database',
    );
    expect(() => databaseNameOf('mysql://app@db/x')).toThrow('is not a postgresql:// URL');
  });

  it('points a URL at another database without losing credentials or options', () => {
    expect(withDatabaseName('postgres://app:pw@db:5432/users?sslmode=require', 'users_scratch')).toBe(
      'postgres://app:pw@db:5432/users_scratch?sslmode=require',
    );
    expect(databaseNameOf(withDatabaseName('postgresql://app@db/users', 'we"ird/name'))).toBe('we"ird/name');
  });
});
