// `npm run bench`: every benchmark, one fresh Node process each (so each one's CPU and RSS are its own), in a
// fixed order on the same machine in the same run, then the targets table. The traced pipeline runs with the
// OpenTelemetry preload exporting every span (OTLP/JSON) to a receiver hosted here, as a traced service would.
// `npm run bench -- raw-amqplib nest-rmq` runs only the named ones. Results: bench/results/*.json; then
// `npm run bench:report` puts them into docs/performance.md. Budget: about 6 minutes on the 2-core machine.
import { startOtlpReceiver } from '@switchyard/testing';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { RESULTS_DIR } from './lib/bench-results.js';
import { allScenarios, loadResults, type RunRecord, targetChecks } from './lib/performance-summary.js';

interface Bench {
  name: string;
  file: string;
  env?: NodeJS.ProcessEnv;
  traced?: boolean;
}

const BENCHES: Bench[] = [
  { name: 'raw-amqplib', file: 'raw-amqplib.bench.ts' },
  { name: 'nest-rmq', file: 'nest-rmq.bench.ts' },
  { name: 'switchyard-transport', file: 'switchyard-transport.bench.ts' },
  { name: 'full-pipeline', file: 'full-pipeline.bench.ts', env: { BENCH_PIPELINE_VARIANTS: 'prisma,pg' } },
  {
    name: 'full-pipeline-traced',
    file: 'full-pipeline.bench.ts',
    env: { BENCH_PIPELINE_VARIANTS: 'prisma' },
    traced: true,
  },
  { name: 'sql-hot-path', file: 'sql-hot-path.bench.ts' },
  { name: 'rabbitmq-perftest', file: 'rabbitmq-perftest.bench.ts' },
  { name: 'platform-processes', file: 'platform-processes.bench.ts' },
];

const preload = fileURLToPath(new URL('./lib/ts-imports.ts', import.meta.url));
const selected = process.argv.slice(2);
const unknown = selected.filter((name) => !BENCHES.some((b) => b.name === name));
if (unknown.length > 0)
  throw new Error(`unknown bench ${unknown.join(', ')}; choose from ${BENCHES.map((b) => b.name).join(', ')}`);

/** Not spawnSync: the OTLP receiver lives in this process and must keep answering while a child runs. */
async function runBench(bench: Bench, otlpEndpoint: string): Promise<number | null> {
  const tracing = bench.traced ? ['--import', '@switchyard/telemetry/register'] : [];
  const env = {
    ...process.env,
    ...bench.env,
    ...(bench.traced
      ? {
          OTEL_EXPORTER_OTLP_ENDPOINT: otlpEndpoint,
          OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
          SWITCHYARD_SERVICE_NAME: 'bench',
        }
      : {}),
  };
  const child = spawn(
    process.execPath,
    ['--import', preload, ...tracing, fileURLToPath(new URL(bench.file, import.meta.url))],
    { env, stdio: 'inherit' },
  );
  const [code] = (await once(child, 'exit')) as [number | null];
  return code;
}

const startedAt = new Date();
const began = performance.now();
const receiver = await startOtlpReceiver();
const record: RunRecord = {
  startedAt: startedAt.toISOString(),
  finishedAt: '',
  seconds: 0,
  benches: [],
  spansExported: 0,
};
let failed = false;
try {
  for (const bench of BENCHES.filter((b) => selected.length === 0 || selected.includes(b.name))) {
    const t0 = performance.now();
    console.log(`\n=== ${bench.name} ===`);
    const exitCode = await runBench(bench, receiver.endpoint);
    record.benches.push({ name: bench.name, seconds: Math.round((performance.now() - t0) / 100) / 10, exitCode });
    if (exitCode !== 0) {
      failed = true;
      console.error(`${bench.name} failed with exit code ${exitCode}; continuing with the others`);
    }
  }
  record.spansExported = receiver.spans().length;
} finally {
  await receiver.close();
}
record.finishedAt = new Date().toISOString();
record.seconds = Math.round((performance.now() - began) / 1000);
const dir = process.env.BENCH_RESULTS_DIR ?? RESULTS_DIR;
mkdirSync(dir, { recursive: true });
writeFileSync(`${dir.replace(/\/$/, '')}/run.json`, `${JSON.stringify(record, null, 2)}\n`);

console.log(`\nall benchmarks: ${record.seconds} s; traced run exported ${record.spansExported} spans\n`);
console.table(
  targetChecks(loadResults(dir)).map((c) => ({
    target: c.target,
    measured: c.measured,
    met: c.met === null ? 'n/a' : c.met ? 'yes' : 'NO',
  })),
);
const lossy = allScenarios(loadResults(dir)).filter((s) => s.phases.some((p) => p.account.lost > 0));
if (lossy.length > 0)
  console.error(`EVENTS LOST in: ${lossy.map((s) => s.key).join(', ')} (see the lost column above)`);
console.log('Put the numbers into docs/performance.md with: npm run bench:report');
if (failed) process.exitCode = 1;
