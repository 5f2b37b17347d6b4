import {
  type CustomObjectsApi,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  ListWatch,
} from '@kubernetes/client-node';
import { API_GROUP, API_VERSION, PLURAL, subscriptionKey, type EventSubscription } from '../api/v1alpha1/index.js';
import type { OperatorLogger } from '../operator-logger.js';
import { BookmarkWatch, DEFAULT_WATCH_TIMEOUT_SECONDS } from './bookmark-watch.js';
import { describeKubeError } from './kube-errors.js';

/** First wait before restarting a failed list or watch: 500 ms, a blip costs little. */
export const DEFAULT_WATCH_RESTART_INITIAL_DELAY_MS = 500;
/** Longest wait between restarts: 30 s, so an API server back from an outage is watched again quickly. */
export const DEFAULT_WATCH_RESTART_MAX_DELAY_MS = 30_000;
/** Deleted subscriptions remembered for their last cleanup (see `deleted`); the oldest are forgotten beyond this. */
export const MAX_TOMBSTONES = 1000;

export interface SubscriptionInformerOptions {
  kubeConfig: KubeConfig;
  customObjects: CustomObjectsApi;
  /** Watch one namespace; undefined = every namespace (cluster-wide list and watch). */
  namespace: string | undefined;
  /** Period of the full re-queue of every cached key. */
  resyncMs: number;
  logger: OperatorLogger;
  restartInitialDelayMs?: number;
  restartMaxDelayMs?: number;
  /** Server-side timeout of each watch (default DEFAULT_WATCH_TIMEOUT_SECONDS, below client-node's inactivity timeout). */
  watchTimeoutSeconds?: number;
}

/**
 * What about an object should make the operator look at it again: its spec (by generation and content, so an
 * object whose generation did not move, e.g. written before the CRD enabled the status subresource, is still seen) and its deletion. Status-only and finalizer-only
 * updates, most of them the operator's own writes, are not enqueued: each status write would otherwise trigger
 * the next reconcile, forever (controller-runtime's GenerationChangedPredicate does the same).
 */
function changeSignature(object: EventSubscription): string {
  return JSON.stringify([
    object.metadata.generation ?? null,
    object.metadata.deletionTimestamp ?? null,
    object.spec ?? null,
  ]);
}

/**
 * A cache of EventSubscriptions kept current by list + watch (client-node's ListWatch: relists on 410 Gone and
 * reconnects when the server closes a watch), plus what ListWatch does not do: restarting with capped exponential
 * backoff after any other error (it stops for good otherwise), and a periodic resync that hands every cached key
 * to the handler again. Handlers get keys, never objects: the reconciler always reads the latest from the cache.
 * Every watch asks for bookmarks (see BookmarkWatch). A deleted subscription's last state is kept as a tombstone
 * until the reconciler takes it (`deleted`), for the cleanup that needs no finalizer.
 */
export class SubscriptionInformer {
  private readonly listWatch: ListWatch<KubernetesObject>;
  private readonly signatures = new Map<string, string>();
  private readonly tombstones = new Map<string, EventSubscription>();
  private readonly handlers: Array<(key: string) => void> = [];
  private resyncTimer: NodeJS.Timeout | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private restartDelayMs: number;
  private listed = false;
  private stopped = true;
  private consecutiveFailures = 0;
  readonly path: string;

