import type { ChannelModel } from 'amqplib';
import type { EventEmitter } from 'node:events';
import { errorFields, type MessagingLogger } from '../observability/messaging-logger.js';
import type { ConsumerPolicy } from '../topology/consumer-policy.js';
import { declareTopology } from '../topology/declare-topology.js';
import { DEFAULT_EXCHANGE } from '../topology/topology-plan.js';
import { TopologyConflictError } from '../messaging-errors.js';
import { toError } from '../to-error.js';
import { type ConsumerSettings, describeSettings, resolveConsumerSettings } from './consumer-settings.js';
import type { FailureRouter } from './failure-routing.js';
import type { SwitchyardServerOptions } from './switchyard-server-options.js';

/** A policy waiting to be applied: `{ policy: undefined }` means "back to the code defaults". */
interface PendingPolicy {
  policy: ConsumerPolicy | undefined;
}

export interface LivePolicyOptions {
  server: SwitchyardServerOptions;
  router: FailureRouter;
  log: MessagingLogger;
  /** Where `settings` and `policyRejected` are emitted (the server's `on`). */
  events: EventEmitter;
}

/**
 * The consumer's settings and the live policy behind them: a policy is held pending until its topology is
 * declared, then adopted (failure routes, logs, listeners), or rejected with the previous settings (or the code
 * defaults) kept. The broker-facing half (consume, pause, prefetch) is `QueueConsumer`'s.
 */
export class LivePolicy {
  /** In force once started. */
  private settings: ConsumerSettings | undefined;
  /** The policy `settings` come from (undefined: the code defaults). */
  private policy: ConsumerPolicy | undefined;
  /** Handler event types, fixed at start. */
  private handlerTypes: readonly string[] = [];
  private pending: PendingPolicy | undefined;

  constructor(private readonly options: LivePolicyOptions) {}

  /** The settings in force; undefined before `start`. */
  get current(): ConsumerSettings | undefined {
    return this.settings;
  }

  /** Settings for `policy`, or for the code defaults; throws when the policy does not fit this consumer. */
  settingsFor(policy: ConsumerPolicy | undefined): ConsumerSettings {
    return resolveConsumerSettings(this.options.server, this.handlerTypes, policy);
  }

  /** Holds `policy` to be applied next (replacing any pending one). */
  hold(policy: ConsumerPolicy | undefined): void {
    this.pending = { policy };
  }

  /** Holds `policy` unless one is pending already (the source's policy at start yields to an earlier `applyPolicy`). */
  holdUnlessPending(policy: ConsumerPolicy | undefined): void {
    this.pending ??= { policy };
  }

  /** `policy` is still the one waiting to be applied. */
  isPending(policy: ConsumerPolicy | undefined): boolean {
    return this.pending !== undefined && this.pending.policy === policy;
  }

  /**
   * Puts the first settings in force: the pending policy's, or the code defaults when there is none or it cannot
   * even be planned. They need no broker: the first setup declares them.
   */
  start(handlerTypes: readonly string[]): void {
    this.handlerTypes = handlerTypes;
    let first = this.settingsFor(undefined);
    let firstPolicy: ConsumerPolicy | undefined;
    if (this.pending) {
      try {
        first = this.settingsFor(this.pending.policy);
        firstPolicy = this.pending.policy;
      } catch (error) {
        this.reject(error, this.pending.policy, 'defaults');
      }
      this.pending = undefined;
    }
    this.adopt(first, firstPolicy);
  }

  /**
   * A (re)connect's part: applies a policy that arrived while disconnected (or keeps the old settings if it does
   * not fit), then declares the settings in force. Resolves to them.
   */
  async prepare(model: ChannelModel): Promise<ConsumerSettings> {
    const pending = this.pending;
    if (pending) {
      // A policy that arrived while disconnected: apply it before declaring, or keep the old settings if it does not fit.
      await this.applyPending(model).catch((error: unknown) => {
        if (this.options.server.connection.current() !== model) throw error;
        this.reject(error, pending.policy, 'previous');
      });
    }
    return this.declare(model);
  }

