import { hostname } from 'node:os';
import { OPERATOR_NAME } from '../api/v1alpha1/index.js';

/** Lease the replicas compete for unless LEASE_NAME says otherwise. */
export const DEFAULT_LEASE_NAME = OPERATOR_NAME;
/** Namespace of the Lease (and the pod) unless POD_NAMESPACE says otherwise; the chart sets it from the downward API. */
export const DEFAULT_POD_NAMESPACE = 'default';
/** Port of /healthz, /readyz and /metrics: 8080, the chart's container port. */
export const DEFAULT_PORT = 8080;
/** Full re-list of every subscription: 5 minutes, a safety net for missed watch events, cheap at our object counts. */
export const DEFAULT_RESYNC_SECONDS = 300;
/** How often a healthy subscription's status (depth, consumers) is refreshed: 30 s, about a Prometheus scrape or two. */
export const DEFAULT_STATUS_REFRESH_SECONDS = 30;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Everything the operator process reads from its environment, resolved once at start-up. */
export interface OperatorConfig {
  /** RABBITMQ_URL (required): amqp(s)://user:pass@host:port/vhost. */
  rabbitmqUrl: string;
  /**
   * The one namespace whose subscriptions are watched: WATCH_NAMESPACE, or the operator's own (POD_NAMESPACE) when
   * it is empty; undefined = every namespace, only when WATCH_ALL_NAMESPACES is true (which needs a ClusterRole).
   */
  watchNamespace: string | undefined;
  /** POD_NAME: holder identity on the Lease and reporting instance of Events; default the hostname (= pod name in Kubernetes). */
  podName: string;
  /** POD_NAMESPACE: where the Lease lives. */
  podNamespace: string;
  /** LEASE_NAME: the coordination.k8s.io/v1 Lease the replicas elect a leader on. */
  leaseName: string;
  /** PORT: HTTP port of /healthz, /readyz and /metrics. */
  port: number;
  /** LOG_LEVEL: pino level. */
  logLevel: LogLevel;
  /** RESYNC_SECONDS: period of the full re-queue of every cached subscription. */
  resyncSeconds: number;
  /** STATUS_REFRESH_SECONDS: re-reconcile a healthy subscription this often to refresh depth and consumers in its status. */
  statusRefreshSeconds: number;
}

/** A bad environment variable; the message names it and says what is expected. */
export class OperatorConfigError extends Error {
  override name = 'OperatorConfigError';
}

/** DNS-1123 label: what Kubernetes accepts as a namespace or Lease name part. */
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** DNS-1123 subdomain: what Kubernetes accepts as an object name. */
const DNS_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export function operatorConfigFromEnv(env: NodeJS.ProcessEnv = process.env): OperatorConfig {
  const podNamespace = optionalName(env, 'POD_NAMESPACE', DNS_LABEL) ?? DEFAULT_POD_NAMESPACE;
  return {
    rabbitmqUrl: rabbitmqUrl(env),
    watchNamespace: watchNamespace(env, podNamespace),
    podName: nonEmpty(env.POD_NAME) ?? hostname(),
    podNamespace,
    leaseName: optionalName(env, 'LEASE_NAME', DNS_SUBDOMAIN) ?? DEFAULT_LEASE_NAME,
    port: integer(env, 'PORT', DEFAULT_PORT, 1, 65_535),
    logLevel: logLevel(env),
    resyncSeconds: integer(env, 'RESYNC_SECONDS', DEFAULT_RESYNC_SECONDS, 1, 86_400),
    statusRefreshSeconds: integer(env, 'STATUS_REFRESH_SECONDS', DEFAULT_STATUS_REFRESH_SECONDS, 1, 86_400),
  };
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}

function rabbitmqUrl(env: NodeJS.ProcessEnv): string {
  const value = nonEmpty(env.RABBITMQ_URL);
  if (!value) throw new OperatorConfigError('RABBITMQ_URL is required: set it to amqp://user:password@host:5672/vhost');
  let protocol: string;
  try {
    protocol = new URL(value).protocol;
  } catch {
    throw new OperatorConfigError('RABBITMQ_URL is not a URL: expected amqp://user:password@host:5672/vhost');
  }
  // Never echo the value: it holds the broker password.
  if (protocol !== 'amqp:' && protocol !== 'amqps:')
    throw new OperatorConfigError(`RABBITMQ_URL must start with amqp:// or amqps://, got ${protocol}//`);
  return value;
}

/**
 * Least privilege by default: the operator's own namespace, where the chart grants it a Role. Every namespace only
 * when asked for explicitly (the chart's `clusterWide`, which also grants the ClusterRole a cluster-wide list needs).
 */
function watchNamespace(env: NodeJS.ProcessEnv, podNamespace: string): string | undefined {
  const named = optionalName(env, 'WATCH_NAMESPACE', DNS_LABEL);
  const all = nonEmpty(env.WATCH_ALL_NAMESPACES)?.toLowerCase();
  if (all !== undefined && all !== 'true' && all !== 'false')
    throw new OperatorConfigError(`WATCH_ALL_NAMESPACES must be true or false, got ${JSON.stringify(all)}`);
  if (all !== 'true') return named ?? podNamespace;
  if (named !== undefined)
    throw new OperatorConfigError(
      `WATCH_ALL_NAMESPACES=true watches every namespace, but WATCH_NAMESPACE names one (${JSON.stringify(named)}): set only one of them`,
    );
  return undefined;
}

function optionalName(env: NodeJS.ProcessEnv, variable: string, pattern: RegExp): string | undefined {
  const value = nonEmpty(env[variable]);
  if (value === undefined) return undefined;
  if (!pattern.test(value))
    throw new OperatorConfigError(
      `${variable} must be a valid Kubernetes name (lower-case letters, digits and '-'), got ${JSON.stringify(value)}`,
    );
  return value;
}

function integer(env: NodeJS.ProcessEnv, variable: string, fallback: number, min: number, max: number): number {
  const value = nonEmpty(env[variable]);
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(parsed) || parsed < min || parsed > max) {
    throw new OperatorConfigError(`${variable} must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
  return parsed;
}

function logLevel(env: NodeJS.ProcessEnv): LogLevel {
  const value = nonEmpty(env.LOG_LEVEL)?.toLowerCase();
  if (value === undefined) return 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(value))
    throw new OperatorConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(value)}`);
  return value as LogLevel;
}
