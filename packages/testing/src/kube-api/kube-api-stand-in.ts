/**
 * A small in-process stand-in for the Kubernetes API server, for tests only: no API server (nor kind, nor Docker)
 * can run here, so the operator's real @kubernetes/client-node code runs against this instead.
 *
 * What it does: serves the real REST paths, JSON bodies and `Status` errors for exactly the resources the topology
 * operator uses (EventSubscriptions switchyard.io/v1alpha1 with /status, ConfigMaps, Events, coordination.k8s.io
 * Leases; all namespaced, plus the all-namespaces list/watch), with list, watch (resourceVersion, bookmarks,
 * timeoutSeconds, 410 Expired for a compacted resourceVersion), get, create, update, patch (merge, JSON patch, and
 * strategic merge treated as plain merge for the core kinds, whose fields the operator uses have no merge keys) and
 * delete; resourceVersion conflicts, generation, status subresource and finalizer semantics; an optional RBAC rule
 * list (403 for anything else), and fault hooks (drop or expire watches, fail the next requests).
 *
 * What it does not do: TLS (a real API server is HTTPS only; this is plain HTTP on 127.0.0.1 and the kubeconfig sets
 * insecure-skip-tls-verify, without which the client refuses http), validation or defaulting against the CRD's
 * OpenAPI schema (tests send fully-specified objects), server-side apply, managedFields, dryRun, selectors beyond
 * equality (and no DELETED when an object stops matching a watch's selector), list paging (limit/continue are
 * ignored) or reads at an older resourceVersion, discovery (/api, /apis: so no KubernetesObjectApi),
 * deletecollection, garbage collection, admission, or any resource not listed above. Every request needs the bearer
 * token from `kubeConfig()` (401 otherwise) and all run as one user. Passing tests here prove the client side, not
 * cluster behaviour.
 */
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiStatusError, badRequest, expired } from './api-status.js';
import { forbidden, isAllowed, type PolicyRule, type Verb } from './authorization.js';
import { type KubeObject, ObjectStore } from './object-store.js';
import { applyPatch } from './patch-documents.js';
import { routeRequest, type RequestTarget } from './request-routing.js';
import { apiVersionOf, qualifiedName, RESOURCE_KINDS } from './resource-kinds.js';
import { selectorFilter } from './selectors.js';
import { WatchHub } from './watch-hub.js';

export interface KubeApiStandInOptions {
  /** RBAC rules the (single) user holds; undefined = everything allowed. Change later with `setRules`. */
  rules?: PolicyRule[];
  /** Interval of BOOKMARK events on watches that ask for them. Default 1000 ms (real servers: about a minute) so tests see them quickly. */
  bookmarkIntervalMs?: number;
  /** Changes kept for watches resuming from a resourceVersion; older ones get 410 Expired. Default 1000. */
  historyLimit?: number;
  /** User named in 403 messages. Default system:serviceaccount:default:switchyard-topology-operator. */
  user?: string;
}

/** A failure injected ahead of real handling (the request has no effect). */
export interface InjectedFault {
  /** 500 InternalError or 429 TooManyRequests (with Retry-After: 1). */
  code: 500 | 429;
  /** How many matching requests fail. Default 1. */
  count?: number;
  /** Only requests with this RBAC verb; default any. */
  verb?: Verb;
  /** Only this resource (`leases`, `eventsubscriptions/status`); default any. */
  resource?: string;
}

export interface RecordedRequest {
  verb: Verb | undefined;
  /** plural or plural/subresource; undefined when the path served nothing. */
  resource: string | undefined;
  namespace: string | undefined;
  name: string | undefined;
  /** HTTP status of the answer (200 for a watch that was opened). */
  code: number;
  /** The query parameters as sent (e.g. a watch's resourceVersion, allowWatchBookmarks, timeoutSeconds). */
  query: Record<string, string>;
}

/** The plain object `new KubeConfig().loadFromOptions(...)` takes (clusters, users, contexts, currentContext). */
export interface KubeConfigOptions {
  clusters: { name: string; server: string; skipTLSVerify: boolean }[];
  users: { name: string; token: string }[];
  contexts: { name: string; cluster: string; user: string; namespace: string }[];
  currentContext: string;
}

