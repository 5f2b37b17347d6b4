import { runCli } from './run-cli.js';

// Entry point of bin/switchyard-migrate.js. exitCode rather than exit() lets stdout drain when piped.
process.exitCode = await runCli(process.argv.slice(2), process.env, {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
});
