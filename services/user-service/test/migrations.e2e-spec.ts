import { describe, expect, it } from '@jest/globals';
import { checkSchemaMatchesMigrations } from '@switchyard/db-migrate';
import { TEST_POSTGRES_URL } from '@switchyard/testing';
import { SCHEMA_PATH } from '../src/app.module.js';

describe('user-service migrations', () => {
  it('produce exactly the schema in prisma/schema.prisma (run `npx switchyard-migrate create <name>` when this fails)', async () => {
    const result = await checkSchemaMatchesMigrations({ databaseUrl: TEST_POSTGRES_URL, schemaPath: SCHEMA_PATH });
    expect(result.sql).toBe('');
    expect(result.inSync).toBe(true);
  });
});
