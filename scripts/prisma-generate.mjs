#!/usr/bin/env node
// Runs `prisma generate` for the workspace it is called from, offline.
// The Prisma CLI looks for its schema-engine binary before generating and tries to download it when missing;
// `generate` never runs that engine, so pointing the variable at any existing file (this Node binary) is enough.
// The client itself needs no engine: it uses the query compiler and @prisma/adapter-pg.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const prismaCli = require.resolve('prisma/build/index.js');

const result = spawnSync(process.execPath, [prismaCli, 'generate', '--schema', 'prisma/schema.prisma'], {
  stdio: ['ignore', 'inherit', 'inherit'],
  env: {
    ...process.env,
    PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? process.execPath,
    PRISMA_HIDE_UPDATE_MESSAGE: '1',
    CHECKPOINT_DISABLE: '1',
  },
});
process.exit(result.status ?? 1);
