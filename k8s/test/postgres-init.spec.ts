// The postgres chart's init script against this machine's Postgres: rendered from the chart with database and role
// names of the test's own, run the way the image's entrypoint runs it (bash, psql as the superuser, the passwords in
// PASSWORD_<USER> / APP_PASSWORD_<USER>), then user-service's migrations are applied as the owner role. The runtime
// role <database>_app can then read and write every table the migrations made, and create, alter or drop none.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { deployMigrations } from '@switchyard/db-migrate';
import { helmAsync, TEST_POSTGRES_URL } from '@switchyard/testing';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { parseAllDocuments } from 'yaml';
import { chartWorkspace, type ChartWorkspace } from './chart-workspace.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const USER_SERVICE_SCHEMA = path.join(repoRoot, 'services', 'user-service', 'prisma', 'schema.prisma');
const suffix = randomBytes(3).toString('hex');
const database = `switchyard_test_init_${suffix}`;
const owner = `init_owner_${suffix}`;
const app = `${database}_app`;
const passwords = { owner: randomBytes(12).toString('hex'), app: randomBytes(12).toString('hex') };

let workspace: ChartWorkspace;
const server = new URL(TEST_POSTGRES_URL);
const urlAs = (user: string, password: string) => {
  const url = new URL(TEST_POSTGRES_URL);
  url.username = user;
  url.password = password;
  url.pathname = `/${database}`;
  return url.toString();
};

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

beforeAll(async () => {
  workspace = await chartWorkspace();
  const rendered = await helmAsync([
    'template', 'r', path.join(workspace.dir, 'postgres'), '--show-only', 'templates/init-configmap.yaml',
    '--set-json', `databases=[{"name":"${database}","user":"${owner}","secretSuffix":"init"}]`,
  ]);
  const configMap = parseAllDocuments(rendered)[0]!.toJS() as { data: Record<string, string> };
  const env = owner.toUpperCase();
  await new Promise<void>((resolve, reject) =>
    execFile('bash', ['-e', '-c', configMap.data['10-switchyard-databases.sh']!], {
      env: {
        ...process.env,
        POSTGRES_USER: decodeURIComponent(server.username) || 'postgres',
        PGHOST: server.hostname,
        PGPORT: server.port || '5432',
        [`PASSWORD_${env}`]: passwords.owner,
        [`APP_PASSWORD_${env}`]: passwords.app,
      },
      timeout: 60_000,
    }, (error, _stdout, stderr) => (error ? reject(new Error(`init script failed: ${stderr}`)) : resolve())),
  );
  await deployMigrations({ databaseUrl: urlAs(owner, passwords.owner), schemaPath: USER_SERVICE_SCHEMA });
}, 300_000);

afterAll(async () => {
  const admin = new pg.Client({ connectionString: TEST_POSTGRES_URL });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(database)} WITH (FORCE)`);
  for (const role of [app, owner]) await admin.query(`DROP ROLE IF EXISTS ${pg.escapeIdentifier(role)}`);
  await admin.end();
  workspace?.remove();
}, 60_000);

describe("the postgres chart's init script", () => {
  it('makes the owner own the migrated tables, and the runtime role neither superuser nor owner of anything', async () => {
    expect(await run(urlAs(owner, passwords.owner), `SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'`)).toEqual({ rows: [{ tableowner: owner }] });
    expect(await run(urlAs(app, passwords.app), `SELECT rolsuper, rolcreatedb, rolcreaterole FROM pg_roles WHERE rolname = current_user`)).toEqual({
      rows: [{ rolsuper: false, rolcreatedb: false, rolcreaterole: false }],
    });
  });

  it('lets the runtime role read and write the tables of the migrations, and refuses it DDL (42501)', async () => {
    const asApp = urlAs(app, passwords.app);
    expect(await run(asApp, 'SELECT count(*)::int AS n FROM users')).toEqual({ rows: [{ n: 0 }] });
    expect(await run(asApp, 'DELETE FROM outbox_events WHERE false')).toEqual({ rows: [] });
    for (const ddl of ['CREATE TABLE intruder (id int)', 'ALTER TABLE users ADD COLUMN x int', 'DROP TABLE users', 'TRUNCATE users']) {
      expect({ ddl, result: await run(asApp, ddl) }).toEqual({ ddl, result: { code: '42501' } });
    }
  });

  it('grants the runtime role a table a later migration creates as the owner (default privileges)', async () => {
    expect(await run(urlAs(owner, passwords.owner), 'CREATE TABLE later (id serial PRIMARY KEY)')).toEqual({ rows: [] });
    expect(await run(urlAs(app, passwords.app), 'INSERT INTO later DEFAULT VALUES RETURNING id')).toEqual({ rows: [{ id: 1 }] });
  });
});
