import { createMetricsRegistry, registerOnce, safely } from '@switchyard/telemetry';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { OPERATOR_NAME } from './api/v1alpha1/index.js';

/** How one reconcile of a key ended: the `result` label of `reconcile_total`. */
export type ReconcileResult = 'success' | 'error' | 'requeue';

/** Reconciles talk to the broker and the API server a few times: tens of ms normally, seconds when something is slow. */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * The operator's Prometheus metrics, names as the chart's alerts and the contract expect:
 * `reconcile_total{result}`, `reconcile_duration_seconds`, `topology_operator_leader`, `topology_operator_workqueue_depth`.
 */
export class OperatorMetrics {
  readonly registry: Registry;
  private readonly reconciles: Counter<'result'>;
  private readonly duration: Histogram;
  private readonly leader: Gauge;
  private depthSource: () => number = () => 0;

  constructor(registry: Registry = createMetricsRegistry({ service: OPERATOR_NAME })) {
    this.registry = registry;
    this.reconciles = registerOnce(
      registry,
      'reconcile_total',
      (registers) =>
        new Counter({
          name: 'reconcile_total',
          help: 'EventSubscription reconciles by result (success, error, requeue).',
          labelNames: ['result'],
          registers,
        }),
    );
    this.duration = registerOnce(
      registry,
      'reconcile_duration_seconds',
      (registers) =>
        new Histogram({
          name: 'reconcile_duration_seconds',
          help: 'Time one EventSubscription reconcile took, in seconds.',
          buckets: DURATION_BUCKETS,
          registers,
        }),
    );
    this.leader = registerOnce(
      registry,
      'topology_operator_leader',
      (registers) =>
        new Gauge({
          name: 'topology_operator_leader',
          help: '1 while this replica holds the leader Lease and reconciles, else 0.',
          registers,
        }),
    );
    const depth = (): number => this.depthSource();
    registerOnce(
      registry,
      'topology_operator_workqueue_depth',
      (registers) =>
        new Gauge({
          name: 'topology_operator_workqueue_depth',
          help: 'EventSubscription keys waiting in the work queue (0 on a standby replica).',
          registers,
          collect() {
            safely(() => this.set(depth()));
          },
        }),
    );
    // Every result is exported from the start, so rate() and alerts work before the first error.
    for (const result of ['success', 'error', 'requeue'] as const) this.reconciles.inc({ result }, 0);
    this.leader.set(0);
  }

  observeReconcile(result: ReconcileResult, seconds: number): void {
    safely(() => {
      this.reconciles.inc({ result });
      this.duration.observe(seconds);
    });
  }

  setLeader(leading: boolean): void {
    safely(() => this.leader.set(leading ? 1 : 0));
  }

  /** Where the depth gauge reads the current queue length at scrape time. */
  trackQueueDepth(source: () => number): void {
    this.depthSource = source;
  }
}
