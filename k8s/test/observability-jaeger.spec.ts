// The observability chart's Jaeger v2 configuration, run by the real Jaeger v2 (the release the trace tests use,
// built by scripts/engines/build.sh jaeger): the rendered config.yaml starts it, its health check answers on the
// port the probes use, the UI/query API answers, and OTLP/HTTP takes a span that the query API then returns. Only
// the listen addresses change (0.0.0.0:<port> in the Pod, free 127.0.0.1 ports here).
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { freePort, helmAsync, jaegerBinary, waitFor } from '@switchyard/testing';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { chartWorkspace, type ChartWorkspace } from './chart-workspace.js';

interface K8sObject {
  kind: string;
  metadata: { name: string };
  data?: Record<string, string>;
  spec?: { template: { spec: { containers: { args?: string[]; ports: { name: string; containerPort: number }[]; readinessProbe: { httpGet: { path: string; port: string } } }[] } } };
}

let workspace: ChartWorkspace | undefined;
let jaeger: ChildProcess | undefined;
let output = '';
let dir = '';
const ports = new Map<number, number>();
let objects: K8sObject[] = [];

beforeAll(async () => {
  workspace = await chartWorkspace();
  objects = parseAllDocuments(await helmAsync(['template', 'sy', path.join(workspace.dir, 'observability'), '--namespace', 'switchyard']))
    .map((doc) => doc.toJS() as K8sObject | null)
    .filter((obj): obj is K8sObject => obj !== null);
  const config = objects.find((obj) => obj.kind === 'ConfigMap' && obj.metadata.name.endsWith('-jaeger-config'))!.data!['config.yaml']!;
  let local = config;
  for (const match of config.matchAll(/0\.0\.0\.0:(\d+)/g)) {
    const port = Number(match[1]);
    if (!ports.has(port)) ports.set(port, await freePort());
    local = local.replaceAll(`0.0.0.0:${port}`, `127.0.0.1:${ports.get(port)!}`);
  }
  dir = mkdtempSync(path.join(tmpdir(), 'switchyard-jaeger-chart-'));
  writeFileSync(path.join(dir, 'config.yaml'), local);
  const binary = await jaegerBinary();
  const deployment = objects.find((obj) => obj.kind === 'Deployment' && obj.metadata.name.endsWith('-jaeger'))!;
  const args = deployment.spec!.template.spec.containers[0]!.args!.map((arg) => arg.replace('/etc/jaeger/config.yaml', path.join(dir, 'config.yaml')));
  jaeger = spawn(binary, args, { env: { PATH: process.env.PATH, HOME: process.env.HOME }, stdio: ['ignore', 'pipe', 'pipe'] });
  jaeger.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  jaeger.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
}, 600_000);

afterAll(async () => {
  if (jaeger && jaeger.exitCode === null) {
    jaeger.kill('SIGTERM');
    await new Promise((resolve) => jaeger!.once('exit', resolve));
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
  workspace?.remove();
}, 30_000);

const local = (containerPort: number) => {
  const port = ports.get(containerPort);
  if (!port) throw new Error(`the Jaeger config does not listen on ${containerPort}`);
  return `http://127.0.0.1:${port}`;
};

describe('the chart\'s Jaeger v2 config on the real Jaeger', () => {
  test('listens on every port the Pod declares, and the probes\' health check reports healthy', async () => {
    const container = objects.find((obj) => obj.kind === 'Deployment' && obj.metadata.name.endsWith('-jaeger'))!.spec!.template.spec.containers[0]!;
    for (const port of container.ports) expect([port.name, ports.has(port.containerPort)]).toEqual([port.name, true]);
    const probe = container.readinessProbe.httpGet;
    const healthPort = container.ports.find((port) => port.name === probe.port)!.containerPort;
    const status = await waitFor(
      'Jaeger healthy',
      async () => {
        if (jaeger?.exitCode !== null) throw new Error(`jaeger exited:\n${output.slice(-3000)}`);
        const response = await fetch(local(healthPort) + probe.path).catch(() => undefined);
        return response?.status === 200 ? ((await response.json()) as { healthy: boolean }) : undefined;
      },
      30_000,
      200,
    );
    expect(status.healthy).toBe(true);
  }, 60_000);

  test('takes a span over OTLP/HTTP (4318) and shows it in the query API (16686)', async () => {
    const traceId = randomBytes(16).toString('hex');
    const now = BigInt(Date.now()) * 1_000_000n;
    const body = {
      resourceSpans: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'chart-check' } }] },
          scopeSpans: [{ spans: [{ traceId, spanId: randomBytes(8).toString('hex'), name: 'probe', kind: 1, startTimeUnixNano: String(now), endTimeUnixNano: String(now + 1_000_000n) }] }],
        },
      ],
    };
    const sent = await fetch(`${local(4318)}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect(sent.status).toBe(200);
    const trace = await waitFor(
      'the span in the query API',
      async () => {
        const response = await fetch(`${local(16686)}/api/traces/${traceId}`);
        if (response.status !== 200) return undefined;
        const answer = (await response.json()) as { data: { spans: { operationName: string }[] }[] };
        return answer.data[0]?.spans.length ? answer.data[0] : undefined;
      },
      20_000,
      200,
    );
    expect(trace.spans.map((span) => span.operationName)).toEqual(['probe']);
  }, 60_000);

  test('keeps at most jaeger.maxTraces traces in memory', () => {
    const config = parse(objects.find((obj) => obj.kind === 'ConfigMap' && obj.metadata.name.endsWith('-jaeger-config'))!.data!['config.yaml']!) as {
      extensions: { jaeger_storage: { backends: Record<string, { memory: { max_traces: number } }> } };
    };
    expect(Object.values(config.extensions.jaeger_storage.backends).map((backend) => backend.memory.max_traces)).toEqual([50000]);
  });
});
