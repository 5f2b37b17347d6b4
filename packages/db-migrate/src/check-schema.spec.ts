import { afterEach, describe, expect, it } from '@jest/globals';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  addAccountField,
  copyFixture,
  databasesStartingWith,
  removeDir,
  uniqueDatabaseUrl,
  type FixtureProject,
} from '../test/support.js';
import { checkSchemaMatchesMigrations } from './check-schema.js';
import { createMigration } from './create-migration.js';
import { databaseNameOf } from './database-url.js';

describe('checkSchemaMatchesMigrations', () => {
  const projects: FixtureProject[] = [];

  afterEach(async () => {
    await Promise.all(projects.splice(0).map((project) => removeDir(project.dir)));
  });

  async function project(): Promise<FixtureProject> {
    const copy = await copyFixture();
    projects.push(copy);
    return copy;
  }

  it('finds the fixture schema in sync with its migrations', async () => {
    const { schemaPath } = await project();

    expect(await checkSchemaMatchesMigrations({ databaseUrl: uniqueDatabaseUrl('check'), schemaPath })).toEqual({
      inSync: true,
      sql: '',
    });
  });

  it('reports the missing SQL when the schema gained a field, and is in sync again after create', async () => {
    const { schemaPath } = await project();
    const databaseUrl = uniqueDatabaseUrl('check_field');
    await addAccountField(schemaPath, 'nickname String? @db.VarChar(40)');

    const drifted = await checkSchemaMatchesMigrations({ databaseUrl, schemaPath });

    expect(drifted.inSync).toBe(false);
    expect(drifted.sql).toMatch(/ALTER TABLE "accounts" ADD COLUMN\s+"nickname" VARCHAR\(40\);/);

    const created = await createMigration({ databaseUrl, schemaPath, name: 'add nickname' });
    expect(created.sql).toBe(drifted.sql);
    expect(await checkSchemaMatchesMigrations({ databaseUrl, schemaPath })).toEqual({ inSync: true, sql: '' });
  });

  it('reports a migration that does more than the schema says', async () => {
    const { schemaPath, migrationsDir } = await project();
    const extra = path.join(migrationsDir, '20250102000000_stray_table');
    await mkdir(extra);
    await writeFile(path.join(extra, 'migration.sql'), 'CREATE TABLE "stray" ("id" INTEGER PRIMARY KEY);\n');

    const result = await checkSchemaMatchesMigrations({ databaseUrl: uniqueDatabaseUrl('check_extra'), schemaPath });

    expect(result.inSync).toBe(false);
    expect(result.sql).toContain('DROP TABLE "stray"');
  });

  it('leaves no scratch database behind', async () => {
    const { schemaPath } = await project();
    const databaseUrl = uniqueDatabaseUrl('check_cleanup');
    await addAccountField(schemaPath, 'nickname String?');

    await checkSchemaMatchesMigrations({ databaseUrl, schemaPath });

    expect(await databasesStartingWith(databaseNameOf(databaseUrl))).toEqual([]);
  });
});