  /**
   * Declares the pending policy's topology on `model` and puts it in force. A policy that does not fit (invalid,
   * or refused by the broker) is dropped with the previous settings kept, and the error is thrown; a lost
   * connection leaves it pending for the next connect.
   */
  async applyPending(model: ChannelModel): Promise<void> {
    const pending = this.pending;
    if (!pending) return;
    let next: ConsumerSettings;
    try {
      next = this.settingsFor(pending.policy);
    } catch (error) {
      if (this.pending === pending) this.pending = undefined;
      throw error;
    }
    const current = this.settings!;
    try {
      // Before the router may send to a new tier or DLQ, it must exist. Unchanged plans are declared by setUp anyway.
      if (JSON.stringify(next.plan) !== JSON.stringify(current.plan)) await declareTopology(model, next.plan);
    } catch (error) {
      const connectionLost = this.options.server.connection.current() !== model;
      if (!connectionLost && this.pending === pending) this.pending = undefined;
      throw error;
    }
    if (this.pending === pending) this.pending = undefined;
    this.adopt(next, pending.policy);
  }

  /** Reports a policy that is not put in force: logged, emitted (the metrics count it) and handed back to its source (readiness shows it). */
  reject(error: unknown, policy: ConsumerPolicy | undefined, instead: 'previous' | 'defaults'): void {
    const { server, log, events } = this.options;
    const failure = toError(error);
    const fields = {
      queue: server.queue,
      policySource: policy?.source,
      policyGeneration: policy?.generation,
      ...errorFields(failure),
    };
    log.error(
      fields,
      instead === 'previous'
        ? 'could not apply the consumer policy; the previous settings stay'
        : 'could not apply the consumer policy; the code defaults are in force instead',
    );
    events.emit('policyRejected', failure);
    try {
      server.policySource?.rejected?.(policy, failure);
    } catch {
      // Reporting must not break consuming.
    }
  }

  /**
   * Declares the topology of the settings in force. A policy the broker refuses (say a queue type or DLQ other than
   * the existing queue's) is rejected like one refused at runtime, and the code defaults are declared and consume
   * instead: a policy file must not stop a service from booting, nor keep a reconnecting consumer failing for good.
   * Only when the defaults conflict too does this throw (failing `listen`, or the reconnect, as without a policy).
   */
  private async declare(model: ChannelModel): Promise<ConsumerSettings> {
    const settings = this.settings!;
    try {
      await declareTopology(model, settings.plan);
      return settings;
    } catch (error) {
      if (
        !(error instanceof TopologyConflictError) ||
        settings.policy === undefined ||
        this.options.server.connection.current() !== model
      )
        throw error;
      this.reject(error, this.policy, 'defaults');
      const defaults = this.settingsFor(undefined);
      this.adopt(defaults, undefined);
      await declareTopology(model, defaults.plan);
      return defaults;
    }
  }

  /** Puts settings in force for everything that does not touch the broker: routing of failures, logs, listeners. */
  private adopt(next: ConsumerSettings, policy: ConsumerPolicy | undefined): void {
    const { server, router, log, events } = this.options;
    const previous = this.settings;
    this.settings = next;
    this.policy = policy;
    router.reroute({ retryDelaysMs: next.retryDelaysMs, deadLetterQueue: next.deadLetterQueue });
    const { queue } = server;
    if (next.policy) {
      const bound = new Set(next.eventTypes);
      const unhandled = next.eventTypes.filter((type) => !this.handlerTypes.includes(type));
      const unbound = this.handlerTypes.filter((type) => !bound.has(type));
      // Bound without a handler: such deliveries are dead-lettered as `unknown_event_type`.
      if (unhandled.length > 0)
        log.warn(
          { queue, eventTypes: unhandled },
          'the consumer policy binds event types this service has no handler for; they will be dead-lettered',
        );
      if (unbound.length > 0)
        log.warn(
          { queue, eventTypes: unbound },
          'this service handles event types the consumer policy does not bind; they are not consumed',
        );
      if (next.exchange !== (server.exchange ?? DEFAULT_EXCHANGE))
        log.warn(
          { queue, exchange: next.exchange },
          'the consumer policy binds another exchange than the service is configured with',
        );
    }
    if (previous === undefined || describeSettings(previous) !== describeSettings(next)) {
      log.info(
        { queue, ...JSON.parse(describeSettings(next)) },
        next.policy ? 'consumer policy in force' : 'consumer defaults in force',
      );
    }
    events.emit('settings', next);
  }
}
