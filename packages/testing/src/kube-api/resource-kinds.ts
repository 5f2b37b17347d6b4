/** The only resources the stand-in serves: those the topology operator reads or writes. All are namespaced. */
export interface ResourceKind {
  /** API group; '' is the core group served under /api/v1. */
  group: string;
  version: string;
  plural: string;
  kind: string;
  /** Custom resource semantics: metadata.generation, PUT needs metadata.resourceVersion, no strategic merge patch. */
  custom: boolean;
  /** Served with a /status subresource: the main resource ignores .status, /status ignores everything else. */
  statusSubresource: boolean;
}

export const RESOURCE_KINDS: readonly ResourceKind[] = [
  { group: 'switchyard.io', version: 'v1alpha1', plural: 'eventsubscriptions', kind: 'EventSubscription', custom: true, statusSubresource: true },
  { group: '', version: 'v1', plural: 'configmaps', kind: 'ConfigMap', custom: false, statusSubresource: false },
  { group: '', version: 'v1', plural: 'events', kind: 'Event', custom: false, statusSubresource: false },
  { group: 'coordination.k8s.io', version: 'v1', plural: 'leases', kind: 'Lease', custom: false, statusSubresource: false },
];

export function apiVersionOf(kind: ResourceKind): string {
  return kind.group === '' ? kind.version : `${kind.group}/${kind.version}`;
}

/** How the API server names a resource in messages: `configmaps`, `eventsubscriptions.switchyard.io`. */
export function qualifiedName(kind: ResourceKind): string {
  return kind.group === '' ? kind.plural : `${kind.plural}.${kind.group}`;
}

export function findResourceKind(group: string, version: string, plural: string): ResourceKind | undefined {
  return RESOURCE_KINDS.find((k) => k.group === group && k.version === version && k.plural === plural);
}
