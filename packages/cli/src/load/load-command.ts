import { writeFile } from 'node:fs/promises';
import { LOAD_USAGE, LoadUsageError, parseLoadOptions } from './load-options.js';
import { formatProgressLine, formatReportTable, loadReport } from './load-report.js';
import { OpenLoopRunner } from './open-loop-runner.js';
import { PlatformClient } from './platform-client.js';

export interface CommandIo {
  stdout(text: string): void;
  stderr(text: string): void;
  env: Record<string, string | undefined>;
}

/** `switchyard load …`: resolves to the exit code (0 ran, 1 platform unreachable or broken, 2 usage). Never throws. */
export async function loadCommand(argv: readonly string[], io: CommandIo): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    io.stdout(LOAD_USAGE);
    return 0;
  }
  let options;
  try {
    options = parseLoadOptions(argv, io.env);
  } catch (error) {
    if (!(error instanceof LoadUsageError)) throw error;
    io.stderr(`switchyard load: ${error.message}\n\n${LOAD_USAGE}`);
    return 2;
  }
  const client = new PlatformClient(options.usersUrl, options.ordersUrl);
  const runner = new OpenLoopRunner(options, client);
  try {
    await client.checkReady();
    io.stderr(`switchyard load: seeding ${options.seedUsers} customers`);
    await runner.seed();
  } catch (error) {
    io.stderr(`switchyard load: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
  const startedAt = new Date();
  const began = performance.now();
  let last = began;
  const progress =
    options.progressEveryMs > 0
      ? setInterval(() => {
          const now = performance.now();
          io.stderr(formatProgressLine(now - began, now - last, runner.recorder.takeWindow()));
          last = now;
        }, options.progressEveryMs)
      : undefined;
  const result = await runner.run().finally(() => clearInterval(progress));
  const report = loadReport(options, startedAt, result);
  const json = `${JSON.stringify(report, null, 2)}\n`;
  // With `--json -` stdout carries only the JSON, so it can be piped; the table goes to stderr then.
  if (options.jsonOut === '-') {
    io.stderr(formatReportTable(report));
    io.stdout(json);
  } else {
    io.stdout(formatReportTable(report));
    if (options.jsonOut !== undefined) {
      try {
        await writeFile(options.jsonOut, json);
      } catch (error) {
        io.stderr(
          `switchyard load: cannot write --json ${options.jsonOut}: ${error instanceof Error ? error.message : String(error)}`,
        );
        return 1;
      }
    }
  }
  return 0;
}
