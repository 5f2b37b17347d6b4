import type { CoreV1Api, V1ConfigMap } from '@kubernetes/client-node';
import { consumerPolicyFileName, type ConsumerPolicy, serializeConsumerPolicy } from '@switchyard/messaging/topology';
import { consumerPolicyConfigMapName, OPERATOR_NAME } from '../api/v1alpha1/index.js';
import { isAlreadyExists, isNotFound } from './kube-errors.js';
import { MERGE_PATCH_OPTIONS } from './kube-clients.js';

/** Labels on every ConfigMap the operator creates, so `kubectl get cm -l app.kubernetes.io/managed-by=...` finds them. */
export const MANAGED_BY_LABELS = { 'app.kubernetes.io/managed-by': OPERATOR_NAME } as const;
/** Label naming the service whose consumer policies a ConfigMap holds. */
export const SERVICE_LABEL = 'switchyard.io/service';

/** Where one queue's policy lives: ConfigMap `<service>-consumer-policy`, key `<queue>.json`, in the subscription's namespace. */
export interface PolicyLocation {
  namespace: string;
  service: string;
  queue: string;
}

/**
 * Writes the live consumer policy of one queue into its service's ConfigMap, touching only that key (other
 * subscriptions of the same service own the other keys). Verbs: get, create, patch (JSON merge patch).
 *
 * No owner references: the ConfigMap is shared by every subscription of a service and mounted by the service's
 * pods, so garbage-collecting it with the last subscription would leave those pods unable to start (a missing
 * ConfigMap volume blocks the pod). Deleting a subscription removes its key instead.
 */
export class ConsumerPolicyConfigMap {
  constructor(private readonly core: CoreV1Api) {}

  /** Creates the ConfigMap or merge-patches the one key; does nothing when the key already holds exactly this text. Returns whether it wrote. */
  async write(location: PolicyLocation, policy: ConsumerPolicy): Promise<boolean> {
    const name = consumerPolicyConfigMapName(location.service);
    const key = consumerPolicyFileName(location.queue);
    const text = serializeConsumerPolicy(policy);
    let existing: V1ConfigMap | undefined;
    try {
      existing = await this.core.readNamespacedConfigMap({ name, namespace: location.namespace });
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    if (existing?.data?.[key] === text) return false;
    if (!existing) {
      try {
        await this.core.createNamespacedConfigMap({
          namespace: location.namespace,
          fieldManager: OPERATOR_NAME,
          body: {
            apiVersion: 'v1',
            kind: 'ConfigMap',
            metadata: {
              name,
              namespace: location.namespace,
              labels: { ...MANAGED_BY_LABELS, [SERVICE_LABEL]: location.service },
            },
            data: { [key]: text },
          },
        });
        return true;
      } catch (error) {
        // Another subscription of the same service created it a moment ago: patch our key into theirs.
        if (!isAlreadyExists(error)) throw error;
      }
    }
    await this.core.patchNamespacedConfigMap(
      { name, namespace: location.namespace, fieldManager: OPERATOR_NAME, body: { data: { [key]: text } } },
      MERGE_PATCH_OPTIONS,
    );
    return true;
  }

  /** Removes the queue's key (merge patch with null); a ConfigMap that is already gone is fine. */
  async remove(location: PolicyLocation): Promise<void> {
    const name = consumerPolicyConfigMapName(location.service);
    try {
      await this.core.patchNamespacedConfigMap(
        {
          name,
          namespace: location.namespace,
          fieldManager: OPERATOR_NAME,
          body: { data: { [consumerPolicyFileName(location.queue)]: null } },
        },
        MERGE_PATCH_OPTIONS,
      );
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }
}