export interface KubeApiStandIn {
  /** http://127.0.0.1:<port> */
  readonly url: string;
  /** For `kubeConfig.loadFromOptions(standIn.kubeConfig())`; `namespace` becomes the context's namespace (default 'default'). */
  kubeConfig(namespace?: string): KubeConfigOptions;
  /** Writes a kubeconfig file (for KUBECONFIG of a child process) and returns its path; removed by close(). */
  kubeConfigFile(namespace?: string): string;
  setRules(rules: PolicyRule[] | undefined): void;
  /** Ends every open watch stream cleanly, as an API server restart or load balancer does. Returns how many. */
  dropWatches(): number;
  /** Forgets watch history and sends each open watch an ERROR 410 Expired, then ends it: informers must re-list. */
  expireWatches(): number;
  /** Forgets watch history: a watch resuming from any older resourceVersion gets ERROR 410 Expired. */
  compactHistory(): void;
  failNext(fault: InjectedFault): void;
  /** Every request so far, in order. */
  requests(): RecordedRequest[];
  /** Stored objects of a resource (plural, e.g. 'events'), for assertions without going through HTTP. */
  objects(plural: string, namespace?: string): KubeObject[];
  readonly openWatches: number;
  close(): Promise<void>;
}

const TOKEN = 'kube-api-stand-in-token';
const DEFAULT_USER = 'system:serviceaccount:default:switchyard-topology-operator';

