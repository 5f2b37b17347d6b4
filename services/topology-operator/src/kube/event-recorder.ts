import { randomBytes } from 'node:crypto';
import type { CoreV1Api, CoreV1Event } from '@kubernetes/client-node';
import { OPERATOR_NAME } from '../api/v1alpha1/index.js';
import type { OperatorLogger } from '../operator-logger.js';
import { describeKubeError } from './kube-errors.js';

/** An object Events are about: enough of it for `involvedObject`. */
export interface InvolvedObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; uid?: string; resourceVersion?: string };
}

export interface RecordedEvent {
  type: 'Normal' | 'Warning';
  /** CamelCase, e.g. `TopologyApplied`, `ReconcileFailed`. */
  reason: string;
  message: string;
}

/** The same Event about the same object is not written again within 10 minutes: periodic status refreshes would flood `kubectl describe`. */
export const DEFAULT_EVENT_REPEAT_INTERVAL_MS = 10 * 60_000;
/** The API server rejects Event messages over 1 KiB in events.k8s.io; keep core Events as short. */
const MAX_MESSAGE_LENGTH = 1024;

export interface EventRecorderOptions {
  core: CoreV1Api;
  logger: OperatorLogger;
  /** `reportingInstance` of every Event: the pod name. */
  instance: string;
  repeatIntervalMs?: number;
  now?: () => number;
}

/**
 * Writes core/v1 Events (`create` only: the RBAC grants no patch, so client-go-style aggregation by updating
 * `count` is replaced by not repeating an identical Event within `repeatIntervalMs`). Recording never fails the
 * caller: an Event that cannot be written is logged and dropped.
 */
export class EventRecorder {
  private readonly lastRecorded = new Map<string, number>();
  private readonly repeatIntervalMs: number;
  private readonly now: () => number;

  constructor(private readonly options: EventRecorderOptions) {
    this.repeatIntervalMs = options.repeatIntervalMs ?? DEFAULT_EVENT_REPEAT_INTERVAL_MS;
    this.now = options.now ?? Date.now;
  }

  async record(object: InvolvedObject, event: RecordedEvent): Promise<void> {
    const namespace = object.metadata.namespace ?? 'default';
    const fingerprint = `${object.metadata.uid ?? `${namespace}/${object.metadata.name}`}|${event.type}|${event.reason}|${event.message}`;
    const now = this.now();
    const last = this.lastRecorded.get(fingerprint);
    if (last !== undefined && now - last < this.repeatIntervalMs) return;
    this.lastRecorded.set(fingerprint, now);
    this.prune(now);
    const timestamp = new Date(now);
    const body: CoreV1Event = {
      apiVersion: 'v1',
      kind: 'Event',
      // client-go names Events `<object>.<unique hex>`; the object name makes `kubectl get events` readable.
      metadata: { name: `${object.metadata.name}.${now.toString(16)}${randomBytes(4).toString('hex')}`, namespace },
      involvedObject: {
        apiVersion: object.apiVersion,
        kind: object.kind,
        name: object.metadata.name,
        namespace,
        uid: object.metadata.uid,
        resourceVersion: object.metadata.resourceVersion,
      },
      type: event.type,
      reason: event.reason,
      message:
        event.message.length > MAX_MESSAGE_LENGTH
          ? `${event.message.slice(0, MAX_MESSAGE_LENGTH - 1)}…`
          : event.message,
      source: { component: OPERATOR_NAME },
      reportingComponent: OPERATOR_NAME,
      reportingInstance: this.options.instance,
      firstTimestamp: timestamp,
      lastTimestamp: timestamp,
      count: 1,
    };
    try {
      await this.options.core.createNamespacedEvent({ namespace, body });
    } catch (error) {
      // Let the next identical Event try again instead of being suppressed by one that never got written.
      this.lastRecorded.delete(fingerprint);
      this.options.logger.warn(
        { namespace, name: object.metadata.name, reason: event.reason, error: describeKubeError(error) },
        'could not record event',
      );
    }
  }

  /** Forgets fingerprints older than the repeat interval, so the map does not grow with every object ever seen. */
  private prune(now: number): void {
    if (this.lastRecorded.size < 1000) return;
    for (const [fingerprint, at] of this.lastRecorded)
      if (now - at >= this.repeatIntervalMs) this.lastRecorded.delete(fingerprint);
  }
}
