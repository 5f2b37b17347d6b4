// RabbitMQ's own load tool, PerfTest (com.rabbitmq:perf-test on Maven Central), as the broker team ships it. Maven
// resolves it with its dependencies into ~/.cache/switchyard/perftest/<version>/lib once; Java 17 runs it.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export const PERFTEST_VERSION = '2.22.1';
const RESOLVE_DEADLINE_MS = 5 * 60_000;

/** The classpath directory of PerfTest's jars, resolving them with Maven the first time. */
export function perfTestClasspath(): string {
  for (const [tool, fix] of [
    ['java', 'install a JDK 17+ (apt-get install openjdk-17-jre-headless)'],
    ['mvn', 'install Maven (apt-get install maven)'],
  ]) {
    try {
      execFileSync(tool!, ['-version'], { stdio: 'ignore' });
    } catch {
      throw new Error(`PerfTest needs ${tool}, which is not on PATH: ${fix}`);
    }
  }
  const dir = join(homedir(), '.cache', 'switchyard', 'perftest', PERFTEST_VERSION);
  const lib = join(dir, 'lib');
  if (existsSync(lib) && readdirSync(lib).some((jar) => jar.startsWith('perf-test-'))) return `${lib}/*`;
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'pom.xml'),
    `<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>
  <groupId>switchyard</groupId><artifactId>perftest-resolve</artifactId><version>1</version><packaging>pom</packaging>
  <dependencies><dependency><groupId>com.rabbitmq</groupId><artifactId>perf-test</artifactId><version>${PERFTEST_VERSION}</version></dependency></dependencies>
</project>\n`,
  );
  try {
    execFileSync('mvn', ['-q', '-B', 'dependency:copy-dependencies', `-DoutputDirectory=${lib}`], {
      cwd: dir,
      stdio: ['ignore', 'ignore', 'inherit'],
      timeout: RESOLVE_DEADLINE_MS,
    });
  } catch (error) {
    throw new Error(
      `could not resolve com.rabbitmq:perf-test:${PERFTEST_VERSION} from Maven Central within ${RESOLVE_DEADLINE_MS / 60_000} min (${String(error)}): check the Maven proxy settings (~/.m2/settings.xml)`,
      { cause: error },
    );
  }
  return `${lib}/*`;
}

export interface PerfTestRun {
  /** Messages each side sends / receives; the run ends when both reached it. */
  messages: number;
  /** Producer rate limit in messages/s; unlimited when left out (the peak). */
  rate?: number;
  queue: string;
  uri: string;
  /** Hard stop in seconds: a run still going then has not moved its messages, and fails. */
  deadlineSeconds: number;
}

export interface PerfTestOutcome {
  sendRate: number;
  receiveRate: number;
  /** Consumer latency (publish → consume) in ms: min, median, 75th, 95th, 99th. */
  latencyMs: { min: number; p50: number; p75: number; p95: number; p99: number };
  /** PerfTest's own stop reason; both limits reached means every message was confirmed and consumed. */
  stopReason: string;
  /** The java process's CPU, in % of one core, over the run. */
  cpuPercent: number;
  /** The java process's peak resident set, MB (sampled every 100 ms). */
  peakRssMb: number;
}

/**
 * One PerfTest run with our benchmarks' durability: persistent 1 KiB messages, publisher confirms with a window of
 * `confirmWindow`, a durable quorum queue, manual acks (PerfTest's default), prefetch `prefetch`.
 */
export async function runPerfTest(
  classpath: string,
  run: PerfTestRun,
  shape: { payloadBytes: number; confirmWindow: number; prefetch: number },
): Promise<PerfTestOutcome> {
  const args = [
    ...['-cp', classpath, 'com.rabbitmq.perf.PerfTest', '--uri', run.uri, '-x', '1', '-y', '1'],
    ...['-s', String(shape.payloadBytes), '-f', 'persistent', '-c', String(shape.confirmWindow)],
    ...['-q', String(shape.prefetch), '-qq', '-u', run.queue, '-ad', 'false'],
    ...['-C', String(run.messages), '-D', String(run.messages), '-z', String(run.deadlineSeconds)],
    ...(run.rate === undefined ? [] : ['-r', String(run.rate)]),
  ];
  const child = spawn('java', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const started = performance.now();
  let ticks = 0;
  let peakRssKb = 0;
  const sampler = setInterval(() => {
    ticks = cpuTicksOf(child.pid) ?? ticks;
    peakRssKb = Math.max(peakRssKb, rssKbOf(child.pid) ?? 0);
  }, 100);
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  clearInterval(sampler);
  const seconds = (performance.now() - started) / 1000;
  if (code !== 0) throw new Error(`PerfTest exited ${code}:\n${output.slice(-2_000)}`);
  return {
    ...parseSummary(output),
    cpuPercent: Math.round((ticks / 100 / seconds) * 100),
    peakRssMb: Math.round(peakRssKb / 1024),
  };
}

/** Reads PerfTest's closing summary lines. */
export function parseSummary(output: string): Omit<PerfTestOutcome, 'cpuPercent' | 'peakRssMb'> {
  const rate = (label: string): number => {
    const match = new RegExp(`${label} rate avg: (\\d+) msg/s`).exec(output);
    if (!match) throw new Error(`PerfTest printed no '${label} rate avg' line:\n${output.slice(-2_000)}`);
    return Number(match[1]);
  };
  const latency = /consumer latency min\/median\/75th\/95th\/99th (\d+)\/(\d+)\/(\d+)\/(\d+)\/(\d+) (µs|ms)/.exec(
    output,
  );
  if (!latency) throw new Error(`PerfTest printed no consumer latency summary:\n${output.slice(-2_000)}`);
  const toMs = (value: string): number => (latency[6] === 'ms' ? Number(value) : Math.round(Number(value) / 10) / 100);
  return {
    sendRate: rate('sending'),
    receiveRate: rate('receiving'),
    latencyMs: {
      min: toMs(latency[1]!),
      p50: toMs(latency[2]!),
      p75: toMs(latency[3]!),
      p95: toMs(latency[4]!),
      p99: toMs(latency[5]!),
    },
    stopReason: /test stopped \(([^)]*)\)/.exec(output)?.[1] ?? 'unknown',
  };
}

/** utime + stime of one process in clock ticks (100 per second on Linux), or undefined once it is gone. */
function cpuTicksOf(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return undefined;
  }
}

function rssKbOf(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}
