import { afterEach, describe, expect, it } from '@jest/globals';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { removeDir } from '../test/support.js';
import {
  newMigrationDirectoryName,
  normalizeMigrationName,
  POSTGRESQL_LOCKFILE,
  readMigrationList,
  writeLockfileIfMissing,
  writeMigration,
} from './migration-directory.js';

describe('migration directory', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    await Promise.all(dirs.splice(0).map(removeDir));
  });
  async function tempDir(): Promise<string> {
    const dir = await mkdtemp(path.join(tmpdir(), 'db-migrate-dir-'));
    dirs.push(dir);
    return dir;
  }

  it('lists migration folders in name order with their SQL and the lockfile', async () => {
    const dir = await tempDir();
    await writeMigration(dir, '20250102000000_second', 'SELECT 2;');
    await writeMigration(dir, '20250101000000_first', 'SELECT 1;');
    await mkdir(path.join(dir, '20250103000000_no_sql'));
    await writeLockfileIfMissing(dir);

    const list = await readMigrationList(dir);

    expect(list.baseDir).toBe(dir);
    expect(list.lockfile).toEqual({ path: 'migration_lock.toml', content: POSTGRESQL_LOCKFILE });
    expect(list.migrationDirectories.map((migration) => [migration.path, migration.migrationFile.content.tag])).toEqual(
      [
        ['20250101000000_first', 'ok'],
        ['20250102000000_second', 'ok'],
        ['20250103000000_no_sql', 'error'], // the engine reports it when it gets there
      ],
    );
    expect(list.migrationDirectories[0]?.migrationFile.content).toEqual({ tag: 'ok', value: 'SELECT 1;' });
  });

  it('treats a missing folder as no migrations and no lockfile', async () => {
    const list = await readMigrationList(path.join(await tempDir(), 'missing'));
    expect(list.migrationDirectories).toEqual([]);
    expect(list.lockfile.content).toBeNull();
  });

  it('leaves an existing lockfile alone', async () => {
    const dir = await tempDir();
    await writeFile(path.join(dir, 'migration_lock.toml'), 'provider = "postgresql"\n');
    await writeLockfileIfMissing(dir);
    expect(await readFile(path.join(dir, 'migration_lock.toml'), 'utf8')).toBe('provider = "postgresql"\n');
  });

  it('never overwrites an existing migration', async () => {
    const dir = await tempDir();
    await writeMigration(dir, '20250101000000_init', 'SELECT 1;');
    await expect(writeMigration(dir, '20250101000000_init', 'SELECT 2;')).rejects.toThrow(/EEXIST/);
  });

  it('normalises names like the Prisma CLI', () => {
    expect(normalizeMigrationName('Add user.email')).toBe('add_user_email');
    expect(normalizeMigrationName('addUserEmail')).toBe('add_user_email');
    expect(normalizeMigrationName('  init ')).toBe('init');
    expect(normalizeMigrationName('x'.repeat(250))).toHaveLength(200);
    expect(() => normalizeMigrationName('--')).toThrow('not a usable migration name');
  });

  it('names new migrations with a UTC timestamp that sorts after every existing one', () => {
    const now = new Date(Date.UTC(2025, 5, 7, 8, 9, 10));
    expect(newMigrationDirectoryName('Add field', [], now)).toBe('20250607080910_add_field');
    expect(newMigrationDirectoryName('next', ['20250101000000_init'], now)).toBe('20250607080910_next');
    // Same second as the newest migration, or a newest one from the future: one second after it.
    expect(newMigrationDirectoryName('again', ['20250607080910_add_field'], now)).toBe('20250607080911_again');
    expect(newMigrationDirectoryName('skew', ['20251231235959_future'], now)).toBe('20260101000000_skew');
  });
});
