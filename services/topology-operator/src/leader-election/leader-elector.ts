import { type CoordinationV1Api, type V1Lease, V1MicroTime } from '@kubernetes/client-node';
import { describeKubeError, isConflict, isNotFound } from '../kube/kube-errors.js';
import type { OperatorLogger } from '../operator-logger.js';
import { toError } from '../errors.js';

/** How long a Lease is valid without renewal: 15 s, client-go's default; a dead leader is replaced within ~15–17 s. */
export const DEFAULT_LEASE_DURATION_MS = 15_000;
/** The leader gives up if it could not renew for 10 s: well before the Lease expires for the others (15 s). */
export const DEFAULT_RENEW_DEADLINE_MS = 10_000;
/** Between acquire or renew attempts: 2 s, client-go's default. */
export const DEFAULT_RETRY_PERIOD_MS = 2_000;

export interface LeaderElectorOptions {
  coordination: CoordinationV1Api;
  /** Namespace and name of the coordination.k8s.io/v1 Lease. */
  namespace: string;
  name: string;
  /** This replica's holderIdentity: the pod name. */
  identity: string;
  logger: OperatorLogger;
  /** Called the moment this replica becomes leader. */
  onStartedLeading: () => void;
  /** Called the moment it stops being leader (lost, could not renew in time, or released): stop reconciling now. */
  onStoppedLeading: () => void;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
}

/** What of a Lease record decides whether it is still held: it changes whenever the holder renews. */
function recordKey(lease: V1Lease): string {
  const spec = lease.spec ?? {};
  return JSON.stringify([spec.holderIdentity ?? '', timeText(spec.renewTime), spec.leaseTransitions ?? 0]);
}

/** Lease times arrive as RFC 3339 strings (the client does not revive them) and leave as V1MicroTime. */
function timeText(value: unknown): string {
  if (value instanceof Date) return value.toISOString();
  return typeof value === 'string' ? value : '';
}

/**
 * Leader election on a coordination.k8s.io/v1 Lease, the way client-go's leaderelection does it, with only
 * `get`, `create` and `update` (PUT with the resourceVersion read, so of two replicas racing for a free or expired
 * Lease one gets 409 Conflict and loses). A Lease held by another is considered expired when its record has not
 * changed for its leaseDurationSeconds as measured on this replica's clock, so clock skew between nodes does not
 * matter. The leader renews every retry period and steps down (`onStoppedLeading`) when it has not managed to for
 * the renew deadline, or sees another holder.
 */
export class LeaderElector {
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private leading = false;
  private running = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private observedKey: string | undefined;
  private observedAt = 0;
  private lastRenewAt = 0;

  constructor(private readonly options: LeaderElectorOptions) {
    this.leaseDurationMs = options.leaseDurationMs ?? DEFAULT_LEASE_DURATION_MS;
    this.renewDeadlineMs = options.renewDeadlineMs ?? DEFAULT_RENEW_DEADLINE_MS;
    this.retryPeriodMs = options.retryPeriodMs ?? DEFAULT_RETRY_PERIOD_MS;
    if (!(this.renewDeadlineMs < this.leaseDurationMs))
      throw new RangeError('renew deadline must be shorter than the lease duration');
    if (!(this.retryPeriodMs < this.renewDeadlineMs))
      throw new RangeError('retry period must be shorter than the renew deadline');
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** Starts competing for the Lease in the background. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Stops competing (and leading, if it did) without touching the Lease: it expires for the others. */
  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
    this.stepDown('stopped');
  }

