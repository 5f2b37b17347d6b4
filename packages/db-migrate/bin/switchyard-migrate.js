#!/usr/bin/env node
// The CLI is compiled TypeScript: build it first (`tsc -b packages/db-migrate`).
import '../dist/cli.js';
