import 'reflect-metadata';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { Controller, Get, type INestApplication, Module, Post } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { PrismaPg } from '@prisma/adapter-pg';
import {
  createTestDatabase,
  type FaultProxy,
  freePort,
  startFaultProxy,
  type TestDatabase,
  waitFor,
} from '@switchyard/testing';
import pg from 'pg';
import request from 'supertest';
import { fileURLToPath } from 'node:url';
// A real service's generated client (Prisma 7 + @prisma/adapter-pg, as the services build it): the errors under test
// are the ones Prisma raises, and only a generated client raises them.
import { PrismaClient } from '../../../../services/user-service/src/generated/prisma/client.js';
import { DATABASE_RETRY_AFTER_SECONDS, HttpErrorFilter, isDatabaseUnavailable } from './http-error.filter.js';

const USER_SERVICE_SCHEMA = fileURLToPath(
  new URL('../../../../services/user-service/prisma/schema.prisma', import.meta.url),
);
const UNAVAILABLE = { statusCode: 503, error: 'Service Unavailable', message: 'database unavailable, retry later' };
const SLOW_QUERY = 'SELECT pg_sleep(30) /* http-error.filter.spec */';

/** The client the routes use; a test may swap it (say, for one aimed at a port nobody listens on). */
const database: { client: PrismaClient } = { client: undefined as unknown as PrismaClient };

function prismaClient(connectionString: string): PrismaClient {
  return new PrismaClient({
    adapter: new PrismaPg({ connectionString, connectionTimeoutMillis: 2_000 }),
    errorFormat: 'minimal',
  });
}

@Controller()
class ProbeController {
  @Get('users/count')
  async count(): Promise<{ users: number }> {
    return { users: await database.client.user.count() };
  }

  @Get('raw')
  async raw(): Promise<unknown> {
    await database.client.$queryRaw`SELECT 1`;
    return { ok: true };
  }

  @Get('slow')
  async slow(): Promise<unknown> {
    await database.client.$queryRawUnsafe(SLOW_QUERY);
    return { ok: true };
  }

  @Post('tx')
  async tx(): Promise<{ users: number }> {
    return { users: await database.client.$transaction(async (t) => t.user.count()) };
  }

  @Get('bad-sql')
  async badSql(): Promise<unknown> {
    return database.client.$queryRawUnsafe('SELEC 1');
  }

  @Get('bug')
  bug(): never {
    throw new Error('a plain bug');
  }
}

@Module({ controllers: [ProbeController] })
class ProbeModule {}

let db: TestDatabase;
let proxy: FaultProxy;
let app: INestApplication;
let http: ReturnType<typeof request>;
let viaProxy: PrismaClient;

beforeAll(async () => {
  db = await createTestDatabase('http_db_unavailable', USER_SERVICE_SCHEMA);
  proxy = await startFaultProxy('app → postgres', { port: Number(new URL(db.url).port || 5432) });
  const url = new URL(db.url);
  url.port = String(proxy.port);
  viaProxy = prismaClient(url.toString());
  app = await NestFactory.create(ProbeModule, { logger: false });
  app.useGlobalFilters(new HttpErrorFilter());
  await app.init();
  http = request(app.getHttpServer());
}, 60_000);

afterAll(async () => {
  await app?.close();
  await viaProxy?.$disconnect();
  await proxy?.close();
  await db?.drop();
});

beforeEach(async () => {
  proxy.passThrough();
  database.client = viaProxy;
  await waitFor(
    'the database to answer through the proxy',
    async () => (await http.get('/users/count')).status === 200,
  );
});

function expectUnavailable(response: request.Response): void {
  expect({
    status: response.status,
    body: response.body as unknown,
    retryAfter: response.headers['retry-after'],
  }).toEqual({
    status: 503,
    body: UNAVAILABLE,
    retryAfter: String(DATABASE_RETRY_AFTER_SECONDS),
  });
}

describe('HttpErrorFilter: a database that cannot be reached is a 503 with Retry-After, not a 500', () => {
  it('when every connection to the database is reset (model query, raw query, transaction), and answers again once it is back', async () => {
    proxy.setMode({ kind: 'reset' });
    expectUnavailable(await http.get('/users/count'));
    expectUnavailable(await http.get('/raw'));
    expectUnavailable(await http.post('/tx'));
    proxy.passThrough();
    await waitFor('the pool to reconnect', async () => (await http.get('/users/count')).status === 200);
  });

  it('when nothing listens on the database port (ECONNREFUSED)', async () => {
    const url = new URL(db.url);
    url.port = String(await freePort());
    const refused = prismaClient(url.toString());
    database.client = refused;
    try {
      expectUnavailable(await http.get('/users/count'));
      expectUnavailable(await http.post('/tx'));
    } finally {
      await refused.$disconnect();
    }
  });

  it('when the backend serving the query is terminated (57P01 admin_shutdown)', async () => {
    const answer = http.get('/slow').then((response) => response);
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    try {
      await waitFor(
        'the slow query to run',
        async () =>
          (await admin.query('SELECT 1 FROM pg_stat_activity WHERE datname = $1 AND query = $2', [db.name, SLOW_QUERY]))
            .rowCount === 1,
      );
      await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND query = $2', [
        db.name,
        SLOW_QUERY,
      ]);
    } finally {
      await admin.end();
    }
    expectUnavailable(await answer);
  });

  it('when a new connection times out on a silently dead network path (blackhole)', async () => {
    // Open connections are cut first: a query already on a blackholed connection waits for TCP to give up.
    proxy.resetConnections();
    proxy.blackhole();
    expectUnavailable(await http.get('/users/count'));
  }, 20_000);

  it('keeps other failures a 500 without Retry-After: a bug, and SQL the database rejects', async () => {
    for (const path of ['/bug', '/bad-sql']) {
      const response = await http.get(path);
      expect(response.status).toBe(500);
      expect(response.body).toEqual({
        statusCode: 500,
        error: 'Internal Server Error',
        message: 'internal server error',
      });
      expect(response.headers['retry-after']).toBeUndefined();
    }
  });
});

describe('isDatabaseUnavailable', () => {
  // Shapes observed from @prisma/adapter-pg above; these SQLSTATEs need a server starting up or shutting down.
  const adapterPostgresError = (code: string) => ({
    code: 'P2010',
    meta: { driverAdapterError: { name: 'DriverAdapterError', cause: { kind: 'postgres', code } } },
  });

  it.each(['57P03', '08006', '08001', '57P02', '53300'])(
    'recognises SQLSTATE %s inside a Prisma raw-query error',
    (code) => {
      expect(isDatabaseUnavailable(adapterPostgresError(code))).toBe(true);
    },
  );

  it.each(['23505', '42601', '57014', '40001', '08P01'])(
    'leaves SQLSTATE %s (a request or data problem, or our own protocol bug) alone',
    (code) => {
      expect(isDatabaseUnavailable(adapterPostgresError(code))).toBe(false);
    },
  );

  it('follows `cause` and AggregateError members (pg on a dual-stack host), and ignores non-errors', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    expect(isDatabaseUnavailable(new Error('query failed', { cause: new AggregateError([refused], '') }))).toBe(true);
    expect(isDatabaseUnavailable(new Error('no'))).toBe(false);
    expect(isDatabaseUnavailable('ECONNREFUSED')).toBe(false);
    expect(isDatabaseUnavailable(null)).toBe(false);
  });
});
