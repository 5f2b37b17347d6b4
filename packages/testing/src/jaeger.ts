import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { freePort } from './service-process.js';

/** One tag of a span or process, as Jaeger's query API reports it. */
interface JaegerKeyValue {
  key: string;
  type: string;
  value: unknown;
}

/** A span reference: `CHILD_OF` is the OTLP parent, `FOLLOWS_FROM` an OTLP link. */
export interface JaegerReference {
  refType: 'CHILD_OF' | 'FOLLOWS_FROM';
  traceId: string;
  spanId: string;
}

/**
 * One span as Jaeger's HTTP query API (`/api/traces`) reports it, flattened: ids in lowercase hex of full width, tags
 * and process tags as plain objects. `kind` is Jaeger's `span.kind` tag (the OTLP span kind).
 */
export interface JaegerSpan {
  traceId: string;
  spanId: string;
  /** The span a `CHILD_OF` reference points at; undefined for a root span. */
  parentSpanId: string | undefined;
  operationName: string;
  kind: string | undefined;
  tags: Record<string, unknown>;
  references: JaegerReference[];
  /** The process's service name (the OTLP resource's `service.name`). */
  serviceName: string;
  /** The process's tags (the OTLP resource's other attributes). */
  process: Record<string, unknown>;
}

export interface JaegerTrace {
  traceId: string;
  spans: JaegerSpan[];
}

export interface TraceSearch {
  /** An operation (span name), e.g. `POST /users`. */
  operation?: string;
  /** Tags every span found must carry (Jaeger's `tags` parameter); the traces holding such a span are answered. */
  tags?: Record<string, string>;
  limit?: number;
}

