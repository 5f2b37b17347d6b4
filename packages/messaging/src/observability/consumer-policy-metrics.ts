import { Counter, Gauge, type Registry } from 'prom-client';
import { registerOnce, safely } from '@switchyard/telemetry';
import type { ConsumerSettings } from '../consumer/consumer-settings.js';

/**
 * How a consumer's live policy is doing, for alerts and dashboards: a policy file that cannot be applied does not
 * fail readiness (the last good policy keeps working), so it must be visible here instead.
 *   messaging_consumer_policy_errors_total{queue}   invalid or unreadable policy files, and policies the broker refused
 *   messaging_consumer_paused{queue}                1 while the policy pauses the consumer (deliberately, so still ready)
 *   messaging_consumer_policy_generation{queue}     the EventSubscription generation in force; -1 for the code defaults
 */
export class ConsumerPolicyMetrics {
  private readonly errors: Counter<'queue'>;
  private readonly paused: Gauge<'queue'>;
  private readonly generation: Gauge<'queue'>;

  constructor(registry: Registry) {
    this.errors = registerOnce(
      registry,
      'messaging_consumer_policy_errors_total',
      (registers) =>
        new Counter({
          name: 'messaging_consumer_policy_errors_total',
          help: 'Consumer policies not applied (invalid or unreadable file, or refused by the broker); the last good policy stays in force.',
          labelNames: ['queue'] as const,
          registers,
        }),
    );
    this.paused = registerOnce(
      registry,
      'messaging_consumer_paused',
      (registers) =>
        new Gauge({
          name: 'messaging_consumer_paused',
          help: '1 while the consumer policy pauses consuming from the queue, else 0.',
          labelNames: ['queue'] as const,
          registers,
        }),
    );
    this.generation = registerOnce(
      registry,
      'messaging_consumer_policy_generation',
      (registers) =>
        new Gauge({
          name: 'messaging_consumer_policy_generation',
          help: 'Generation of the EventSubscription whose consumer policy is in force; -1 while the code defaults apply.',
          labelNames: ['queue'] as const,
          registers,
        }),
    );
  }

  /** Starts the error series at 0, so a first error is an increase a `rate()` can see. */
  watch(queue: string): void {
    safely(() => this.errors.inc({ queue }, 0));
  }

  policyError(queue: string): void {
    safely(() => this.errors.inc({ queue }));
  }

  settingsApplied(settings: ConsumerSettings): void {
    safely(() => this.paused.set({ queue: settings.queue }, settings.paused ? 1 : 0));
    safely(() => this.generation.set({ queue: settings.queue }, settings.policy?.generation ?? -1));
  }
}
