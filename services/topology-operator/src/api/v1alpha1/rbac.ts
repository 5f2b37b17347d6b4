import { API_GROUP, PLURAL } from './names.js';

/**
 * The Kubernetes API permissions the operator needs, beside the API it serves (as messaging-topology-operator keeps
 * its kubebuilder RBAC markers beside its types). The chart grants exactly these (charts/topology-operator,
 * templates/rbac.yaml and the `subscriptionRules` helper) and the operator's code calls exactly these; tests in
 * k8s/test/charts.spec.ts fail when either side drifts.
 */
export interface PermissionRule {
  /** `''` is the core group. */
  apiGroups: readonly string[];
  resources: readonly string[];
  verbs: readonly string[];
}

/** Where subscriptions are watched (their namespace, or every namespace): a Role there, or a ClusterRole. */
export const SUBSCRIPTION_RULES: readonly PermissionRule[] = [
  // list+watch: the informer (reads come from its cache, so no get); patch: finalizer add/remove.
  { apiGroups: [API_GROUP], resources: [PLURAL], verbs: ['list', 'watch', 'patch'] },
  { apiGroups: [API_GROUP], resources: [`${PLURAL}/status`], verbs: ['patch'] },
  // "<service>-consumer-policy": created on first use, then one data key merge-patched per queue.
  { apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'create', 'patch'] },
  { apiGroups: [''], resources: ['events'], verbs: ['create'] },
];

/** The leader-election Lease, in the operator's own namespace (get and update only on its one Lease, by name). */
export const LEADER_ELECTION_RULES: readonly PermissionRule[] = [
  { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] },
];

/** Rules as sorted `<group>/<resource>:<verb>` strings (core group: `core`), for comparing two sets of rules. */
export function permissionsOf(rules: readonly PermissionRule[]): string[] {
  const permissions = rules.flatMap((rule) =>
    rule.apiGroups.flatMap((group) =>
      rule.resources.flatMap((resource) => rule.verbs.map((verb) => `${group || 'core'}/${resource}:${verb}`)),
    ),
  );
  return [...new Set(permissions)].sort();
}

/** Every permission the operator needs. */
export const OPERATOR_PERMISSIONS: readonly string[] = permissionsOf([...SUBSCRIPTION_RULES, ...LEADER_ELECTION_RULES]);