export interface Jaeger {
  /** Base URL to put in `OTEL_EXPORTER_OTLP_ENDPOINT` (OTLP/HTTP, protobuf or JSON). */
  otlpEndpoint: string;
  /** Base URL of the HTTP query API (and UI). */
  queryUrl: string;
  /** Traces Jaeger has stored with a span of `service` (newest first, at most `limit`, 1000 by default). */
  traces(service: string, search?: TraceSearch): Promise<JaegerTrace[]>;
  /** One trace by id; undefined while Jaeger has none of its spans. */
  trace(traceId: string): Promise<JaegerTrace | undefined>;
  /** Services Jaeger has seen spans of. */
  services(): Promise<string[]>;
  /** What Jaeger wrote to stdout and stderr so far. */
  output(): string;
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 30_000;

/**
 * Starts a real Jaeger v2 (all-in-one, in-memory storage) on free 127.0.0.1 ports: an OTLP/HTTP receiver and the
 * query API. The binary comes from `scripts/engines/build.sh jaeger` (built from the Go module proxy at the version
 * tools/engines/jaeger pins, cached after the first build). Resolves once both the receiver and the query API
 * answer; on a deadline it prints Jaeger's log tail and kills it.
 */
export async function startJaeger(): Promise<Jaeger> {
  const binary = await jaegerBinary();
  const [otlpPort, queryPort, queryGrpcPort] = await distinctFreePorts();
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-jaeger-'));
  const config = join(dir, 'config.yaml');
  writeFileSync(config, jaegerConfig({ otlpPort, queryPort, queryGrpcPort }));

  let output = '';
  // Only PATH and HOME: the test's own OTEL_* variables must not reach Jaeger's telemetry.
  const child = spawn(binary, ['--config', config], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const append = (chunk: Buffer) => {
    output += chunk.toString();
    if (output.length > 1_000_000) output = output.slice(-500_000);
  };
  child.stdout.on('data', append);
  child.stderr.on('data', append);
  const exit = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  child.on('error', (error) => append(Buffer.from(`spawn failed: ${error.message}\n`)));

  const otlpEndpoint = `http://127.0.0.1:${otlpPort}`;
  const queryUrl = `http://127.0.0.1:${queryPort}`;
  const cleanup = () => rmSync(dir, { recursive: true, force: true });

  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      cleanup();
      throw new Error(`jaeger exited (${child.signalCode ?? child.exitCode}) before it was ready:\n${tail(output)}`);
    }
    if ((await queryAnswers(queryUrl)) && (await receiverAnswers(otlpEndpoint))) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      await exit;
      cleanup();
      throw new Error(
        `jaeger not ready after ${READY_TIMEOUT_MS} ms (OTLP ${otlpEndpoint}, query ${queryUrl}):\n${tail(output)}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  const get = async <T>(path: string): Promise<{ status: number; body: T | undefined }> => {
    const response = await fetch(`${queryUrl}${path}`);
    const text = await response.text();
    return { status: response.status, body: text ? (JSON.parse(text) as T) : undefined };
  };

  return {
    otlpEndpoint,
    queryUrl,
    async traces(service, search = {}) {
      const params = new URLSearchParams({ service, limit: String(search.limit ?? 1000) });
      if (search.operation !== undefined) params.set('operation', search.operation);
      if (search.tags !== undefined) params.set('tags', JSON.stringify(search.tags));
      const { status, body } = await get<ApiResponse>(`/api/traces?${params}`);
      // Jaeger answers a service it has not seen yet with an empty list.
      if (status !== 200)
        throw new Error(`jaeger GET /api/traces?${params} answered ${status}: ${JSON.stringify(body)}`);
      return (body?.data ?? []).map(flattenTrace);
    },
    async trace(traceId) {
      const { status, body } = await get<ApiResponse>(`/api/traces/${traceId}`);
      if (status === 404) return undefined;
      if (status !== 200)
        throw new Error(`jaeger GET /api/traces/${traceId} answered ${status}: ${JSON.stringify(body)}`);
      const [found] = body?.data ?? [];
      return found ? flattenTrace(found) : undefined;
    },
    async services() {
      const { status, body } = await get<{ data: string[] | null }>('/api/services');
      if (status !== 200) throw new Error(`jaeger GET /api/services answered ${status}`);
      return body?.data ?? [];
    },
    output: () => output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const stopped = await Promise.race([
          exit.then(() => true),
          new Promise<false>((resolve) => setTimeout(() => resolve(false), 10_000).unref()),
        ]);
        if (!stopped) {
          child.kill('SIGKILL');
          await exit;
        }
      }
      cleanup();
    },
  };
}

/**
 * Jaeger v2's configuration (an OpenTelemetry Collector's): OTLP/HTTP in, in-memory storage, the query extension
 * reading it. No gRPC receiver, no health, metrics or sampling endpoints, no telemetry of its own: only the three
 * ports chosen here are listened on.
 */
function jaegerConfig(ports: { otlpPort: number; queryPort: number; queryGrpcPort: number }): string {
  return `service:
  extensions: [jaeger_storage, jaeger_query]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    resource:
      service.name: jaeger
    metrics:
      level: none
    traces:
      level: none
    logs:
      level: info

extensions:
  jaeger_query:
    storage:
      traces: memstore
    enable_tracing: false
    http:
      endpoint: 127.0.0.1:${ports.queryPort}
    grpc:
      endpoint: 127.0.0.1:${ports.queryGrpcPort}
  jaeger_storage:
    backends:
      memstore:
        memory:
          max_traces: 100000

receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:${ports.otlpPort}

processors:
  batch:
    timeout: 50ms

exporters:
  jaeger_storage_exporter:
    trace_storage: memstore
`;
}

async function queryAnswers(queryUrl: string): Promise<boolean> {
  const response = await fetch(`${queryUrl}/api/services`).catch(() => undefined);
  await response?.body?.cancel();
  return response?.status === 200;
}

/** The receiver starts after the query extension: an empty OTLP/JSON export answers 200 once it listens. */
async function receiverAnswers(otlpEndpoint: string): Promise<boolean> {
  const response = await fetch(`${otlpEndpoint}/v1/traces`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"resourceSpans":[]}',
  }).catch(() => undefined);
  await response?.body?.cancel();
  return response?.status === 200;
}

/** Three ports nothing listens on (the OS may hand the same free port out twice in a row). */
async function distinctFreePorts(): Promise<[number, number, number]> {
  const ports = new Set<number>();
  while (ports.size < 3) ports.add(await freePort());
  const [a, b, c] = [...ports] as [number, number, number];
  return [a, b, c];
}

function tail(output: string, lines = 40): string {
  return output.trimEnd().split('\n').slice(-lines).join('\n');
}

let binary: Promise<string> | undefined;

/**
 * The jaeger binary: `scripts/engines/build.sh jaeger` prints its bin directory last (a no-op when it is cached; a
 * first build on a new machine takes minutes). Fails with one line naming the fix when it cannot be built.
 */
export function jaegerBinary(): Promise<string> {
  if (binary) return binary;
  binary = new Promise<string>((resolve, reject) => {
    const script = join(repoRoot(), 'scripts', 'engines', 'build.sh');
    execFile('bash', [script, 'jaeger'], { maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) {
        const lines = stderr.trim().split('\n');
        const reason = lines.find((line) => line.includes('no Go toolchain')) ?? lines.slice(-20).join('\n');
        reject(new Error(`cannot build jaeger (scripts/engines/build.sh jaeger): ${reason || error.message}`));
        return;
      }
      const bin = join(stdout.trim().split('\n').at(-1) ?? '', 'jaeger');
      if (!existsSync(bin))
        reject(
          new Error(`scripts/engines/build.sh jaeger printed no bin directory holding jaeger (got: ${stdout.trim()})`),
        );
      else resolve(bin);
    });
  });
  // A failed build is tried again by the next caller.
  binary.catch(() => (binary = undefined));
  return binary;
}

function repoRoot(): string {
  for (let dir = import.meta.dirname; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'scripts', 'engines', 'build.sh'))) return dir;
    if (dirname(dir) === dir) throw new Error(`cannot find scripts/engines/build.sh above ${import.meta.dirname}`);
  }
}

interface ApiSpan {
  traceID: string;
  spanID: string;
  operationName: string;
  references?: Array<{ refType: 'CHILD_OF' | 'FOLLOWS_FROM'; traceID: string; spanID: string }> | null;
  tags?: JaegerKeyValue[] | null;
  processID: string;
}
interface ApiTrace {
  traceID: string;
  spans: ApiSpan[];
  processes: Record<string, { serviceName: string; tags?: JaegerKeyValue[] | null }>;
}
interface ApiResponse {
  data: ApiTrace[] | null;
  errors?: unknown;
}

function flattenTrace(apiTrace: ApiTrace): JaegerTrace {
  return {
    traceId: traceHex(apiTrace.traceID),
    spans: apiTrace.spans.map((span) => {
      const tags = tagsOf(span.tags);
      const references = (span.references ?? []).map((ref) => ({
        refType: ref.refType,
        traceId: traceHex(ref.traceID),
        spanId: spanHex(ref.spanID),
      }));
      const process = apiTrace.processes[span.processID];
      return {
        traceId: traceHex(span.traceID),
        spanId: spanHex(span.spanID),
        parentSpanId: references.find((ref) => ref.refType === 'CHILD_OF')?.spanId,
        operationName: span.operationName,
        kind: typeof tags['span.kind'] === 'string' ? tags['span.kind'] : undefined,
        tags,
        references,
        serviceName: process?.serviceName ?? '',
        process: tagsOf(process?.tags),
      };
    }),
  };
}

function tagsOf(list: JaegerKeyValue[] | null | undefined): Record<string, unknown> {
  const tags: Record<string, unknown> = {};
  for (const { key, value } of list ?? []) tags[key] = value;
  return tags;
}

/** Jaeger prints a trace id whose high 64 bits are zero in 16 digits; OTLP (and our logs) always use 32. */
const traceHex = (id: string) => id.toLowerCase().padStart(32, '0');
const spanHex = (id: string) => id.toLowerCase().padStart(16, '0');
