import { describe, expect, it } from '@jest/globals';
import type { Condition } from '../api/v1alpha1/index.js';
import { type ConditionUpdate, mergeConditions, readyCondition } from './subscription-conditions.js';

const topologyOk: ConditionUpdate = {
  type: 'TopologyReconciled',
  status: 'True',
  reason: 'TopologyApplied',
  message: 'queue q applied',
};
const consumersOk: ConditionUpdate = {
  type: 'ConsumerHealthy',
  status: 'True',
  reason: 'ConsumersAttached',
  message: '1 consumer(s)',
};
const t0 = new Date('2026-11-27T09:00:00.000Z');
const t1 = new Date('2026-11-27T09:05:00.000Z');

describe('readyCondition', () => {
  it('is True only when topology and consumers are', () => {
    expect(readyCondition(topologyOk, consumersOk)).toMatchObject({ type: 'Ready', status: 'True', reason: 'Ready' });
  });

  it('carries the reason of the first condition that is not True, topology first', () => {
    const refused: ConditionUpdate = {
      ...topologyOk,
      status: 'False',
      reason: 'UnsafeQueueTypeChange',
      message: 'refused',
    };
    const noConsumers: ConditionUpdate = { ...consumersOk, status: 'False', reason: 'NoConsumers', message: 'none' };
    expect(readyCondition(refused, noConsumers)).toEqual({
      type: 'Ready',
      status: 'False',
      reason: 'UnsafeQueueTypeChange',
      message: 'refused',
    });
    expect(readyCondition(topologyOk, noConsumers)).toEqual({
      type: 'Ready',
      status: 'False',
      reason: 'NoConsumers',
      message: 'none',
    });
    expect(readyCondition(topologyOk, { ...consumersOk, status: 'Unknown', reason: 'NotObserved' })).toMatchObject({
      status: 'Unknown',
      reason: 'NotObserved',
    });
  });
});

describe('mergeConditions', () => {
  it('stamps new conditions with the time and generation, Ready first', () => {
    const merged = mergeConditions(
      undefined,
      [consumersOk, topologyOk, readyCondition(topologyOk, consumersOk)],
      t0,
      4,
    );
    expect(merged.map((c) => c.type)).toEqual(['Ready', 'TopologyReconciled', 'ConsumerHealthy']);
    expect(merged.every((c) => c.lastTransitionTime === t0.toISOString() && c.observedGeneration === 4)).toBe(true);
  });

  it('keeps lastTransitionTime while the status stays, even when reason and message change', () => {
    const before = mergeConditions(undefined, [consumersOk], t0, 1);
    const after = mergeConditions(before, [{ ...consumersOk, reason: 'Paused', message: 'paused' }], t1, 2);
    expect(after).toEqual([
      {
        ...consumersOk,
        reason: 'Paused',
        message: 'paused',
        lastTransitionTime: t0.toISOString(),
        observedGeneration: 2,
      },
    ]);
  });

  it('moves lastTransitionTime when the status flips', () => {
    const before = mergeConditions(undefined, [consumersOk], t0, 1);
    const after = mergeConditions(before, [{ ...consumersOk, status: 'False', reason: 'NoConsumers' }], t1, 1);
    expect(after[0]!.lastTransitionTime).toBe(t1.toISOString());
  });

  it('keeps conditions it was not given', () => {
    const foreign = {
      type: 'TopologyReconciled',
      status: 'True',
      reason: 'X',
      message: '',
      lastTransitionTime: t0.toISOString(),
    } satisfies Condition;
    expect(mergeConditions([foreign], [consumersOk], t1, 1)).toContainEqual(foreign);
  });
});
