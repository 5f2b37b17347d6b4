import { performance } from 'node:perf_hooks';
import type { ChannelFactory } from '@switchyard/messaging/topology';
import { FINALIZER, subscriptionKey, type EventSubscription } from '../api/v1alpha1/index.js';
import type { ConsumerPolicyConfigMap } from '../kube/consumer-policy-config-map.js';
import type { EventRecorder, RecordedEvent } from '../kube/event-recorder.js';
import { describeKubeError, isConflict, isKubeApiError, isNotFound } from '../kube/kube-errors.js';
import type { SubscriptionWriter } from '../kube/subscription-writer.js';
import type { OperatorLogger } from '../operator-logger.js';
import type { OperatorMetrics, ReconcileResult } from '../operator-metrics.js';
import { finalizeSubscription, reconcileSubscription } from '../subscription/reconcile-subscription.js';
import { LeadershipLostError, type SubscriptionContext } from '../subscription/subscription-context.js';
import type { RequeueBackoffOptions } from '../workqueue/requeue-backoff.js';
import { RequeueBackoff } from '../workqueue/requeue-backoff.js';
import { WorkQueue } from '../workqueue/work-queue.js';
import { statusNeedsWrite } from './status-change.js';
import { errorMessage } from '../errors.js';

/** Two subscriptions reconcile in parallel: broker round trips dominate, and one slow queue must not hold up the rest. */
export const DEFAULT_WORKERS = 2;

/** Where the controller reads subscriptions: the informer's cache. */
export interface SubscriptionCache {
  get(key: string): EventSubscription | undefined;
  keys(): string[];
  list(): EventSubscription[];
  /** Last state of a subscription the watch saw deleted, kept until `forgetDeleted` (cleanup without a finalizer). */
  deleted(key: string): EventSubscription | undefined;
  forgetDeleted(key: string): void;
  /** Keys with such a state still waiting for cleanup. */
  deletedKeys(): string[];
}

/**
 * Only a subscription with `deletionPolicy: Delete` carries FINALIZER: only then must something happen on the
 * broker before the object may go. A Retain subscription needs nothing but its ConfigMap key removed, done
 * best-effort when the watch reports it deleted; holding a finalizer for that would leave it stuck whenever no
 * operator runs (e.g. `helm uninstall`, which removes the operator before the subscriptions).
 */
export function needsFinalizer(subscription: EventSubscription): boolean {
  return (subscription.spec as Partial<EventSubscription['spec']> | undefined)?.deletionPolicy === 'Delete';
}

export interface SubscriptionControllerOptions {
  cache: SubscriptionCache;
  writer: SubscriptionWriter;
  configMaps: ConsumerPolicyConfigMap;
  recorder: EventRecorder;
  broker: ChannelFactory;
  metrics: OperatorMetrics;
  logger: OperatorLogger;
  /** Re-reconcile a healthy subscription this often, to refresh depth and consumers in its status. */
  statusRefreshMs: number;
  workers?: number;
  requeue?: RequeueBackoffOptions;
}

/** One leadership term: its own queue, so keys and backoffs of a previous term never leak into the next. */
interface Term {
  active: boolean;
  queue: WorkQueue;
  /** Resolves when every worker of the term has returned. */
  finished: Promise<void>;
}

/**
 * The reconcile loop. It runs only while this replica leads: `startLeading` waits until the workers of the
 * previous term have returned (so no key is ever worked on twice at once in this process), then opens a fresh work
 * queue, starts the workers and queues every cached subscription; `stopLeading` shuts the queue at once, and a
 * reconcile still in flight is fenced: the reconcile and finalize functions check `isActive` before each
 * destructive broker call, and the controller checks the term before each API write, so a replica that lost the
 * Lease stops writing immediately. While not leading, keys from the informer are dropped: the next leader queues
 * everything from its own warm cache (including subscriptions deleted meanwhile).
 */
export class SubscriptionController {
  private term: Term | undefined;
  /** Bumped by every start and stop: a start that waited for the previous term goes on only if nothing came after it. */
  private transitions = 0;

  constructor(private readonly options: SubscriptionControllerOptions) {
    options.metrics.trackQueueDepth(() => this.term?.queue.depth ?? 0);
  }

  enqueue(key: string): void {
    this.term?.queue.add(key);
  }

  get isLeading(): boolean {
    return this.term?.active ?? false;
  }

