import { afterEach, describe, expect, it } from '@jest/globals';
import { appendFile, readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import {
  addAccountField,
  copyFixture,
  databasesStartingWith,
  query,
  removeDir,
  uniqueDatabaseUrl,
  type FixtureProject,
} from '../test/support.js';
import { createMigration } from './create-migration.js';
import { databaseNameOf } from './database-url.js';
import { deployMigrations } from './deploy-migrations.js';
import { dropDatabase, ensureDatabase } from './ensure-database.js';
import { POSTGRESQL_LOCKFILE } from './migration-directory.js';

describe('createMigration', () => {
  const databases: string[] = [];
  const projects: FixtureProject[] = [];

  afterEach(async () => {
    await Promise.all(databases.splice(0).map((url) => dropDatabase(url)));
    await Promise.all(projects.splice(0).map((project) => removeDir(project.dir)));
  });

  async function project(): Promise<FixtureProject> {
    const copy = await copyFixture();
    projects.push(copy);
    return copy;
  }

  function databaseUrl(label: string): string {
    const url = uniqueDatabaseUrl(label);
    databases.push(url);
    return url;
  }

  it('writes a migration for a new field that deploy then applies', async () => {
    const { schemaPath, migrationsDir } = await project();
    const url = databaseUrl('create');
    await addAccountField(schemaPath, 'nickname String?');

    const created = await createMigration({ databaseUrl: url, schemaPath, migrationsDir, name: 'add nickname' });

    expect(created.directory).toMatch(/[/\\]\d{14}_add_nickname$/);
    expect(path.dirname(created.directory ?? '')).toBe(migrationsDir);
    expect(created.sql).toContain('ALTER TABLE "accounts" ADD COLUMN');
    expect(created.sql).toContain('"nickname" TEXT');
    expect(await readFile(path.join(created.directory ?? '', 'migration.sql'), 'utf8')).toBe(created.sql);
    // The new migration sorts after the existing one, so deploy applies both, in order.
    await ensureDatabase(url);
    const deployed = await deployMigrations({ databaseUrl: url, schemaPath });
    expect(deployed.applied).toEqual(['20250101000000_init', path.basename(created.directory ?? '')]);
    await query(url, `INSERT INTO accounts (email, nickname) VALUES ('n@example.com', 'nick')`);
    expect(await query(url, 'SELECT nickname FROM accounts')).toEqual([{ nickname: 'nick' }]);
  });

  it('writes nothing when the schema already matches the migrations', async () => {
    const { schemaPath, migrationsDir } = await project();
    const before = await readdir(migrationsDir);

    const created = await createMigration({
      databaseUrl: databaseUrl('nochange'),
      schemaPath,
      migrationsDir,
      name: 'noop',
    });

    expect(created).toEqual({ directory: null, sql: '' });
    expect(await readdir(migrationsDir)).toEqual(before);
  });

  it("creates the first migration and Prisma's migration_lock.toml when there are no migrations yet", async () => {
    const { schemaPath, migrationsDir } = await project();
    await rm(migrationsDir, { recursive: true });

    const created = await createMigration({ databaseUrl: databaseUrl('first'), schemaPath, name: 'init' });

    expect(created.sql).toContain(`CREATE TYPE "Role" AS ENUM ('ADMIN', 'MEMBER');`);
    expect(created.sql).toContain('CREATE TABLE "accounts"');
    expect(await readFile(path.join(migrationsDir, 'migration_lock.toml'), 'utf8')).toBe(POSTGRESQL_LOCKFILE);
    expect((await readdir(migrationsDir)).sort()).toEqual(
      [path.basename(created.directory ?? ''), 'migration_lock.toml'].sort(),
    );
  });

  it('never touches the database in the URL and drops its scratch database', async () => {
    const { schemaPath } = await project();
    const url = databaseUrl('untouched');
    await addAccountField(schemaPath, 'nickname String?');

    await createMigration({ databaseUrl: url, schemaPath, name: 'add nickname' });

    expect(await databasesStartingWith(databaseNameOf(url))).toEqual([]);
  });

  it('drops its scratch database when an existing migration fails to replay', async () => {
    const { schemaPath, migrationsDir } = await project();
    const url = databaseUrl('broken');
    const script = path.join(migrationsDir, '20250101000000_init', 'migration.sql');
    await appendFile(script, '\nSELECT * FROM missing_table;\n');

    await expect(createMigration({ databaseUrl: url, schemaPath, name: 'next' })).rejects.toThrow(
      /20250101000000_init/,
    );
    expect(await databasesStartingWith(databaseNameOf(url))).toEqual([]);
  });

  it('rejects a name with nothing usable in it before doing any work', async () => {
    const { schemaPath } = await project();
    await expect(createMigration({ databaseUrl: databaseUrl('badname'), schemaPath, name: '  !! ' })).rejects.toThrow(
      'not a usable migration name',
    );
  });
});
