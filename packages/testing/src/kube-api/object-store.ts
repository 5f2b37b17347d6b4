import { randomBytes, randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { alreadyExists, badRequest, conflict, invalid, notFound } from './api-status.js';
import { apiVersionOf, qualifiedName, type ResourceKind } from './resource-kinds.js';

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  finalizers?: string[];
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  [field: string]: unknown;
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  [field: string]: unknown;
}

export type ChangeType = 'ADDED' | 'MODIFIED' | 'DELETED';
export interface StoredChange {
  resourceVersion: number;
  type: ChangeType;
  resource: ResourceKind;
  object: KubeObject;
}

/** Fields only the server writes: taken from the stored object on every update, whatever the client sent. */
const SERVER_MANAGED = ['uid', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'generation'] as const;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const CONFIG_MAP_KEY = /^[-._a-zA-Z0-9]+$/;

/** Kubernetes timestamps are RFC 3339 in whole seconds. */
const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');
/** Drops undefined values and shares nothing with the caller. */
const copy = <T>(value: T): T => (value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T));

/**
 * Objects of every served resource, with one global resourceVersion counter as etcd has, and the write semantics
 * the operator depends on: optimistic concurrency, generation, status subresource, finalizers. Every change is
 * passed to `onChange` (the watch hub) with the resourceVersion it produced.
 */
export class ObjectStore {
  private lastResourceVersion = 0;
  private readonly objects = new Map<string, KubeObject>();

  constructor(private readonly onChange: (change: StoredChange) => void) {}

  get resourceVersion(): number {
    return this.lastResourceVersion;
  }

  list(resource: ResourceKind, namespace?: string): KubeObject[] {
    const prefix = `${qualifiedName(resource)}/${namespace === undefined ? '' : `${namespace}/`}`;
    return [...this.objects.entries()]
      .filter(([key]) => key.startsWith(prefix))
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([, object]) => copy(object));
  }

  get(resource: ResourceKind, namespace: string, name: string): KubeObject {
    const object = this.objects.get(keyOf(resource, namespace, name));
    if (!object) throw notFound(qualifiedName(resource), name);
    return copy(object);
  }

  create(resource: ResourceKind, namespace: string, body: KubeObject): KubeObject {
    const object = copy(body);
    checkIdentity(resource, namespace, object);
    const meta = object.metadata;
    if (!meta.name && meta.generateName) meta.name = meta.generateName + randomBytes(4).toString('hex').slice(0, 5);
    const name = meta.name ?? '';
    if (this.objects.has(keyOf(resource, namespace, name))) throw alreadyExists(qualifiedName(resource), name);
    for (const field of [...SERVER_MANAGED, 'resourceVersion'] as const) delete meta[field];
    Object.assign(meta, { namespace, uid: randomUUID(), creationTimestamp: now() });
    if (resource.custom) meta.generation = 1;
    if (resource.statusSubresource) delete object.status;
    validate(resource, object);
    return this.write(resource, namespace, object, 'ADDED');
  }

  /**
   * PUT, and the second half of PATCH. `subresource: 'status'` takes only .status from `body`; the main resource
   * keeps the stored status. A stale metadata.resourceVersion is a 409 Conflict; custom resources also need one
   * (422 without, as a real server answers), core kinds allow an unconditional update. Emptying the finalizers of
   * an object that is being deleted deletes it (DELETED only, as a real server does).
   */
  update(resource: ResourceKind, namespace: string, name: string, body: KubeObject, subresource?: 'status'): KubeObject {
    const current = this.get(resource, namespace, name);
    const incoming = copy(body);
    checkIdentity(resource, namespace, incoming, name);
    const sentVersion = incoming.metadata.resourceVersion;
    if (!sentVersion && resource.custom) throw invalid(resource.kind, name, [{ field: 'metadata.resourceVersion', message: 'Invalid value: 0x0: must be specified for an update' }]);
    if (sentVersion && sentVersion !== current.metadata.resourceVersion) throw conflict(qualifiedName(resource), name);

    let next: KubeObject;
    if (subresource === 'status') {
      next = { ...current, status: incoming.status };
    } else {
      next = { ...incoming, metadata: { ...incoming.metadata, namespace } };
      for (const field of SERVER_MANAGED) Object.assign(next.metadata, { [field]: current.metadata[field] });
      if (resource.statusSubresource) next.status = current.status;
    }
    next = copy({ ...next, metadata: { ...next.metadata, resourceVersion: current.metadata.resourceVersion } });

    if (current.metadata.deletionTimestamp) {
      const added = (next.metadata.finalizers ?? []).filter((f) => !(current.metadata.finalizers ?? []).includes(f));
      if (added.length > 0) throw invalid(resource.kind, name, [{ field: 'metadata.finalizers', message: `Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers ${JSON.stringify(added)}` }]);
    }
    validate(resource, next);
    if (resource.custom && !isDeepStrictEqual(specOf(next), specOf(current))) next.metadata.generation = (current.metadata.generation ?? 0) + 1;
    // A write that changes nothing is not stored: no new resourceVersion, no watch event (status loops rely on this).
    if (isDeepStrictEqual(next, current)) return current;
    if (current.metadata.deletionTimestamp && (next.metadata.finalizers ?? []).length === 0) return this.remove(resource, namespace, next);
    return this.write(resource, namespace, next, 'MODIFIED');
  }

  /**
   * DELETE: an object with finalizers only gets metadata.deletionTimestamp and a new generation (MODIFIED) and stays
   * until they are removed; otherwise it goes (DELETED). Returns the object and whether it is gone.
   */
  delete(resource: ResourceKind, namespace: string, name: string, preconditions?: { uid?: string; resourceVersion?: string }): { object: KubeObject; deleted: boolean } {
    const current = this.get(resource, namespace, name);
    const { uid, resourceVersion } = preconditions ?? {};
    if (uid && uid !== current.metadata.uid) throw conflict(qualifiedName(resource), name, `Precondition failed: UID in precondition: ${uid}, UID in object meta: ${current.metadata.uid}`);
    if (resourceVersion && resourceVersion !== current.metadata.resourceVersion) throw conflict(qualifiedName(resource), name, `Precondition failed: ResourceVersion in precondition: ${resourceVersion}, ResourceVersion in object meta: ${current.metadata.resourceVersion}`);
    if ((current.metadata.finalizers ?? []).length === 0) return { object: this.remove(resource, namespace, current), deleted: true };
    if (current.metadata.deletionTimestamp) return { object: current, deleted: false };
    Object.assign(current.metadata, { deletionTimestamp: now(), deletionGracePeriodSeconds: 0 });
    // As a real server does (graceful deletion bumps a set generation): controllers that filter on generation see it.
    if (current.metadata.generation !== undefined) current.metadata.generation += 1;
    return { object: this.write(resource, namespace, current, 'MODIFIED'), deleted: false };
  }

  private remove(resource: ResourceKind, namespace: string, object: KubeObject): KubeObject {
    this.objects.delete(keyOf(resource, namespace, object.metadata.name ?? ''));
    object.metadata.resourceVersion = String(++this.lastResourceVersion);
    this.onChange({ resourceVersion: this.lastResourceVersion, type: 'DELETED', resource, object: copy(object) });
    return object;
  }

  private write(resource: ResourceKind, namespace: string, object: KubeObject, type: ChangeType): KubeObject {
    object.metadata.resourceVersion = String(++this.lastResourceVersion);
    this.objects.set(keyOf(resource, namespace, object.metadata.name ?? ''), copy(object));
    this.onChange({ resourceVersion: this.lastResourceVersion, type, resource, object: copy(object) });
    return object;
  }
}

