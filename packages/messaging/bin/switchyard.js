#!/usr/bin/env node
// `npx switchyard dlq …` and `npx switchyard outbox …`: runs the built CLI (npm run build first).
import { main } from '../dist/dlq/index.js';

process.exitCode = await main(process.argv.slice(2));