  /**
   * Opens a new term once the previous one's workers have returned; resolves when it is open, or at once when a
   * later start or stop made this one moot.
   */
  async startLeading(): Promise<void> {
    if (this.term?.active) return;
    const transition = ++this.transitions;
    await this.term?.finished;
    if (transition !== this.transitions || this.term?.active) return;
    const queue = new WorkQueue({ backoff: new RequeueBackoff(this.options.requeue) });
    const term: Term = { active: true, queue, finished: Promise.resolve() };
    const workers: Promise<void>[] = [];
    for (let i = 0; i < (this.options.workers ?? DEFAULT_WORKERS); i++) workers.push(this.work(term));
    term.finished = Promise.allSettled(workers).then(() => undefined);
    this.term = term;
    this.options.metrics.setLeader(true);
    for (const key of [...this.options.cache.keys(), ...this.options.cache.deletedKeys()]) queue.add(key);
  }

  /** Stops handing out keys now; resolves when the reconciles in flight have finished (writing nothing more). */
  async stopLeading(): Promise<void> {
    this.transitions++;
    const term = this.term;
    if (!term) return;
    term.active = false;
    this.options.metrics.setLeader(false);
    term.queue.shutDown();
    await term.finished;
    if (this.term === term) this.term = undefined;
  }

  private async work(term: Term): Promise<void> {
    for (;;) {
      const key = await term.queue.get();
      if (key === undefined) return;
      try {
        await this.process(key, term);
      } finally {
        term.queue.done(key);
      }
    }
  }

  private async process(key: string, term: Term): Promise<void> {
    const started = performance.now();
    let result: ReconcileResult;
    try {
      result = await this.reconcile(key, term);
    } catch (error) {
      if (error instanceof LeadershipLostError) return;
      result = 'error';
      const delayMs = term.queue.addRateLimited(key);
      const message = describeFailure(error);
      this.options.logger.error({ key, error: message, retryInMs: delayMs }, 'reconcile failed');
      const subscription = this.options.cache.get(key);
      if (subscription && term.active)
        await this.options.recorder.record(subscription, { type: 'Warning', reason: 'ReconcileFailed', message });
    }
    this.options.metrics.observeReconcile(result, (performance.now() - started) / 1000);
  }

  private async reconcile(key: string, term: Term): Promise<ReconcileResult> {
    const cached = this.options.cache.get(key);
    if (!cached) return this.cleanUpDeleted(key, term);
    if (cached.metadata.deletionTimestamp) return this.finalize(key, cached, term);

    let subscription: EventSubscription;
    try {
      assertActive(term);
      // Added for Delete, removed for Retain (also after a change Delete → Retain, and from objects of older versions).
      subscription = needsFinalizer(cached)
        ? await this.options.writer.ensureFinalizer(cached)
        : await this.options.writer.removeFinalizer(cached);
    } catch (error) {
      return this.handleWriteConflict(key, term, error);
    }

    const outcome = await reconcileSubscription(
      subscription,
      this.options.broker,
      undefined,
      this.contextFor(key, term),
    );
    assertActive(term);
    if (outcome.policy)
      await this.options.configMaps.write(
        { namespace: namespaceOf(subscription), service: outcome.policy.service, queue: outcome.policy.queue },
        outcome.policy,
      );
    assertActive(term);
    if (statusNeedsWrite(subscription.status, outcome.status, new Date())) {
      try {
        await this.options.writer.patchStatus(subscription, outcome.status);
      } catch (error) {
        if (!isNotFound(error)) throw error;
        term.queue.forget(key);
        return 'success';
      }
    }
    await this.recordAll(subscription, outcome.events, outcome.error, term);

    if (outcome.error) return this.requeueTransient(key, term, outcome.error, 'reconcile');
    term.queue.forget(key);
    // The refresh cadence is the operator's setting (STATUS_REFRESH_SECONDS), whatever default the reconcile suggests.
    term.queue.addAfter(key, this.options.statusRefreshMs);
    this.options.logger.debug({ key, generation: subscription.metadata.generation }, 'reconciled');
    return 'success';
  }

