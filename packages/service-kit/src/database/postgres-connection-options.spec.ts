import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type INestApplicationContext, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { createTestDatabase, type TestDatabase, waitFor } from '@switchyard/testing';
import pg from 'pg';
import { fileURLToPath } from 'node:url';
// A real service's generated client: the pool under test is the one DatabaseModule builds for it.
import { PrismaClient } from '../../../../services/user-service/src/generated/prisma/client.js';
import { HealthModule } from '../health/health.module.js';
import { DatabaseModule } from './database.module.js';
import { postgresConnectionOptions } from './postgres-connection-options.js';

const USER_SERVICE_SCHEMA = fileURLToPath(
  new URL('../../../../services/user-service/prisma/schema.prisma', import.meta.url),
);

let db: TestDatabase;
let admin: pg.Client;
let context: INestApplicationContext;
let prisma: PrismaClient;

beforeAll(async () => {
  db = await createTestDatabase('kit_db_timeouts', USER_SERVICE_SCHEMA);
  admin = new pg.Client({ connectionString: db.url });
  await admin.connect();
  @Module({
    imports: [
      HealthModule,
      DatabaseModule.forPrisma(PrismaClient, {
        databaseUrl: db.url,
        poolMax: 2,
        timeouts: { statementTimeoutMs: 700, idleInTransactionTimeoutMs: 900, keepAliveDelayMs: 3_000 },
        applicationName: 'kit-db-timeouts',
        schemaPath: USER_SERVICE_SCHEMA,
      }),
    ],
  })
  class TestModule {}
  context = await NestFactory.createApplicationContext(TestModule, { logger: false });
  prisma = context.get(PrismaClient);
}, 60_000);

afterAll(async () => {
  await context?.close();
  await admin?.end();
  await db?.drop();
});

describe("DatabaseModule's Prisma pool", () => {
  it('reports the configured statement and idle-in-transaction timeouts', async () => {
    const show = async (setting: string) =>
      Object.values((await prisma.$queryRawUnsafe<Array<Record<string, string>>>(`SHOW ${setting}`))[0]!)[0];
    expect({
      statementTimeout: await show('statement_timeout'),
      idleInTransaction: await show('idle_in_transaction_session_timeout'),
      applicationName: await show('application_name'),
    }).toEqual({ statementTimeout: '700ms', idleInTransaction: '900ms', applicationName: 'kit-db-timeouts' });
  });

  it('fails a query longer than the statement timeout with SQLSTATE 57014 instead of hanging', async () => {
    const started = performance.now();
    const error = await prisma.$queryRawUnsafe('SELECT pg_sleep(10)').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(JSON.stringify(error)).toContain('57014');
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it('has a transaction left idle ended by the server, and the pool serves the next query on a fresh connection', async () => {
    let pid = 0;
    let ended = false;
    const transaction = prisma.$transaction(
      async (tx) => {
        pid = (await tx.$queryRaw<Array<{ pid: number }>>`SELECT pg_backend_pid() AS pid`)[0]!.pid;
        ended = await waitFor(
          'the server to end the idle-in-transaction session',
          async () => (await admin.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid])).rowCount === 0,
          10_000,
        ).then(
          () => true,
          () => false,
        );
        await tx.$queryRaw`SELECT 1`;
      },
      { timeout: 20_000 },
    );
    await expect(transaction).rejects.toBeDefined();
    expect({ pid: pid > 0, ended }).toEqual({ pid: true, ended: true });
    await expect(prisma.$queryRaw`SELECT 1 AS one`).resolves.toEqual([{ one: 1 }]);
  });
});

describe('postgresConnectionOptions', () => {
  it('gives the client a query timeout beyond the server statement timeout, and keepalive', () => {
    expect(postgresConnectionOptions('postgresql://x@h/db', { applicationName: 'a', max: 3 })).toEqual({
      connectionString: 'postgresql://x@h/db',
      application_name: 'a',
      max: 3,
      connectionTimeoutMillis: 5_000,
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
      statement_timeout: 30_000,
      idle_in_transaction_session_timeout: 30_000,
      query_timeout: 35_000,
    });
  });
});
