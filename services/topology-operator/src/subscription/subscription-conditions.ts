import type { Condition, ConditionStatus, ConditionType } from '../api/v1alpha1/index.js';

/** A condition before it is stamped with times and generation. */
export interface ConditionUpdate {
  type: ConditionType;
  status: ConditionStatus;
  reason: string;
  message: string;
}

/** Order conditions are written in: the summary first, as `kubectl describe` reads best. */
const CONDITION_ORDER: readonly ConditionType[] = ['Ready', 'TopologyReconciled', 'ConsumerHealthy'];

/**
 * Ready summarises the other two: True only when both are True; otherwise it carries the reason and message of the
 * first one that is not (topology before consumers, since consumers cannot be healthy on a refused topology).
 */
export function readyCondition(topology: ConditionUpdate, consumer: ConditionUpdate): ConditionUpdate {
  if (topology.status === 'True' && consumer.status === 'True') {
    return { type: 'Ready', status: 'True', reason: 'Ready', message: `${topology.message}; ${consumer.message}` };
  }
  const blocking = topology.status !== 'True' ? topology : consumer;
  return {
    type: 'Ready',
    status: blocking.status === 'Unknown' ? 'Unknown' : 'False',
    reason: blocking.reason,
    message: blocking.message,
  };
}

/**
 * Stamps updates into conditions. `lastTransitionTime` changes only when a condition's status flips (the
 * Kubernetes convention: it tells how long a state has lasted, not when the operator last looked), so it is kept
 * from `previous` otherwise. Conditions of other types in `previous` are kept as they are.
 */
export function mergeConditions(
  previous: readonly Condition[] | undefined,
  updates: readonly ConditionUpdate[],
  now: Date,
  observedGeneration: number | undefined,
): Condition[] {
  const merged = new Map<ConditionType, Condition>((previous ?? []).map((condition) => [condition.type, condition]));
  for (const update of updates) {
    const before = merged.get(update.type);
    merged.set(update.type, {
      ...update,
      lastTransitionTime:
        before !== undefined && before.status === update.status ? before.lastTransitionTime : now.toISOString(),
      ...(observedGeneration !== undefined && { observedGeneration }),
    });
  }
  const rank = (type: ConditionType) =>
    CONDITION_ORDER.includes(type) ? CONDITION_ORDER.indexOf(type) : CONDITION_ORDER.length;
  return [...merged.values()].sort((a, b) => rank(a.type) - rank(b.type));
}

/** The condition of one type, if present. */
export function findCondition(
  conditions: readonly Condition[] | undefined,
  type: ConditionType,
): Condition | undefined {
  return conditions?.find((condition) => condition.type === type);
}
