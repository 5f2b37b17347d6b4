import type { ServerResponse } from 'node:http';
import { ApiStatusError, badRequest, expired } from './api-status.js';
import type { KubeObject, ObjectStore, StoredChange } from './object-store.js';
import { apiVersionOf, type ResourceKind } from './resource-kinds.js';
import type { ObjectFilter } from './selectors.js';

export interface WatchRequest {
  resource: ResourceKind;
  /** undefined = all namespaces. */
  namespace: string | undefined;
  filter: ObjectFilter;
  /** The `resourceVersion` query parameter: '' or '0' start with the current state as ADDED events. */
  resourceVersion: string;
  bookmarks: boolean;
  timeoutSeconds: number | undefined;
}

interface OpenWatch extends WatchRequest {
  response: ServerResponse;
  timers: NodeJS.Timeout[];
}

/**
 * Watch streams: newline-delimited `{type, object}` JSON over one chunked 200 response, like the real server.
 * Keeps the last `historyLimit` changes so a watch can resume from a resourceVersion; anything older is gone (as
 * after an etcd compaction) and that watch gets an ERROR event with a 410 Expired Status, then the stream ends.
 */
export class WatchHub {
  private readonly watches = new Set<OpenWatch>();
  private history: StoredChange[] = [];
  /** Changes up to and including this resourceVersion are no longer replayable. */
  private compactedThrough = 0;

  constructor(
    private readonly store: () => ObjectStore,
    private readonly historyLimit: number,
    private readonly bookmarkIntervalMs: number,
  ) {}

  get openWatches(): number {
    return this.watches.size;
  }

  publish(change: StoredChange): void {
    this.history.push(change);
    while (this.history.length > this.historyLimit) this.compactedThrough = this.history.shift()?.resourceVersion ?? this.compactedThrough;
    for (const watch of this.watches) if (matches(watch, change)) send(watch.response, change.type, change.object);
  }

  open(request: WatchRequest, response: ServerResponse): void {
    const from = request.resourceVersion === '' ? 0 : Number(request.resourceVersion);
    if (!Number.isInteger(from) || from < 0) throw badRequest(`invalid resourceVersion ${JSON.stringify(request.resourceVersion)}`);
    if (request.timeoutSeconds !== undefined && !(request.timeoutSeconds >= 0)) throw badRequest('timeoutSeconds must be a non-negative number');
    response.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private' });
    response.flushHeaders();
    if (from !== 0 && from < this.compactedThrough) {
      send(response, 'ERROR', expired(`too old resource version: ${from} (${this.compactedThrough})`).toStatus());
      response.end();
      return;
    }
    const watch: OpenWatch = { ...request, response, timers: [] };
    this.watches.add(watch);
    response.on('close', () => this.forget(watch));
    if (from === 0) {
      for (const object of this.store().list(request.resource, request.namespace)) if (request.filter(object)) send(response, 'ADDED', object);
    } else {
      for (const change of this.history) if (change.resourceVersion > from && matches(watch, change)) send(response, change.type, change.object);
    }
    if (request.bookmarks) watch.timers.push(setInterval(() => send(response, 'BOOKMARK', this.bookmark(request.resource)), this.bookmarkIntervalMs));
    if (request.timeoutSeconds !== undefined) watch.timers.push(setTimeout(() => response.end(), request.timeoutSeconds * 1000));
  }

  /** Forgets every change so far: a watch from any older resourceVersion now gets 410 Expired. */
  compact(): void {
    this.compactedThrough = this.store().resourceVersion;
    this.history = [];
  }

  /** Ends every open stream cleanly, optionally after an ERROR event carrying `status`. Returns how many. */
  endAll(status?: ApiStatusError): number {
    const count = this.watches.size;
    for (const watch of [...this.watches]) {
      if (status) send(watch.response, 'ERROR', status.toStatus());
      watch.response.end();
      this.forget(watch);
    }
    return count;
  }

  private forget(watch: OpenWatch): void {
    watch.timers.forEach(clearTimeout);
    this.watches.delete(watch);
  }

  private bookmark(resource: ResourceKind): KubeObject {
    return { apiVersion: apiVersionOf(resource), kind: resource.kind, metadata: { resourceVersion: String(this.store().resourceVersion) } };
  }
}

function matches(watch: OpenWatch, change: StoredChange): boolean {
  return change.resource === watch.resource && (watch.namespace === undefined || change.object.metadata.namespace === watch.namespace) && watch.filter(change.object);
}

function send(response: ServerResponse, type: string, object: unknown): void {
  if (!response.writableEnded && !response.destroyed) response.write(`${JSON.stringify({ type, object })}\n`);
}
