import { afterEach, describe, expect, it } from '@jest/globals';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { copyFixture, removeDir, uniqueDatabaseUrl, type FixtureProject } from '../test/support.js';
import { deployMigrations } from './deploy-migrations.js';
import { dropDatabase, ensureDatabase } from './ensure-database.js';
import { migrationStatus } from './migration-status.js';

describe('migrationStatus', () => {
  const databases: string[] = [];
  const projects: FixtureProject[] = [];

  afterEach(async () => {
    await Promise.all(databases.splice(0).map((url) => dropDatabase(url)));
    await Promise.all(projects.splice(0).map((project) => removeDir(project.dir)));
  });

  async function setUp(label: string): Promise<{ databaseUrl: string; project: FixtureProject }> {
    const databaseUrl = uniqueDatabaseUrl(label);
    databases.push(databaseUrl);
    const project = await copyFixture();
    projects.push(project);
    return { databaseUrl, project };
  }

  async function addMigration(project: FixtureProject, name: string, sql: string): Promise<void> {
    await mkdir(path.join(project.migrationsDir, name));
    await writeFile(path.join(project.migrationsDir, name, 'migration.sql'), sql);
  }

  it('reports every migration as pending on a database that does not exist yet', async () => {
    const { databaseUrl, project } = await setUp('status_nodb');

    expect(await migrationStatus({ databaseUrl, schemaPath: project.schemaPath })).toEqual({
      applied: [],
      pending: ['20250101000000_init'],
      failed: [],
      unknownInDatabase: [],
    });
  });

  it('reports every migration as pending on an empty database, without creating the migrations table', async () => {
    const { databaseUrl, project } = await setUp('status_empty');
    await ensureDatabase(databaseUrl);

    const status = await migrationStatus({ databaseUrl, schemaPath: project.schemaPath });

    expect(status.pending).toEqual(['20250101000000_init']);
    expect(status.applied).toEqual([]);
  });

  it('tells applied migrations from pending ones', async () => {
    const { databaseUrl, project } = await setUp('status_mixed');
    await ensureDatabase(databaseUrl);
    await deployMigrations({ databaseUrl, schemaPath: project.schemaPath });
    await addMigration(project, '20250102000000_add_nickname', 'ALTER TABLE "accounts" ADD COLUMN "nickname" TEXT;\n');

    expect(await migrationStatus({ databaseUrl, schemaPath: project.schemaPath })).toEqual({
      applied: ['20250101000000_init'],
      pending: ['20250102000000_add_nickname'],
      failed: [],
      unknownInDatabase: [],
    });

    await deployMigrations({ databaseUrl, schemaPath: project.schemaPath });
    expect(await migrationStatus({ databaseUrl, schemaPath: project.schemaPath })).toMatchObject({
      applied: ['20250101000000_init', '20250102000000_add_nickname'],
      pending: [],
    });
  });

  it('lists migrations the database applied that the folder no longer has', async () => {
    const { databaseUrl, project } = await setUp('status_unknown');
    await ensureDatabase(databaseUrl);
    await addMigration(project, '20250102000000_from_other_branch', 'SELECT 1;\n');
    await deployMigrations({ databaseUrl, schemaPath: project.schemaPath });
    await rm(path.join(project.migrationsDir, '20250102000000_from_other_branch'), { recursive: true });

    expect(await migrationStatus({ databaseUrl, schemaPath: project.schemaPath })).toEqual({
      applied: ['20250101000000_init'],
      pending: [],
      failed: [],
      unknownInDatabase: ['20250102000000_from_other_branch'],
    });
  });
});
