import { afterEach, describe, expect, it } from '@jest/globals';
import { databasesStartingWith, query, TEST_POSTGRES_URL, uniqueDatabaseUrl } from '../test/support.js';
import { databaseNameOf, withDatabaseName } from './database-url.js';
import { createScratchDatabase, dropDatabase, ensureDatabase } from './ensure-database.js';

describe('ensureDatabase and dropDatabase', () => {
  const databases: string[] = [];
  afterEach(async () => {
    await Promise.all(databases.splice(0).map((url) => dropDatabase(url)));
  });

  it('creates a missing database once, then reports it exists', async () => {
    const url = uniqueDatabaseUrl('ensure');
    databases.push(url);

    expect(await ensureDatabase(url)).toEqual({ created: true });
    expect(await ensureDatabase(url)).toEqual({ created: false });
    expect(await query(url, 'SELECT current_database() AS name')).toEqual([{ name: databaseNameOf(url) }]);
  });

  it('survives concurrent callers racing to create the same database', async () => {
    const url = uniqueDatabaseUrl('race');
    databases.push(url);

    const results = await Promise.all([ensureDatabase(url), ensureDatabase(url), ensureDatabase(url)]);

    expect(results.filter((result) => result.created)).toHaveLength(1);
  });

  it('quotes names that are not plain identifiers', async () => {
    const url = `${uniqueDatabaseUrl('quoted')}_We"ird; DROP`;
    databases.push(url);

    await ensureDatabase(url);

    expect(await databasesStartingWith(databaseNameOf(url))).toEqual([databaseNameOf(url)]);
  });

  it('drops a database even while connections are open, and ignores one that does not exist', async () => {
    const url = uniqueDatabaseUrl('drop');
    await ensureDatabase(url);
    const { Client } = (await import('pg')).default;
    const open = new Client({ connectionString: url });
    open.on('error', () => {}); // the forced drop terminates this session
    await open.connect();

    await dropDatabase(url);
    await dropDatabase(url);

    expect(await databasesStartingWith(databaseNameOf(url))).toEqual([]);
    await open.end().catch(() => {});
  });

  it("refuses to drop the server's own databases", async () => {
    await expect(dropDatabase(withDatabaseName(TEST_POSTGRES_URL, 'template1'))).rejects.toThrow('Refusing to drop');
  });

  it('creates scratch databases next to a database that need not exist, with names within 63 bytes', async () => {
    const base = `${uniqueDatabaseUrl('scratch')}_${'é'.repeat(40)}`;
    const scratch = await createScratchDatabase(base, 'replay');
    databases.push(scratch.url);

    expect(Buffer.byteLength(scratch.name)).toBeLessThanOrEqual(63);
    expect(scratch.name).toMatch(/^switchyard_test_scratch_[0-9a-f]{8}_é*_replay_[0-9a-f]{10}$/);
    expect(await query(scratch.url, 'SELECT current_database() AS name')).toEqual([{ name: scratch.name }]);
    await scratch.drop();
    await scratch.drop();
    expect(await databasesStartingWith(scratch.name)).toEqual([]);
  });
});
