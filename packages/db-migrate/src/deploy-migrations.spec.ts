import { afterEach, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { copyFixture, query, removeDir, uniqueDatabaseUrl, type FixtureProject } from '../test/support.js';
import { deployMigrations } from './deploy-migrations.js';
import { dropDatabase, ensureDatabase } from './ensure-database.js';
import { migrationStatus } from './migration-status.js';
import { SchemaEngineError } from './schema-engine.js';

interface MigrationRow {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
  applied_steps_count: number;
}

describe('deployMigrations', () => {
  const databases: string[] = [];
  const projects: FixtureProject[] = [];

  afterEach(async () => {
    await Promise.all(databases.splice(0).map((url) => dropDatabase(url)));
    await Promise.all(projects.splice(0).map((project) => removeDir(project.dir)));
  });

  async function setUp(label: string): Promise<{ databaseUrl: string; project: FixtureProject }> {
    const databaseUrl = uniqueDatabaseUrl(label);
    databases.push(databaseUrl);
    await ensureDatabase(databaseUrl);
    const project = await copyFixture();
    projects.push(project);
    return { databaseUrl, project };
  }

  it('applies the pending migrations and records them in _prisma_migrations with their sha256 checksum', async () => {
    const { databaseUrl, project } = await setUp('deploy');

    const result = await deployMigrations({ databaseUrl, schemaPath: project.schemaPath });

    expect(result.applied).toEqual(['20250101000000_init']);
    const rows = await query<MigrationRow>(
      databaseUrl,
      'SELECT migration_name, checksum, finished_at, applied_steps_count FROM _prisma_migrations',
    );
    const script = await readFile(path.join(project.migrationsDir, '20250101000000_init', 'migration.sql'));
    expect(rows).toEqual([
      {
        migration_name: '20250101000000_init',
        checksum: createHash('sha256').update(script).digest('hex'),
        finished_at: expect.any(Date),
        applied_steps_count: 1,
      },
    ]);
    // The migration really ran: the table and the enum exist and work together.
    await query(databaseUrl, `INSERT INTO accounts (email, role) VALUES ('a@example.com', 'ADMIN')`);
    expect(await query(databaseUrl, 'SELECT email, role FROM accounts')).toEqual([
      { email: 'a@example.com', role: 'ADMIN' },
    ]);
  });

  it('applies nothing the second time', async () => {
    const { databaseUrl, project } = await setUp('redeploy');
    await deployMigrations({ databaseUrl, schemaPath: project.schemaPath });

    const second = await deployMigrations({ databaseUrl, schemaPath: project.schemaPath });

    expect(second.applied).toEqual([]);
    expect(await query(databaseUrl, 'SELECT migration_name FROM _prisma_migrations')).toHaveLength(1);
  });

  it('applies only the migrations added since the last deploy, in order', async () => {
    const { databaseUrl, project } = await setUp('incremental');
    await deployMigrations({ databaseUrl, schemaPath: project.schemaPath });
    for (const [name, sql] of [
      ['20250103000000_add_index', 'CREATE INDEX "accounts_created_at_idx" ON "accounts"("created_at");\n'],
      ['20250102000000_add_nickname', 'ALTER TABLE "accounts" ADD COLUMN "nickname" TEXT;\n'],
    ] as const) {
      await mkdir(path.join(project.migrationsDir, name));
      await writeFile(path.join(project.migrationsDir, name, 'migration.sql'), sql);
    }

    const result = await deployMigrations({ databaseUrl, schemaPath: project.schemaPath });

    expect(result.applied).toEqual(['20250102000000_add_nickname', '20250103000000_add_index']);
  });

  it('takes the migrations folder from the option when given', async () => {
    const { databaseUrl, project } = await setUp('migrations_dir');
    const elsewhere = path.join(project.dir, 'db', 'migrations');
    await mkdir(path.dirname(elsewhere), { recursive: true });
    await rename(project.migrationsDir, elsewhere);

    expect(await deployMigrations({ databaseUrl, schemaPath: project.schemaPath })).toEqual({ applied: [] });
    expect(await deployMigrations({ databaseUrl, schemaPath: project.schemaPath, migrationsDir: elsewhere })).toEqual({
      applied: ['20250101000000_init'],
    });
  });

  it('records a failing migration as failed and refuses to deploy again until it is resolved', async () => {
    const { databaseUrl, project } = await setUp('failing');
    const broken = path.join(project.migrationsDir, '20250102000000_broken');
    await mkdir(broken);
    await writeFile(path.join(broken, 'migration.sql'), 'ALTER TABLE "no_such_table" ADD COLUMN "x" INTEGER;\n');

    const first = deployMigrations({ databaseUrl, schemaPath: project.schemaPath });
    await expect(first).rejects.toThrow(SchemaEngineError);
    await expect(first).rejects.toMatchObject({
      migrationName: '20250102000000_broken',
      message: expect.stringMatching(/^Migration `20250102000000_broken` failed: .*no_such_table/),
    });

    const status = await migrationStatus({ databaseUrl, schemaPath: project.schemaPath });
    expect(status).toEqual({
      applied: ['20250101000000_init'],
      pending: [],
      failed: ['20250102000000_broken'],
      unknownInDatabase: [],
    });
    await expect(deployMigrations({ databaseUrl, schemaPath: project.schemaPath })).rejects.toMatchObject({
      name: 'SchemaEngineError',
      code: 'P3009',
    });
  });
});
