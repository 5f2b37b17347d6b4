import type { EventSubscription } from '../api/v1alpha1/index.js';

/**
 * What the runtime knows beyond the one subscription being reconciled or finalized.
 */
export interface SubscriptionContext {
  /**
   * Every other EventSubscription the operator sees (the informer cache, all watched namespaces). Used to keep
   * queues that another subscription still uses, and to refuse a second claim on the same queue.
   */
  otherSubscriptions?: readonly EventSubscription[];
  /**
   * Fencing: false once this replica no longer leads. Checked before every destructive broker call (and before
   * declaring), so a replica that lost its Lease mid-reconcile stops instead of racing the new leader.
   */
  isActive?: () => boolean;
}

/** A reconcile or finalize stopped because this replica no longer leads; transient: the new leader takes over. */
export class LeadershipLostError extends Error {
  override readonly name = 'LeadershipLostError';

  constructor(action: string) {
    super(`stopped before it could ${action}: this replica no longer holds the leader lease`);
  }
}

/** Throws `LeadershipLostError` when the context says this replica is no longer active. */
export type BrokerFence = (action: string) => void;

export function fenceOf(context: SubscriptionContext | undefined): BrokerFence {
  const isActive = context?.isActive;
  return (action) => {
    if (isActive !== undefined && !isActive()) throw new LeadershipLostError(action);
  };
}
