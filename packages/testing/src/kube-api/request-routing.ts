import { ApiStatusError } from './api-status.js';
import type { Verb } from './authorization.js';
import { findResourceKind, type ResourceKind } from './resource-kinds.js';

export interface RequestTarget {
  resource: ResourceKind;
  /** undefined only for the all-namespaces list/watch path. */
  namespace: string | undefined;
  name: string | undefined;
  subresource: 'status' | undefined;
  verb: Verb;
}

const PATH =
  /^\/(?:api\/(?<coreVersion>v1)|apis\/(?<group>[^/]+)\/(?<version>[^/]+))(?:\/namespaces\/(?<namespace>[^/]+))?\/(?<plural>[^/]+)(?:\/(?<name>[^/]+)(?:\/(?<subresource>[^/]+))?)?$/;

const notFoundPath = () => new ApiStatusError(404, 'NotFound', 'the server could not find the requested resource');

/** Maps method + URL to the resource and RBAC verb, or a 404/405 Status as the real server answers. */
export function routeRequest(method: string, url: URL): RequestTarget {
  const groups = PATH.exec(url.pathname)?.groups;
  if (!groups) throw notFoundPath();
  const resource = groups.coreVersion ? findResourceKind('', groups.coreVersion, groups.plural ?? '') : findResourceKind(groups.group ?? '', groups.version ?? '', groups.plural ?? '');
  const { namespace, name, subresource } = groups;
  if (!resource || (subresource !== undefined && (subresource !== 'status' || !resource.statusSubresource))) throw notFoundPath();
  if (namespace === undefined && name !== undefined) throw notFoundPath();

  const watch = url.searchParams.get('watch');
  const isWatch = watch === 'true' || watch === '1';
  const verb: Verb | undefined =
    name === undefined
      ? { GET: isWatch ? ('watch' as const) : ('list' as const), POST: namespace === undefined ? undefined : ('create' as const) }[method]
      : { GET: 'get' as const, PUT: 'update' as const, PATCH: 'patch' as const, DELETE: subresource ? undefined : ('delete' as const) }[method];
  if (!verb) throw new ApiStatusError(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource`);
  return { resource, namespace: namespace === undefined ? undefined : decodeURIComponent(namespace), name: name === undefined ? undefined : decodeURIComponent(name), subresource: subresource as 'status' | undefined, verb };
}