function keyOf(resource: ResourceKind, namespace: string, name: string): string {
  return `${qualifiedName(resource)}/${namespace}/${name}`;
}

/** What generation counts: everything but metadata and status (for the operator's custom resource that is .spec). */
function specOf(object: KubeObject): unknown {
  const { metadata: _metadata, status: _status, apiVersion: _apiVersion, kind: _kind, ...rest } = object;
  return rest;
}

/** 400s a real server gives when the body does not belong at the URL; fills in apiVersion and kind when absent. */
function checkIdentity(resource: ResourceKind, namespace: string, object: KubeObject, urlName?: string): void {
  if (typeof object !== 'object' || object === null || typeof object.metadata !== 'object' || object.metadata === null) throw badRequest('the request body must be an object with "metadata"');
  const apiVersion = apiVersionOf(resource);
  if ((object.apiVersion ?? apiVersion) !== apiVersion || (object.kind ?? resource.kind) !== resource.kind) throw badRequest(`the API version in the data (${object.apiVersion}, kind ${object.kind}) does not match the expected API version (${apiVersion}, kind ${resource.kind})`);
  Object.assign(object, { apiVersion, kind: resource.kind });
  if ((object.metadata.namespace ?? namespace) !== namespace) throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
  if (urlName !== undefined && object.metadata.name !== urlName) throw badRequest(`the name of the object (${object.metadata.name}) does not match the name on the URL (${urlName})`);
}

/** Only generic checks; the stand-in does not validate or default against the CRD's OpenAPI schema. */
function validate(resource: ResourceKind, object: KubeObject): void {
  const causes: { field: string; message: string }[] = [];
  const name = object.metadata.name ?? '';
  if (!name) causes.push({ field: 'metadata.name', message: 'Required value: name or generateName is required' });
  else if (name.length > 253 || !DNS_SUBDOMAIN.test(name)) causes.push({ field: 'metadata.name', message: `Invalid value: "${name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'` });
  for (const [field, map] of [['labels', object.metadata.labels], ['annotations', object.metadata.annotations]] as const) {
    for (const [key, value] of Object.entries(map ?? {})) if (typeof value !== 'string') causes.push({ field: `metadata.${field}[${key}]`, message: 'Invalid value: must be a string' });
  }
  if (resource.kind === 'ConfigMap') {
    for (const [key, value] of Object.entries((object.data ?? {}) as Record<string, unknown>)) {
      if (!CONFIG_MAP_KEY.test(key)) causes.push({ field: `data[${key}]`, message: `Invalid value: "${key}": a valid config key must consist of alphanumeric characters, '-', '_' or '.'` });
      if (typeof value !== 'string') causes.push({ field: `data[${key}]`, message: 'Invalid value: must be a string' });
    }
  }
  if (causes.length > 0) throw invalid(resource.kind, name, causes);
}
