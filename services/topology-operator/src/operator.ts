import type { KubeConfig } from '@kubernetes/client-node';
import type { ChannelFactory } from '@switchyard/messaging/topology';
import type { OperatorConfig } from './config/operator-config.js';
import { SubscriptionController } from './controller/subscription-controller.js';
import type { Readiness } from './http/operator-http-server.js';
import { ConsumerPolicyConfigMap } from './kube/consumer-policy-config-map.js';
import { EventRecorder } from './kube/event-recorder.js';
import { createKubeClients } from './kube/kube-clients.js';
import { SubscriptionInformer } from './kube/subscription-informer.js';
import { SubscriptionWriter } from './kube/subscription-writer.js';
import { LeaderElector } from './leader-election/leader-elector.js';
import type { OperatorLogger } from './operator-logger.js';
import { OperatorMetrics } from './operator-metrics.js';
import type { RequeueBackoffOptions } from './workqueue/requeue-backoff.js';

export interface TopologyOperatorOptions {
  kubeConfig: KubeConfig;
  broker: ChannelFactory;
  config: Pick<
    OperatorConfig,
    'watchNamespace' | 'podName' | 'podNamespace' | 'leaseName' | 'resyncSeconds' | 'statusRefreshSeconds'
  >;
  logger: OperatorLogger;
  metrics?: OperatorMetrics;
  /** Lease timing; defaults 15 s / 10 s / 2 s (tests shorten them). */
  leaderElection?: { leaseDurationMs?: number; renewDeadlineMs?: number; retryPeriodMs?: number };
  requeue?: RequeueBackoffOptions;
  workers?: number;
  /** Identical Events are not repeated within this interval (default 10 min). */
  eventRepeatIntervalMs?: number;
}

/**
 * The whole operator minus the process: an informer on EventSubscriptions that always runs (standbys keep a warm
 * cache), a leader elector on the Lease, and the reconcile loop that runs only while this replica leads.
 */
export class TopologyOperator {
  readonly metrics: OperatorMetrics;
  private readonly informer: SubscriptionInformer;
  private readonly controller: SubscriptionController;
  private readonly elector: LeaderElector;
  private started = false;

  constructor(options: TopologyOperatorOptions) {
    const { config, logger } = options;
    const clients = createKubeClients(options.kubeConfig);
    this.metrics = options.metrics ?? new OperatorMetrics();
    this.informer = new SubscriptionInformer({
      kubeConfig: options.kubeConfig,
      customObjects: clients.customObjects,
      namespace: config.watchNamespace,
      resyncMs: config.resyncSeconds * 1000,
      logger,
    });
    this.controller = new SubscriptionController({
      cache: this.informer,
      writer: new SubscriptionWriter(clients.customObjects),
      configMaps: new ConsumerPolicyConfigMap(clients.core),
      recorder: new EventRecorder({
        core: clients.core,
        logger,
        instance: config.podName,
        repeatIntervalMs: options.eventRepeatIntervalMs,
      }),
      broker: options.broker,
      metrics: this.metrics,
      logger,
      statusRefreshMs: config.statusRefreshSeconds * 1000,
      workers: options.workers,
      requeue: options.requeue,
    });
    this.informer.onKey((key) => this.controller.enqueue(key));
    this.elector = new LeaderElector({
      coordination: clients.coordination,
      namespace: config.podNamespace,
      name: config.leaseName,
      identity: config.podName,
      logger,
      ...options.leaderElection,
      // Winning the Lease while shutting down must not start reconciling again; release() hands it back.
      onStartedLeading: () => {
        if (this.started) void this.controller.startLeading();
      },
      onStoppedLeading: () => void this.controller.stopLeading(),
    });
  }

  /** Starts watching and competing for the Lease; resolves once the first list is under way. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.elector.start();
    await this.informer.start();
  }

  /** Graceful stop: reconciling stops first, then the Lease is handed back so a standby takes over at once, then the watch ends. */
  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    await this.controller.stopLeading();
    await this.elector.release();
    await this.informer.stop();
  }

  get isLeader(): boolean {
    return this.controller.isLeading;
  }

  get hasSynced(): boolean {
    return this.informer.hasSynced;
  }

  /**
   * Ready once the informer has listed: leader and standbys alike (a standby that can take over at once is
   * healthy, and an unready standby would only make rollouts wait). The broker is not part of it: while RabbitMQ
   * is down the leader keeps reporting that on each subscription, which an unready pod would hide.
   */
  readiness(): Readiness {
    return {
      ready: this.informer.hasSynced,
      detail: {
        informerSynced: this.informer.hasSynced,
        leader: this.controller.isLeading,
        watchFailures: this.informer.failuresSinceLastList,
      },
    };
  }
}
