import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { ensureRuntimeRole, runtimeRoleName } from '@switchyard/db-migrate';
import { createTestDatabase, createTestVhost, type TestDatabase, type TestVhost } from '@switchyard/testing';
import pg from 'pg';
import request from 'supertest';
import { SCHEMA_PATH } from '../src/app.module.js';
import { PrismaClient } from '../src/generated/prisma/client.js';
import { startUserServiceApp } from './user-service-app.js';

let db: TestDatabase;
let vhost: TestVhost;
let app: INestApplication;

beforeAll(async () => {
  [db, vhost] = await Promise.all([createTestDatabase('users_roles', SCHEMA_PATH), createTestVhost('users_roles')]);
  app = await startUserServiceApp(db.url, vhost.url);
});

afterAll(async () => {
  await app?.close();
  await Promise.all([db?.drop(), vhost?.drop()]);
});

/** Runs `sql` on a fresh connection to the test database as `url`'s role; returns the rows or the SQLSTATE it failed with. */
async function run(url: string, sql: string): Promise<{ rows: Record<string, unknown>[] } | { code: string }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return { rows: (await client.query(sql)).rows as Record<string, unknown>[] };
  } catch (error) {
    return { code: (error as { code?: string }).code ?? String(error) };
  } finally {
    await client.end();
  }
}

describe('the runtime database role', () => {
  it('is what the service runs as: not the owner, and it serves requests with it', async () => {
    const [who] = await app.get(PrismaClient).$queryRaw<Array<{ user: string }>>`SELECT current_user AS "user"`;
    expect(who!.user).toBe(runtimeRoleName(db.ownerUrl));
    await request(app.getHttpServer())
      .post('/users')
      .send({ email: `roles.${Date.now()}@example.com`, name: 'Rolf', password: 'correct horse battery staple' })
      .expect(201);
    const owners = await run(db.ownerUrl, `SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'`);
    expect(owners).toEqual({ rows: [{ tableowner: 'postgres' }] });
  });

  it('cannot create, alter or drop tables (42501 insufficient_privilege), nor truncate', async () => {
    expect(await run(db.url, 'CREATE TABLE intruder (id int)')).toEqual({ code: '42501' });
    expect(await run(db.url, 'ALTER TABLE users ADD COLUMN intruder int')).toEqual({ code: '42501' });
    expect(await run(db.url, 'DROP TABLE users')).toEqual({ code: '42501' });
    expect(await run(db.url, 'TRUNCATE users')).toEqual({ code: '42501' });
    expect(await run(db.url, 'CREATE SCHEMA intruder')).toEqual({ code: '42501' });
  });

  it('reads and writes rows of its own tables', async () => {
    const before = await run(db.url, 'SELECT count(*)::int AS n FROM outbox_events');
    expect(before).toEqual({ rows: [{ n: expect.any(Number) }] });
    expect(await run(db.url, `UPDATE users SET name = name WHERE false`)).toEqual({ rows: [] });
    expect(await run(db.url, `DELETE FROM users WHERE false`)).toEqual({ rows: [] });
  });

  it('gets DML on a table a later migration (run as the owner) creates, through default privileges', async () => {
    expect(await run(db.ownerUrl, 'CREATE TABLE later_migration (id serial PRIMARY KEY, note text)')).toEqual({
      rows: [],
    });
    expect(await run(db.url, `INSERT INTO later_migration (note) VALUES ('hi') RETURNING id`)).toEqual({
      rows: [{ id: 1 }],
    });
    expect(await run(db.url, 'DROP TABLE later_migration')).toEqual({ code: '42501' });
  });

  it('is created idempotently: granting again changes nothing and keeps the app working', async () => {
    await ensureRuntimeRole({ ownerUrl: db.ownerUrl, role: runtimeRoleName(db.ownerUrl) });
    await request(app.getHttpServer()).get('/health/ready').expect(200);
  });
});
