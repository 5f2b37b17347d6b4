// Tracing overhead: runs messaging-pipeline.bench.ts twice in fresh processes, once as services run by default
// (tracing off: no OTEL endpoint) and once with the OpenTelemetry preload exporting every span (http/json) to an
// OTLP receiver hosted here, then compares. Run: `npm run bench:tracing` (builds first).
// Writes bench/results/tracing-overhead.json. A measurement, not a test.
import { startOtlpReceiver } from '@switchyard/testing';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

interface Result {
  scenario: string;
  eventsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
}

const bench = fileURLToPath(new URL('./messaging-pipeline.bench.ts', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'switchyard-tracing-bench-'));

/** Not spawnSync: the receiver lives in this process and must keep answering while the child runs. */
async function run(label: string, nodeArgs: string[], env: NodeJS.ProcessEnv): Promise<Result[]> {
  const output = join(scratch, `${label}.json`);
  const child = spawn(process.execPath, [...nodeArgs, bench], { env: { ...process.env, ...env, BENCH_OUTPUT: output }, stdio: ['ignore', 'ignore', 'inherit'] });
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`${label} run failed with exit code ${code}`);
  return (JSON.parse(readFileSync(output, 'utf8')) as { results: Result[] }).results;
}

const receiver = await startOtlpReceiver();
try {
  const off = await run('off', [], {});
  const on = await run('on', ['--import', '@switchyard/telemetry/register'], {
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    SWITCHYARD_SERVICE_NAME: 'bench',
  });
  console.log(`\ntracing overhead: same benchmark, tracing off vs on (${receiver.spans().length} spans exported in the "on" run)\n`);
  console.table(
    off.map((o, i) => {
      const t = on[i]!;
      return {
        scenario: o.scenario,
        'events/s off': o.eventsPerSecond,
        'events/s on': t.eventsPerSecond,
        change: `${(((t.eventsPerSecond - o.eventsPerSecond) / o.eventsPerSecond) * 100).toFixed(0)}%`,
        'p50 ms off / on': `${o.p50Ms} / ${t.p50Ms}`,
        'p99 ms off / on': `${o.p99Ms} / ${t.p99Ms}`,
      };
    }),
  );
  const out = fileURLToPath(new URL('./results/tracing-overhead.json', import.meta.url));
  writeFileSync(out, `${JSON.stringify({ measuredAt: new Date().toISOString(), node: process.version, spansExported: receiver.spans().length, off, on }, null, 2)}\n`);
  console.log(`results written to ${out}`);
} finally {
  await receiver.close();
}
