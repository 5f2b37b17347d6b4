import { fileURLToPath } from 'node:url';
import { runDocsCli } from './docs-cli.js';

// Entry point: `node packages/contracts/dist/generate-docs.js [--check]`. The docs folder is found from this
// file's own location (packages/contracts/dist → repo root), so it works from any working directory.
const docsDir = fileURLToPath(new URL('../../../docs', import.meta.url));

// exitCode rather than exit() lets stdout drain when piped.
process.exitCode = await runDocsCli(process.argv.slice(2), docsDir, {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
});
