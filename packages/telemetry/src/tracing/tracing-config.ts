import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** Resource attributes a process is described by, before `OTEL_RESOURCE_ATTRIBUTES` and `OTEL_SERVICE_NAME` (which win). */
export type TracingResourceAttributes = Record<string, string>;

export type TracingConfig =
  { enabled: false; reason: string } | { enabled: true; resourceAttributes: TracingResourceAttributes };

/** `deployment.environment.name` when `DEPLOYMENT_ENVIRONMENT` is not set. */
export const DEFAULT_DEPLOYMENT_ENVIRONMENT = 'local';

/**
 * Decides from the environment whether this process traces, and what it is. Tracing is on only when somewhere to
 * send spans is configured: without an OTLP endpoint (or `OTEL_TRACES_EXPORTER=console`) nothing is started, so
 * there is no exporter retrying against localhost:4318 and no cost.
 */
export function tracingConfigFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  entryPoint: string | undefined = process.argv[1],
): TracingConfig {
  if (isTrue(env.OTEL_SDK_DISABLED)) return { enabled: false, reason: 'OTEL_SDK_DISABLED' };
  const exporters = list(env.OTEL_TRACES_EXPORTER);
  if (exporters.includes('none')) return { enabled: false, reason: 'OTEL_TRACES_EXPORTER=none' };
  const endpoint = nonEmpty(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) ?? nonEmpty(env.OTEL_EXPORTER_OTLP_ENDPOINT);
  const otlp = exporters.length === 0 || exporters.includes('otlp');
  if (!(otlp && endpoint) && !exporters.includes('console')) return { enabled: false, reason: 'no OTLP endpoint' };

  const pkg = nearestPackage(entryPoint);
  const attributes: TracingResourceAttributes = {
    'service.name': nonEmpty(env.SWITCHYARD_SERVICE_NAME) ?? pkg?.name ?? 'unknown_service:node',
    'deployment.environment.name': nonEmpty(env.DEPLOYMENT_ENVIRONMENT) ?? DEFAULT_DEPLOYMENT_ENVIRONMENT,
  };
  const version = nonEmpty(env.SWITCHYARD_SERVICE_VERSION) ?? pkg?.version;
  if (version) attributes['service.version'] = version;
  const pod = nonEmpty(env.K8S_POD_NAME);
  const namespace = nonEmpty(env.K8S_NAMESPACE_NAME);
  if (pod) attributes['k8s.pod.name'] = pod;
  if (namespace) attributes['k8s.namespace.name'] = namespace;
  return { enabled: true, resourceAttributes: attributes };
}

/** Name (without npm scope) and version of the package the entry point belongs to, e.g. `user-service`. */
function nearestPackage(entryPoint: string | undefined): { name: string; version?: string } | undefined {
  if (!entryPoint) return undefined;
  try {
    for (let dir = dirname(entryPoint); ; dir = dirname(dir)) {
      const file = join(dir, 'package.json');
      if (existsSync(file)) {
        const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: unknown; version?: unknown };
        if (typeof pkg.name !== 'string' || pkg.name === '') return undefined;
        return {
          name: pkg.name.replace(/^@[^/]+\//, ''),
          ...(typeof pkg.version === 'string' ? { version: pkg.version } : {}),
        };
      }
      if (dirname(dir) === dir) return undefined;
    }
  } catch {
    // An unreadable package.json only costs the name: the caller falls back.
    return undefined;
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}

function list(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((item) => item.trim().toLowerCase())
    .filter((item) => item !== '');
}

function isTrue(value: string | undefined): boolean {
  return value?.trim().toLowerCase() === 'true';
}
