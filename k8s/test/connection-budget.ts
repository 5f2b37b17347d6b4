// The Postgres connection budget of a rendered release: how many connections its service pods (and migration Jobs)
// may open at most, against what the bundled Postgres admits. connection-budget.spec.ts applies it to every scenario.
import { MESSAGING_DATABASE_CONNECTIONS } from '@switchyard/messaging';
import { baseConfigShape } from '@switchyard/service-kit';

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
}

export const SERVICE_NAMES = ['user-service', 'order-service'] as const;
/**
 * A migration Job (`switchyard-migrate deploy`) holds one connection at a time: ensureDatabase's client is closed
 * before the schema engine's pool of one opens. It runs as the service's own role, so it counts against the budget
 * (pre-upgrade hooks run while the old pods are all up).
 */
export const MIGRATION_JOB_CONNECTIONS = 1;
/** What a pod's pool defaults to when the chart sets no DATABASE_POOL_MAX. */
const CODE_DEFAULT_POOL_MAX = baseConfigShape.DATABASE_POOL_MAX.parse(undefined);

export interface ServicePods {
  service: string;
  /** The most pods at once: HPA maxReplicas, KEDA maxReplicaCount or replicas, plus the rolling update's surge. */
  maxPods: number;
  /** DATABASE_POOL_MAX + messaging's connections. */
  connectionsPerPod: number;
  /** What the Deployment's switchyard.io/postgres-connections-per-pod annotation says. */
  documentedPerPod: number | undefined;
}

export interface PostgresLimits {
  maxConnections: number;
  superuserReservedConnections: number;
}

export interface ConnectionBudget {
  services: ServicePods[];
  migrationJobs: number;
  /** Connections the services and Jobs may open at once. */
  demand: number;
  /** max_connections minus what is reserved for the superuser. */
  available: number;
}

/** Service Deployments of a release, with the most pods each may run and what each pod may open. */
export function servicePods(objects: K8sObject[]): ServicePods[] {
  const deployments = objects.filter(
    (obj) => obj.kind === 'Deployment' && (SERVICE_NAMES as readonly string[]).includes(obj.metadata.labels?.['app.kubernetes.io/name'] ?? ''),
  );
  return deployments.map((deployment) => {
    const name = deployment.metadata.name;
    const targets = (obj: K8sObject) => (obj.spec?.scaleTargetRef as { name?: string } | undefined)?.name === name;
    const hpa = objects.find((obj) => obj.kind === 'HorizontalPodAutoscaler' && targets(obj));
    const scaledObject = objects.find((obj) => obj.kind === 'ScaledObject' && targets(obj));
    const replicas = hpa
      ? Number(hpa.spec!.maxReplicas)
      : scaledObject
        ? Number(scaledObject.spec!.maxReplicaCount ?? 100) // KEDA's own default
        : Number(deployment.spec!.replicas ?? 1);
    const surge = (deployment.spec!.strategy as { rollingUpdate?: { maxSurge?: number | string } } | undefined)?.rollingUpdate?.maxSurge ?? '25%';
    const surgePods = typeof surge === 'number' ? surge : Math.ceil((replicas * Number.parseInt(surge, 10)) / 100);
    const configMap = objects.find((obj) => obj.kind === 'ConfigMap' && obj.metadata.name === name);
    const poolMax = Number(configMap?.data?.DATABASE_POOL_MAX ?? CODE_DEFAULT_POOL_MAX);
    const documented = deployment.metadata.annotations?.['switchyard.io/postgres-connections-per-pod'];
    return {
      service: deployment.metadata.labels!['app.kubernetes.io/name']!,
      maxPods: replicas + surgePods,
      connectionsPerPod: poolMax + MESSAGING_DATABASE_CONNECTIONS,
      documentedPerPod: documented === undefined ? undefined : Number(documented),
    };
  });
}

/** max_connections and superuser_reserved_connections of the postgres StatefulSet rendered in `objects`, if any. */
export function postgresLimits(objects: K8sObject[]): PostgresLimits | undefined {
  const statefulSet = objects.find((obj) => obj.kind === 'StatefulSet' && obj.metadata.labels?.['app.kubernetes.io/name'] === 'postgres');
  if (!statefulSet) return undefined;
  const args = ((statefulSet.spec as { template: { spec: { containers: { args?: string[] }[] } } }).template.spec.containers[0]!.args ?? []).join(' ');
  // Postgres's own defaults when the chart passes none.
  const setting = (name: string, fallback: number) => Number(new RegExp(`\\b${name}=(\\d+)`).exec(args)?.[1] ?? fallback);
  return { maxConnections: setting('max_connections', 100), superuserReservedConnections: setting('superuser_reserved_connections', 3) };
}

/** The budget of `services` (and the release's migration Jobs) against `limits`. */
export function connectionBudget(services: ServicePods[], migrationJobs: number, limits: PostgresLimits): ConnectionBudget {
  const demand = services.reduce((sum, pods) => sum + pods.maxPods * pods.connectionsPerPod, 0) + migrationJobs * MIGRATION_JOB_CONNECTIONS;
  return { services, migrationJobs, demand, available: limits.maxConnections - limits.superuserReservedConnections };
}

export function migrationJobs(objects: K8sObject[]): number {
  return objects.filter((obj) => obj.kind === 'Job' && obj.metadata.labels?.['app.kubernetes.io/component'] === 'migrate').length;
}

/** One line saying how the budget adds up, for a failure message. */
export function describeBudget(budget: ConnectionBudget): string {
  const parts = budget.services.map((pods) => `${pods.service} ${pods.maxPods} pods x ${pods.connectionsPerPod}`);
  return `${parts.join(' + ')} + ${budget.migrationJobs} migration Job(s) x ${MIGRATION_JOB_CONNECTIONS} = ${budget.demand} connections; Postgres admits ${budget.available}`;
}