export async function startKubeApiStandIn(options: KubeApiStandInOptions = {}): Promise<KubeApiStandIn> {
  let rules = options.rules;
  const user = options.user ?? DEFAULT_USER;
  const faults: (InjectedFault & { count: number })[] = [];
  const recorded: RecordedRequest[] = [];
  const hub = new WatchHub(() => store, options.historyLimit ?? 1000, options.bookmarkIntervalMs ?? 1000);
  const store = new ObjectStore((change) => hub.publish(change));
  let configDir: string | undefined;

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://stand-in');
    const record: RecordedRequest = { verb: undefined, resource: undefined, namespace: undefined, name: undefined, code: 200, query: Object.fromEntries(url.searchParams) };
    recorded.push(record);
    const reply = (code: number, body: unknown, headers: Record<string, string> = {}) => {
      record.code = code;
      response.writeHead(code, { 'Content-Type': 'application/json', ...headers }).end(JSON.stringify(body));
    };
    try {
      const body = await readBody(request);
      if (request.headers.authorization !== `Bearer ${TOKEN}`) throw new ApiStatusError(401, 'Unauthorized', 'Unauthorized');
      const target = routeRequest(request.method ?? 'GET', url);
      const resource = target.subresource ? `${target.resource.plural}/${target.subresource}` : target.resource.plural;
      Object.assign(record, { verb: target.verb, resource, namespace: target.namespace, name: target.name });
      const access = { verb: target.verb, group: target.resource.group, resource, namespace: target.namespace, name: target.name };
      if (rules && !isAllowed(rules, access)) throw forbidden(user, access);
      const fault = faults.find((f) => (f.verb ?? target.verb) === target.verb && (f.resource ?? resource) === resource);
      if (fault) {
        if (--fault.count <= 0) faults.splice(faults.indexOf(fault), 1);
        if (fault.code === 429) return reply(429, new ApiStatusError(429, 'TooManyRequests', 'injected fault: too many requests, please try again later', { retryAfterSeconds: 1 }).toStatus(), { 'Retry-After': '1' });
        throw new ApiStatusError(500, 'InternalError', 'Internal error occurred: injected fault');
      }
      const [code, result] = serve(target, url, body, request.headers['content-type'] ?? '', response);
      if (result !== undefined) reply(code, result);
    } catch (error) {
      const status = error instanceof ApiStatusError ? error : new ApiStatusError(500, 'InternalError', `Internal error occurred: ${String(error)}`);
      if (!response.headersSent) reply(status.code, status.toStatus());
      else response.end();
    }
  }

  /** [code, body], or body undefined when the response is a watch stream already being written. */
  function serve(target: RequestTarget, url: URL, body: unknown, contentType: string, response: ServerResponse): [number, unknown] {
    const { resource, namespace = '', name = '', subresource } = target;
    const mediaType = contentType.split(';')[0]?.trim() ?? '';
    if (url.searchParams.has('dryRun')) throw badRequest('dryRun is not supported by the kube API stand-in');
    if ((target.verb === 'create' || target.verb === 'update') && mediaType !== 'application/json') {
      throw new ApiStatusError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json`);
    }
    switch (target.verb) {
      case 'list': {
        const filter = selectorFilter(url.searchParams.get('labelSelector'), url.searchParams.get('fieldSelector'));
        const items = store.list(resource, target.namespace).filter(filter);
        return [200, { apiVersion: apiVersionOf(resource), kind: `${resource.kind}List`, metadata: { resourceVersion: String(store.resourceVersion) }, items }];
      }
      case 'watch': {
        const timeout = url.searchParams.get('timeoutSeconds');
        hub.open(
          {
            resource,
            namespace: target.namespace,
            filter: selectorFilter(url.searchParams.get('labelSelector'), url.searchParams.get('fieldSelector')),
            resourceVersion: url.searchParams.get('resourceVersion') ?? '',
            bookmarks: url.searchParams.get('allowWatchBookmarks') === 'true',
            timeoutSeconds: timeout === null ? undefined : Number(timeout),
          },
          response,
        );
        return [200, undefined];
      }
      case 'get':
        return [200, store.get(resource, namespace, name)];
      case 'create':
        return [201, store.create(resource, namespace, body as KubeObject)];
      case 'update':
        return [200, store.update(resource, namespace, name, body as KubeObject, subresource)];
      case 'patch': {
        const patched = applyPatch(store.get(resource, namespace, name), body, mediaType, !resource.custom);
        return [200, store.update(resource, namespace, name, patched as KubeObject, subresource)];
      }
      case 'delete': {
        const { object, deleted } = store.delete(resource, namespace, name, (body as { preconditions?: { uid?: string; resourceVersion?: string } } | undefined)?.preconditions);
        // Custom resources answer with the object; core kinds with a Success Status once the object is gone.
        if (!deleted || resource.custom) return [200, object];
        return [200, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { name, kind: resource.plural, uid: object.metadata.uid } }];
      }
    }
  }

  const server = createServer((request, response) => void handle(request, response));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;

  const kubeConfig = (namespace = 'default'): KubeConfigOptions => ({
    clusters: [{ name: 'kube-api-stand-in', server: url, skipTLSVerify: true }],
    users: [{ name: 'stand-in-user', token: TOKEN }],
    contexts: [{ name: 'kube-api-stand-in', cluster: 'kube-api-stand-in', user: 'stand-in-user', namespace }],
    currentContext: 'kube-api-stand-in',
  });

  return {
    url,
    kubeConfig,
    kubeConfigFile(namespace = 'default') {
      configDir ??= mkdtempSync(join(tmpdir(), 'kube-api-stand-in-'));
      const file = join(configDir, `kubeconfig-${namespace}.yaml`);
      const config = kubeConfig(namespace);
      // kubeconfig file format (JSON is valid YAML).
      const fileConfig = {
        apiVersion: 'v1',
        kind: 'Config',
        clusters: config.clusters.map((c) => ({ name: c.name, cluster: { server: c.server, 'insecure-skip-tls-verify': true } })),
        users: config.users.map((u) => ({ name: u.name, user: { token: u.token } })),
        contexts: config.contexts.map((c) => ({ name: c.name, context: { cluster: c.cluster, user: c.user, namespace: c.namespace } })),
        'current-context': config.currentContext,
      };
      writeFileSync(file, JSON.stringify(fileConfig, null, 2));
      return file;
    },
    setRules: (next) => void (rules = next),
    dropWatches: () => hub.endAll(),
    expireWatches() {
      hub.compact();
      return hub.endAll(expired(`too old resource version: the watch cache was reset at ${store.resourceVersion}`));
    },
    compactHistory: () => hub.compact(),
    failNext: (fault) => void faults.push({ count: 1, ...fault }),
    requests: () => recorded.map((r) => ({ ...r, query: { ...r.query } })),
    objects(plural, namespace) {
      const resource = RESOURCE_KINDS.find((k) => k.plural === plural);
      if (!resource) throw new Error(`the stand-in does not serve "${plural}" (only ${RESOURCE_KINDS.map(qualifiedName).join(', ')})`);
      return store.list(resource, namespace);
    },
    get openWatches() {
      return hub.openWatches;
    },
    async close() {
      hub.endAll();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      if (configDir) rmSync(configDir, { recursive: true, force: true });
    },
  };
}

/** The JSON body, undefined when empty; a 400 Status when it is not JSON. */
async function readBody(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw badRequest(`the request body is not valid JSON: ${(error as Error).message}`);
  }
}
