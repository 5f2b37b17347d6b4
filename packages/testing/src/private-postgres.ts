// A Postgres cluster of the test's own, for tests that terminate backends or restart the server: those must never
// touch the shared cluster (5432) other tests use at the same time. initdb into a temp directory (as the `postgres`
// user when we are root: the server refuses to run as root), trust auth, listening on 127.0.0.1 only.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from './service-process.js';

const POSTGRES_BIN = process.env.POSTGRES_BIN ?? '/usr/lib/postgresql/15/bin';
const COMMAND_TIMEOUT_MS = 120_000;

export interface PrivatePostgres {
  port: number;
  /** `postgresql://postgres@127.0.0.1:<port>/<database>`. */
  url(database?: string): string;
  /** Runs one statement on `database` over a direct (never proxied) connection. */
  query<Row extends Record<string, unknown> = Record<string, unknown>>(
    sql: string,
    params?: unknown[],
    database?: string,
  ): Promise<Row[]>;
  createDatabase(name: string): Promise<string>;
  /** `pg_terminate_backend` on every client backend of `database` (or of every database); returns how many. */
  terminateBackends(database?: string): Promise<number>;
  /** `pg_ctl restart -m fast`: every connection is dropped and the server is down for a moment. */
  restart(): Promise<void>;
  /** Stops the server and deletes the cluster. Safe to call twice and after a failed start. */
  stop(): Promise<void>;
}

export async function startPrivatePostgres(label: string): Promise<PrivatePostgres> {
  const dir = mkdtempSync(join(tmpdir(), `sy-postgres-${label}-`));
  const dataDir = join(dir, 'data');
  const port = await freePort();
  const asRoot = userInfo().uid === 0;
  const run = (tool: string, args: string[]): Promise<string> =>
    new Promise((resolve, reject) => {
      const [command, argv] = asRoot
        ? ['runuser', ['-u', 'postgres', '--', join(POSTGRES_BIN, tool), ...args]]
        : [join(POSTGRES_BIN, tool), args];
      execFile(command, argv, { timeout: COMMAND_TIMEOUT_MS }, (error, stdout, stderr) => {
        if (!error) return resolve(stdout);
        reject(new Error(`${tool} ${args.join(' ')} failed: ${String(stderr || stdout || error.message).trim()}`));
      });
    });
  // fsync off: the cluster is thrown away after the test, and its durability is not what is under test.
  const serverOptions = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300`;
  const pgCtl = (action: string, extra: string[] = []): Promise<string> =>
    run('pg_ctl', ['-D', dataDir, '-l', join(dir, 'server.log'), '-w', '-t', '120', ...extra, action]);

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    if (existsSync(join(dataDir, 'postmaster.pid'))) await pgCtl('stop', ['-m', 'immediate']).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    if (asRoot)
      await new Promise<void>((resolve, reject) =>
        execFile('chown', ['postgres:postgres', dir], (error) => (error ? reject(error) : resolve())),
      );
    await run('initdb', ['-D', dataDir, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-sync']);
    await pgCtl('start', ['-o', serverOptions]);
  } catch (error) {
    await stop();
    throw new Error(`private Postgres on port ${port} did not start: ${String(error)}`, { cause: error });
  }

  const url = (database = 'postgres'): string => `postgresql://postgres@127.0.0.1:${port}/${database}`;
  const query = async <Row extends Record<string, unknown>>(
    sql: string,
    params: unknown[] = [],
    database = 'postgres',
  ): Promise<Row[]> => {
    const client = new pg.Client({ connectionString: url(database) });
    client.on('error', () => undefined);
    await client.connect();
    try {
      return (await client.query<Row>(sql, params)).rows;
    } finally {
      await client.end().catch(() => undefined);
    }
  };

  return {
    port,
    url,
    query,
    createDatabase: async (name) => {
      await query(`CREATE DATABASE "${name.replace(/"/g, '')}"`);
      return url(name);
    },
    terminateBackends: async (database) => {
      const rows = await query<{ count: string }>(
        `SELECT count(pg_terminate_backend(pid))::text AS count FROM pg_stat_activity
         WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() AND ($1::text IS NULL OR datname = $1)`,
        [database ?? null],
      );
      return Number(rows[0]?.count ?? 0);
    },
    restart: async () => {
      await pgCtl('restart', ['-m', 'fast', '-o', serverOptions]);
    },
    stop,
  };
}
