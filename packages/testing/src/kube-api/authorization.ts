import { ApiStatusError } from './api-status.js';

/** One RBAC PolicyRule, as in a Role/ClusterRole: `resources` may name subresources (`eventsubscriptions/status`); '*' matches anything. */
export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}

export type Verb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete';

export interface AccessRequest {
  verb: Verb;
  group: string;
  /** plural, or `plural/subresource`. */
  resource: string;
  namespace: string | undefined;
  name: string | undefined;
}

const covers = (values: readonly string[], value: string) => values.includes('*') || values.includes(value);

/** RBAC's union-of-rules check: allowed when any rule covers group, resource, verb and (if the rule lists names) the name. */
export function isAllowed(rules: readonly PolicyRule[], request: AccessRequest): boolean {
  return rules.some(
    (rule) =>
      covers(rule.apiGroups, request.group) &&
      covers(rule.resources, request.resource) &&
      covers(rule.verbs, request.verb) &&
      (!rule.resourceNames?.length || (request.name !== undefined && rule.resourceNames.includes(request.name))),
  );
}

/** The 403 a real server sends, worded the same way. */
export function forbidden(user: string, request: AccessRequest): ApiStatusError {
  const [plural = '', subresource] = request.resource.split('/');
  const qualified = request.group === '' ? plural : `${plural}.${request.group}`;
  const target = request.name === undefined ? qualified : `${qualified} "${request.name}"`;
  const scope = request.namespace === undefined ? 'at the cluster scope' : `in the namespace "${request.namespace}"`;
  return new ApiStatusError(
    403,
    'Forbidden',
    `${target} is forbidden: User "${user}" cannot ${request.verb} resource "${request.resource}" in API group "${request.group}" ${scope}`,
    { ...(request.name === undefined ? {} : { name: request.name }), group: request.group, kind: subresource ? request.resource : plural },
  );
}