  private async finalize(key: string, subscription: EventSubscription, term: Term): Promise<ReconcileResult> {
    if (!(subscription.metadata.finalizers ?? []).includes(FINALIZER)) {
      // Nothing of ours holds it (Retain): its ConfigMap key goes when the watch reports it gone.
      term.queue.forget(key);
      return 'success';
    }
    const outcome = await finalizeSubscription(subscription, this.options.broker, this.contextFor(key, term));
    assertActive(term);
    await this.recordAll(subscription, outcome.events, outcome.error, term);
    if (outcome.error) return this.requeueTransient(key, term, outcome.error, 'cleanup');
    if (!outcome.done) {
      term.queue.addRateLimited(key);
      return 'requeue';
    }
    assertActive(term);
    await this.removePolicyKey(key, subscription);
    try {
      assertActive(term);
      await this.options.writer.removeFinalizer(subscription);
    } catch (error) {
      return this.handleWriteConflict(key, term, error);
    }
    term.queue.forget(key);
    this.options.logger.info({ key }, 'cleaned up; finalizer removed');
    return 'success';
  }

  /**
   * The subscription is gone (the watch reported it deleted): remove its ConfigMap key. Best-effort and without a
   * finalizer: a failure is retried with backoff while this replica leads, but a deletion no replica saw (all
   * down) leaves the key behind, which the service's pods ignore once the queue has no bindings.
   */
  private async cleanUpDeleted(key: string, term: Term): Promise<ReconcileResult> {
    const tombstone = this.options.cache.deleted(key);
    if (tombstone) {
      assertActive(term);
      await this.removePolicyKey(key, tombstone);
      this.options.cache.forgetDeleted(key);
      this.options.logger.info({ key }, 'deleted; consumer policy key removed');
    }
    term.queue.forget(key);
    return 'success';
  }

  /** Removes the subscription's key from its service's ConfigMap, unless another live subscription writes that same key now. */
  private async removePolicyKey(key: string, subscription: EventSubscription): Promise<void> {
    const spec = subscription.spec as Partial<EventSubscription['spec']> | undefined;
    if (typeof spec?.service !== 'string' || typeof spec.queue !== 'string') return;
    const location = { namespace: namespaceOf(subscription), service: spec.service, queue: spec.queue };
    const sharedWith = this.others(key).find(
      (other) =>
        !other.metadata.deletionTimestamp &&
        namespaceOf(other) === location.namespace &&
        other.spec?.service === location.service &&
        other.spec.queue === location.queue,
    );
    if (sharedWith) {
      this.options.logger.info(
        { key, keptFor: `${namespaceOf(sharedWith)}/${sharedWith.metadata.name}` },
        'consumer policy key kept: another subscription writes it',
      );
      return;
    }
    await this.options.configMaps.remove(location);
  }

  /** What reconcile and finalize get beyond the subscription: the others (shared queues, claims) and the fence. */
  private contextFor(key: string, term: Term): SubscriptionContext {
    return { otherSubscriptions: this.others(key), isActive: () => term.active };
  }

  private others(key: string): EventSubscription[] {
    return this.options.cache.list().filter((other) => subscriptionKey(other) !== key);
  }

  /** 409: our cached copy is stale, try again from the next one; 404: the object is gone. Anything else is a failure. */
  private handleWriteConflict(key: string, term: Term, error: unknown): ReconcileResult {
    if (isConflict(error)) {
      term.queue.addRateLimited(key);
      return 'requeue';
    }
    if (isNotFound(error)) {
      term.queue.forget(key);
      return 'success';
    }
    throw error;
  }

  /** A reconcile or cleanup that failed on something that may pass (the broker, the API server): retried with backoff. */
  private requeueTransient(key: string, term: Term, error: Error, what: 'reconcile' | 'cleanup'): ReconcileResult {
    const delayMs = term.queue.addRateLimited(key);
    this.options.logger.warn(
      { key, error: describeFailure(error), retryInMs: delayMs },
      `${what} hit a transient failure; requeued`,
    );
    return 'error';
  }

  /** Records the outcome's Events, and a Warning for a failure that came without one: every failure is visible on the object. */
  private async recordAll(
    subscription: EventSubscription,
    events: RecordedEvent[],
    error: Error | undefined,
    term: Term,
  ): Promise<void> {
    const all = [...events];
    if (error && !all.some((event) => event.type === 'Warning'))
      all.push({ type: 'Warning', reason: 'ReconcileFailed', message: describeFailure(error) });
    for (const event of all) {
      if (!term.active) return;
      await this.options.recorder.record(subscription, event);
    }
  }
}

/** This replica lost the lease while a reconcile was running: the rest of it must not write anything. */
function assertActive(term: Term): void {
  if (!term.active) throw new LeadershipLostError('write to the API server');
}

function namespaceOf(subscription: EventSubscription): string {
  return subscription.metadata.namespace ?? 'default';
}

function describeFailure(error: unknown): string {
  if (isKubeApiError(error)) return describeKubeError(error);
  return errorMessage(error);
}