  /**
   * Stops, and if this replica holds the Lease, hands it back (empty holderIdentity, 1 s duration) so a standby
   * takes over at its next retry instead of waiting for expiry. Call after reconciling has stopped.
   */
  async release(): Promise<void> {
    const wasLeading = this.leading;
    await this.stop();
    if (!wasLeading) return;
    const { coordination, namespace, name, identity } = this.options;
    try {
      const lease = await coordination.readNamespacedLease({ name, namespace });
      if (lease.spec?.holderIdentity !== identity) return;
      const now = new V1MicroTime();
      await coordination.replaceNamespacedLease({
        name,
        namespace,
        body: {
          ...lease,
          spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, acquireTime: now, renewTime: now },
        },
      });
      this.options.logger.info({ lease: `${namespace}/${name}` }, 'released the leader lease');
    } catch (error) {
      // It will expire by itself; releasing only makes the hand-over faster.
      this.options.logger.warn(
        { lease: `${namespace}/${name}`, error: describeKubeError(error) },
        'could not release the leader lease; it will expire',
      );
    }
  }

  private async run(): Promise<void> {
    while (this.running) {
      const started = Date.now();
      const budget = this.leading
        ? Math.max(0, this.lastRenewAt + this.renewDeadlineMs - started)
        : this.renewDeadlineMs;
      const outcome = await withTimeout(this.tryAcquireOrRenew(), budget).catch((error: unknown) => {
        this.options.logger.warn(
          { lease: this.leaseName, error: describeKubeError(error) },
          'leader lease attempt failed',
        );
        return 'failed' as const;
      });
      if (!this.running) return;
      if (outcome === 'held') {
        this.lastRenewAt = started;
        if (!this.leading) {
          this.leading = true;
          this.options.logger.info({ lease: this.leaseName, identity: this.options.identity }, 'became leader');
          this.options.onStartedLeading();
        }
      } else if (this.leading && (outcome === 'taken' || Date.now() - this.lastRenewAt >= this.renewDeadlineMs)) {
        this.stepDown(
          outcome === 'taken'
            ? 'another replica holds the lease'
            : `could not renew the lease for ${this.renewDeadlineMs} ms`,
        );
      }
      await this.sleep(this.leading ? this.retryPeriodMs : jittered(this.retryPeriodMs));
    }
  }

  /** 'held': this replica holds the Lease now; 'taken': another one validly does; 'failed': lost a race or an error. */
  private async tryAcquireOrRenew(): Promise<'held' | 'taken' | 'failed'> {
    const { coordination, namespace, name, identity } = this.options;
    const now = Date.now();
    let lease: V1Lease;
    try {
      lease = await coordination.readNamespacedLease({ name, namespace });
    } catch (error) {
      if (!isNotFound(error)) throw error;
      const time = new V1MicroTime(now);
      try {
        const created = await coordination.createNamespacedLease({
          namespace,
          body: {
            apiVersion: 'coordination.k8s.io/v1',
            kind: 'Lease',
            metadata: { name, namespace },
            spec: {
              holderIdentity: identity,
              leaseDurationSeconds: Math.ceil(this.leaseDurationMs / 1000),
              acquireTime: time,
              renewTime: time,
              leaseTransitions: 0,
            },
          },
        });
        this.observe(created, now);
        return 'held';
      } catch (createError) {
        if (isConflict(createError)) return 'failed';
        throw createError;
      }
    }
    if (this.observedKey !== recordKey(lease)) this.observe(lease, now);
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    const durationMs = (spec.leaseDurationSeconds ?? Math.ceil(this.leaseDurationMs / 1000)) * 1000;
    if (holder !== '' && holder !== identity && this.observedAt + durationMs > now) return 'taken';
    const time = new V1MicroTime(now);
    const ours = holder === identity;
    try {
      const updated = await coordination.replaceNamespacedLease({
        name,
        namespace,
        body: {
          ...lease,
          spec: {
            ...spec,
            holderIdentity: identity,
            leaseDurationSeconds: Math.ceil(this.leaseDurationMs / 1000),
            acquireTime: ours && spec.acquireTime ? spec.acquireTime : time,
            renewTime: time,
            leaseTransitions: (spec.leaseTransitions ?? 0) + (ours ? 0 : 1),
          },
        },
      });
      this.observe(updated, now);
      return 'held';
    } catch (error) {
      // Someone else wrote the Lease since we read it: they won this round.
      if (isConflict(error)) return 'failed';
      throw error;
    }
  }

  private observe(lease: V1Lease, at: number): void {
    this.observedKey = recordKey(lease);
    this.observedAt = at;
  }

  private stepDown(why: string): void {
    if (!this.leading) return;
    this.leading = false;
    this.options.logger.warn({ lease: this.leaseName, identity: this.options.identity, why }, 'stopped leading');
    this.options.onStoppedLeading();
  }

  private get leaseName(): string {
    return `${this.options.namespace}/${this.options.name}`;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const wake = (): void => done();
      this.wake = wake;
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
    });
  }
}

/** Up to 20 % later than `ms`, so standbys do not hit the API server in lockstep (client-go's JitterFactor 1.2). */
function jittered(ms: number): number {
  return Math.round(ms * (1 + Math.random() * 0.2));
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`lease request took longer than ${ms} ms`)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(toError(error));
      },
    );
  });
}
