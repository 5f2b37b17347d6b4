import { afterEach, describe, expect, it } from '@jest/globals';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { addAccountField, copyFixture, removeDir, uniqueDatabaseUrl, type FixtureProject } from '../test/support.js';
import { dropDatabase } from './ensure-database.js';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, runCli } from './run-cli.js';

const PASSWORD = 'Sup3r-Secret-pw';

describe('switchyard-migrate CLI', () => {
  const databases: string[] = [];
  const projects: FixtureProject[] = [];

  afterEach(async () => {
    await Promise.all(databases.splice(0).map((url) => dropDatabase(url)));
    await Promise.all(projects.splice(0).map((project) => removeDir(project.dir)));
  });

  /** A database URL carrying a password (the test server trusts every local connection, so it is ignored). */
  function databaseUrlWithPassword(label: string): string {
    const url = new URL(uniqueDatabaseUrl(label));
    url.password = PASSWORD;
    databases.push(url.toString());
    return url.toString();
  }

  async function project(): Promise<FixtureProject> {
    const copy = await copyFixture();
    projects.push(copy);
    return copy;
  }

  async function run(argv: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; out: string; err: string }> {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runCli(argv, env, { out: (line) => out.push(line), err: (line) => err.push(line) });
    return { code, out: out.join('\n'), err: err.join('\n') };
  }

  it('fails with one line naming DATABASE_URL when it is missing', async () => {
    const { schemaPath } = await project();

    const result = await run(['deploy', '--schema', schemaPath], {});

    expect(result.code).toBe(EXIT_USAGE);
    expect(result.err.split('\n')).toEqual([
      'switchyard-migrate: DATABASE_URL is not set: export the PostgreSQL URL to migrate',
    ]);
  });

  it.each([
    [[], 'a command is required'],
    [['migrate'], 'unknown command "migrate"'],
    [['status', '--verbose'], "Unknown option '--verbose'"],
    [['create'], 'create takes one migration name'],
    [['deploy', 'extra'], 'deploy takes no arguments'],
    [['create', '!!!'], 'not a usable migration name'],
    [['status', '--schema', '/nonexistent/schema.prisma'], 'no Prisma schema at /nonexistent/schema.prisma'],
  ])('exits 2 on a usage error: %j', async (argv, message) => {
    const result = await run(argv, { DATABASE_URL: databaseUrlWithPassword('usage') });
    expect(result.code).toBe(EXIT_USAGE);
    expect(result.err).toContain(message);
    expect(result.err).not.toContain(PASSWORD);
  });

  it('rejects a DATABASE_URL that is not a PostgreSQL URL without echoing it', async () => {
    const { schemaPath } = await project();
    const result = await run(['status', '--schema', schemaPath], { DATABASE_URL: `user:${PASSWORD}@host/db` });
    expect(result.code).toBe(EXIT_USAGE);
    expect(result.err).toContain('DATABASE_URL');
    expect(result.err).not.toContain(PASSWORD);
  });

  it('prints help with exit 0', async () => {
    const result = await run(['--help'], {});
    expect(result.code).toBe(EXIT_OK);
    expect(result.out).toContain('Usage: switchyard-migrate <command>');
  });

  it('runs status, deploy and check against a real database, masking the password everywhere', async () => {
    const { schemaPath } = await project();
    const env = { DATABASE_URL: databaseUrlWithPassword('cli') };
    const args = ['--schema', schemaPath];
    const masked = `postgresql://postgres:***@${new URL(env.DATABASE_URL).host}${new URL(env.DATABASE_URL).pathname}`;

    const before = await run(['status', ...args], env);
    expect(before).toMatchObject({ code: EXIT_FAILED });
    expect(before.out).toContain('Pending:\n  20250101000000_init');

    const deploy = await run(['deploy', ...args], env);
    expect(deploy.code).toBe(EXIT_OK);
    expect(deploy.out).toContain(`Created database ${masked}`);
    expect(deploy.out).toContain('Applied 1 migration(s)');
    expect(deploy.out).toContain('  20250101000000_init');

    const again = await run(['deploy', ...args], env);
    expect(again.out).toContain('No pending migrations');

    const after = await run(['status', ...args], env);
    expect(after.code).toBe(EXIT_OK);
    expect(after.out).toContain('Database is up to date.');

    expect(await run(['check', ...args], env)).toMatchObject({ code: EXIT_OK });

    for (const output of [before, deploy, again, after]) {
      expect(output.out + output.err).not.toContain(PASSWORD);
    }
  });

  it('check exits 1 with the missing SQL, and create fixes it', async () => {
    const { schemaPath, migrationsDir } = await project();
    const env = { DATABASE_URL: databaseUrlWithPassword('cli_check') };
    await addAccountField(schemaPath, 'nickname String?');

    const check = await run(['check', '--schema', schemaPath], env);
    expect(check.code).toBe(EXIT_FAILED);
    expect(check.err).toContain('out of sync');
    expect(check.out).toMatch(/ALTER TABLE "accounts" ADD COLUMN\s+"nickname" TEXT;/);

    const create = await run(['create', 'add nickname', '--schema', schemaPath, '--migrations', migrationsDir], env);
    expect(create.code).toBe(EXIT_OK);
    const created = (await readdir(migrationsDir)).find((name) => name.endsWith('_add_nickname'));
    expect(created).toBeDefined();
    expect(create.out).toContain(path.join(created ?? '', 'migration.sql'));

    expect(await run(['check', '--schema', schemaPath], env)).toMatchObject({ code: EXIT_OK });
  });

  it('exits 1 with a clean message when the server is unreachable', async () => {
    const { schemaPath } = await project();
    const result = await run(['status', '--schema', schemaPath], {
      DATABASE_URL: `postgresql://postgres:${PASSWORD}@127.0.0.1:1/unreachable`,
    });
    expect(result.code).toBe(EXIT_FAILED);
    expect(result.err).toMatch(/^switchyard-migrate: .*ECONNREFUSED/);
    expect(result.err).not.toContain(PASSWORD);
  });
});
