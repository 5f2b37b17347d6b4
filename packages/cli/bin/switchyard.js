#!/usr/bin/env node
// `npx switchyard dlq|outbox|load …`: runs the built CLI (npm run build first).
import { main } from '../dist/main.js';

process.exitCode = await main(process.argv.slice(2));
