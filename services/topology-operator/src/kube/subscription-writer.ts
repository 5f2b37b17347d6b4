import type { CustomObjectsApi } from '@kubernetes/client-node';
import {
  API_GROUP,
  API_VERSION,
  FINALIZER,
  OPERATOR_NAME,
  PLURAL,
  type EventSubscription,
  type EventSubscriptionStatus,
} from '../api/v1alpha1/index.js';
import { MERGE_PATCH_OPTIONS } from './kube-clients.js';

/**
 * The operator's writes to EventSubscriptions, all JSON merge patches (verb `patch` on `eventsubscriptions` and
 * `eventsubscriptions/status`). Finalizer changes carry the resourceVersion they were computed from, because a merge
 * patch replaces the whole `finalizers` list: a concurrent change by someone else then fails with 409 and is
 * retried from the fresh object instead of being overwritten.
 */
export class SubscriptionWriter {
  constructor(private readonly customObjects: CustomObjectsApi) {}

  /** Adds FINALIZER when missing; returns the object as stored afterwards. */
  async ensureFinalizer(subscription: EventSubscription): Promise<EventSubscription> {
    const finalizers = subscription.metadata.finalizers ?? [];
    if (finalizers.includes(FINALIZER)) return subscription;
    return this.patchFinalizers(subscription, [...finalizers, FINALIZER]);
  }

  /** Removes FINALIZER when present; the API server deletes an object being deleted once no finalizer is left. Returns the object as stored afterwards. */
  async removeFinalizer(subscription: EventSubscription): Promise<EventSubscription> {
    const finalizers = subscription.metadata.finalizers ?? [];
    if (!finalizers.includes(FINALIZER)) return subscription;
    return this.patchFinalizers(
      subscription,
      finalizers.filter((finalizer) => finalizer !== FINALIZER),
    );
  }

  /** Writes the status through the status subresource (the main resource ignores `.status`). */
  async patchStatus(subscription: EventSubscription, status: EventSubscriptionStatus): Promise<EventSubscription> {
    return (await this.customObjects.patchNamespacedCustomObjectStatus(
      { ...this.target(subscription), fieldManager: OPERATOR_NAME, body: { status } },
      MERGE_PATCH_OPTIONS,
    )) as EventSubscription;
  }

  private async patchFinalizers(subscription: EventSubscription, finalizers: string[]): Promise<EventSubscription> {
    return (await this.customObjects.patchNamespacedCustomObject(
      {
        ...this.target(subscription),
        fieldManager: OPERATOR_NAME,
        body: { metadata: { finalizers, resourceVersion: subscription.metadata.resourceVersion } },
      },
      MERGE_PATCH_OPTIONS,
    )) as EventSubscription;
  }

  private target(subscription: EventSubscription): {
    group: string;
    version: string;
    plural: string;
    namespace: string;
    name: string;
  } {
    return {
      group: API_GROUP,
      version: API_VERSION,
      plural: PLURAL,
      namespace: subscription.metadata.namespace ?? 'default',
      name: subscription.metadata.name,
    };
  }
}
