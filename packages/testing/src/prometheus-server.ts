import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './service-process.js';
import { waitFor } from './wait-for.js';

export interface PrometheusTarget {
  job: string;
  /** Scraped at `127.0.0.1:<port>/metrics`. */
  port: number;
  /** Target labels, e.g. `{ service: 'user-service' }` as observability/prometheus/prometheus.yml sets them. */
  labels?: Record<string, string>;
}

export interface PrometheusOptions {
  /** Targets to scrape, or give `config`. */
  targets?: PrometheusTarget[];
  /** A whole Prometheus config (e.g. the shipped one with its targets pointed at the test ports); its intervals and rule_files are replaced. */
  config?: Record<string, unknown>;
  /** Absolute paths (globs allowed) of rule files to load, so tests evaluate the real rules against real scrapes. */
  ruleFiles?: string[];
  /** Scrape and rule evaluation interval; short so a test sees a change within seconds. Default 1. */
  intervalSeconds?: number;
  /** Default `$PROMETHEUS_BIN` or `prometheus` on PATH. */
  binary?: string;
  readyTimeoutMs?: number;
}

export interface PromSample {
  metric: Record<string, string>;
  value: number;
}

export interface PrometheusServer {
  /** `http://127.0.0.1:<port>`. */
  url: string;
  /** An instant query through the HTTP API; throws on a query error. */
  query(expr: string): Promise<PromSample[]>;
  /** Everything Prometheus wrote to stdout and stderr so far. */
  output(): string;
  /** SIGTERM, wait for exit (SIGKILL after 10 s), delete the config and data directory. */
  stop(): Promise<void>;
}

/**
 * A real Prometheus for a test: its own temp config and TSDB, on a free port of 127.0.0.1, scraping the given
 * targets. Fails loudly when the binary is missing, because a skipped check would hide a broken setup
 * (scripts/install-infra.sh installs Debian's `prometheus`).
 */
export async function startPrometheus(options: PrometheusOptions): Promise<PrometheusServer> {
  const binary = options.binary ?? process.env.PROMETHEUS_BIN ?? 'prometheus';
  const interval = `${options.intervalSeconds ?? 1}s`;
  const dir = await mkdtemp(join(tmpdir(), 'switchyard-prometheus-'));
  const port = await freePort();
  const config = {
    // Same shape as observability/prometheus/prometheus.yml: services label their own series, the target label names `up`'s.
    scrape_configs: (options.targets ?? []).map((target) => ({
      job_name: target.job,
      honor_labels: true,
      static_configs: [{ targets: [`127.0.0.1:${target.port}`], labels: target.labels ?? {} }],
    })),
    ...options.config,
    global: { scrape_interval: interval, scrape_timeout: interval, evaluation_interval: interval },
    rule_files: options.ruleFiles ?? [],
  };
  const configFile = join(dir, 'prometheus.yml');
  // JSON is valid YAML, so no YAML writer is needed.
  await writeFile(configFile, JSON.stringify(config, null, 2));

  let output = '';
  let spawnError: Error | undefined;
  const child: ChildProcess = spawn(
    binary,
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.on('error', (error) => (spawnError = error));
  const exit = new Promise<void>((resolve) => child.on('close', () => resolve()));
  const url = `http://127.0.0.1:${port}`;

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null && !spawnError) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exit;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
  };

  try {
    await waitFor(
      `Prometheus ready on ${url}`,
      async () => {
        if (spawnError) {
          const hint =
            (spawnError as NodeJS.ErrnoException).code === 'ENOENT'
              ? ' (not installed? sudo bash scripts/install-infra.sh installs it)'
              : '';
          throw new Error(`cannot run ${binary}${hint}: ${spawnError.message}`);
        }
        if (child.exitCode !== null) throw new Error(`prometheus exited with ${child.exitCode}:\n${output}`);
        const response = await fetch(`${url}/-/ready`).catch(() => undefined);
        return response?.status === 200;
      },
      options.readyTimeoutMs ?? 30_000,
      100,
    );
  } catch (error) {
    await stop();
    throw error;
  }

  return {
    url,
    output: () => output,
    stop,
    async query(expr: string): Promise<PromSample[]> {
      const response = await fetch(`${url}/api/v1/query?${new URLSearchParams({ query: expr })}`);
      const body = (await response.json()) as {
        status: string;
        error?: string;
        data?: { resultType: string; result: Array<{ metric: Record<string, string>; value: [number, string] }> };
      };
      if (body.status !== 'success' || !body.data)
        throw new Error(`query ${expr} failed: ${body.error ?? response.status}`);
      if (body.data.resultType !== 'vector')
        throw new Error(`query ${expr} returned a ${body.data.resultType}, not an instant vector`);
      return body.data.result.map(({ metric, value }) => ({ metric, value: Number(value[1]) }));
    },
  };
}