  constructor(private readonly options: SubscriptionInformerOptions) {
    const { namespace, customObjects } = options;
    this.path = `/apis/${API_GROUP}/${API_VERSION}${namespace ? `/namespaces/${namespace}` : ''}/${PLURAL}`;
    this.restartDelayMs = options.restartInitialDelayMs ?? DEFAULT_WATCH_RESTART_INITIAL_DELAY_MS;
    const list = async (): Promise<KubernetesListObject<KubernetesObject>> => {
      const result = (
        namespace
          ? await customObjects.listNamespacedCustomObject({
              group: API_GROUP,
              version: API_VERSION,
              plural: PLURAL,
              namespace,
            })
          : await customObjects.listClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural: PLURAL })
      ) as KubernetesListObject<KubernetesObject>;
      // Not synced yet: ListWatch puts the items into its cache after this returns, and then opens the watch.
      this.consecutiveFailures = 0;
      this.restartDelayMs = options.restartInitialDelayMs ?? DEFAULT_WATCH_RESTART_INITIAL_DELAY_MS;
      return result;
    };
    // ListWatch opens a watch only once the list's items are in its cache: from then on the cache is complete.
    const watch = new BookmarkWatch(
      options.kubeConfig,
      options.watchTimeoutSeconds ?? DEFAULT_WATCH_TIMEOUT_SECONDS,
      () => {
        this.listed = true;
      },
    );
    this.listWatch = new ListWatch(this.path, watch, list, false);
    this.listWatch.on('add', (object) => this.observed(object as EventSubscription, true));
    this.listWatch.on('update', (object) => this.observed(object as EventSubscription, false));
    this.listWatch.on('delete', (object) => {
      const key = subscriptionKey(object);
      this.signatures.delete(key);
      this.tombstones.delete(key);
      this.tombstones.set(key, object as EventSubscription);
      if (this.tombstones.size > MAX_TOMBSTONES) this.tombstones.delete(this.tombstones.keys().next().value as string);
      this.emit(key);
    });
    this.listWatch.on('error', (error) => this.failed(error));
  }

  /** Calls `handler` with the key of every added, changed (spec or deletion) or deleted subscription, and of all of them at each resync. */
  onKey(handler: (key: string) => void): void {
    this.handlers.push(handler);
  }

  /** Starts listing and watching; resolves once the first attempt is under way (see `hasSynced`). */
  async start(): Promise<void> {
    if (!this.stopped) return;
    this.stopped = false;
    this.resyncTimer = setInterval(() => this.resync(), this.options.resyncMs);
    this.resyncTimer.unref();
    await this.listWatch.start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.resyncTimer);
    clearTimeout(this.restartTimer);
    await this.listWatch.stop();
  }

  /** True once a list succeeded and its items are cached: the cache holds every subscription (it may lag behind by the watch's latency). */
  get hasSynced(): boolean {
    return this.listed;
  }

  /** Failed list or watch attempts since the last successful list, for /readyz detail and logs. */
  get failuresSinceLastList(): number {
    return this.consecutiveFailures;
  }

  get(key: string): EventSubscription | undefined {
    const slash = key.indexOf('/');
    return this.listWatch.get(key.slice(slash + 1), key.slice(0, slash) || undefined) as EventSubscription | undefined;
  }

  keys(): string[] {
    return this.listWatch.list().map(subscriptionKey);
  }

  /** Every cached subscription. */
  list(): EventSubscription[] {
    return this.listWatch.list() as EventSubscription[];
  }

  /** The last state of a subscription the watch reported deleted (until `forgetDeleted`): the reconciler's cleanup reads it. */
  deleted(key: string): EventSubscription | undefined {
    return this.tombstones.get(key);
  }

  forgetDeleted(key: string): void {
    this.tombstones.delete(key);
  }

  /** Keys of deleted subscriptions whose tombstone nobody took yet (deleted while this replica was a standby). */
  deletedKeys(): string[] {
    return [...this.tombstones.keys()];
  }

  /** The resourceVersion the next watch resumes from (advanced by bookmarks too). */
  get resourceVersion(): string {
    return this.listWatch.latestResourceVersion();
  }

  /** Hands every cached key to the handlers, as a resync or on becoming leader. */
  resync(): void {
    for (const key of this.keys()) this.emit(key);
  }

  private observed(object: EventSubscription, added: boolean): void {
    // An event arrived: the watch works, so the next failure starts the backoff over.
    this.restartDelayMs = this.options.restartInitialDelayMs ?? DEFAULT_WATCH_RESTART_INITIAL_DELAY_MS;
    const key = subscriptionKey(object);
    const signature = changeSignature(object);
    const previous = this.signatures.get(key);
    this.signatures.set(key, signature);
    // Deleted and created again under the same name: the new one owns the name now.
    if (added) this.tombstones.delete(key);
    if (added || previous !== signature) this.emit(key);
  }

  private emit(key: string): void {
    for (const handler of this.handlers) handler(key);
  }

  private failed(error: unknown): void {
    if (this.stopped) return;
    this.consecutiveFailures++;
    const delayMs = this.restartDelayMs;
    this.restartDelayMs = Math.min(
      this.restartDelayMs * 2,
      this.options.restartMaxDelayMs ?? DEFAULT_WATCH_RESTART_MAX_DELAY_MS,
    );
    this.options.logger.warn(
      { path: this.path, error: describeKubeError(error), retryInMs: delayMs },
      'list/watch of eventsubscriptions failed; restarting',
    );
    clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => {
      if (this.stopped) return;
      this.listWatch.start().catch((startError: unknown) => this.failed(startError));
    }, delayMs);
    this.restartTimer.unref();
  }
}
