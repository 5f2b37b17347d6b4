/** Names of the Kubernetes API the operator owns and uses: one place, so the chart, CRD and code agree. */

export const API_GROUP = 'switchyard.io';
export const API_VERSION = 'v1alpha1';
export const KIND = 'EventSubscription';
export const LIST_KIND = `${KIND}List`;
export const PLURAL = 'eventsubscriptions';
export const SINGULAR = 'eventsubscription';
/** `kubectl get esub`. */
export const SHORT_NAMES: readonly string[] = ['esub'];
/** `kubectl get switchyard` lists every resource of the platform. */
export const CATEGORIES: readonly string[] = ['switchyard'];
export const CRD_NAME = `${PLURAL}.${API_GROUP}`;

/** Held on every subscription whose broker objects may need cleaning up when it is deleted. */
export const FINALIZER = `${API_GROUP}/topology-cleanup`;

/** Field manager and Event source of everything the operator writes. */
export const OPERATOR_NAME = 'switchyard-topology-operator';

/** ConfigMap (in the subscription's namespace) holding the consumer policies of one service: one key per queue, `<queue>.json`. */
export function consumerPolicyConfigMapName(service: string): string {
  return `${service}-consumer-policy`;
}

/** Where a service's chart mounts that ConfigMap; services read `<dir>/<queue>.json` (env CONSUMER_POLICY_DIR). */
export const CONSUMER_POLICY_MOUNT_PATH = '/etc/switchyard/consumer-policy';
