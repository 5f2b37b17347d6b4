import { describe, expect, it } from '@jest/globals';
import type { EventSubscriptionStatus } from '../api/v1alpha1/index.js';
import { LAST_OBSERVED_TIME_REFRESH_MS, statusNeedsWrite } from './status-change.js';

const observedAt = new Date('2026-11-27T09:00:00Z');
const current: EventSubscriptionStatus = {
  observedGeneration: 2,
  conditions: [
    {
      type: 'Ready',
      status: 'True',
      reason: 'ConsumersAttached',
      message: '1 consumer(s)',
      lastTransitionTime: '2026-11-27T08:00:00Z',
      observedGeneration: 2,
    },
  ],
  queueDepth: 3,
  deadLetterDepth: 0,
  consumers: 1,
  lastObservedTime: observedAt.toISOString(),
};
const after = (ms: number) => new Date(observedAt.getTime() + ms);
const refreshed = (ms: number, change: Partial<EventSubscriptionStatus> = {}): EventSubscriptionStatus => ({
  ...structuredClone(current),
  ...change,
  lastObservedTime: after(ms).toISOString(),
});

describe('statusNeedsWrite', () => {
  it('skips a refresh in which only lastObservedTime changed', () => {
    expect(statusNeedsWrite(current, refreshed(30_000), after(30_000))).toBe(false);
  });

  it('writes a change of depth, consumers or a condition at once', () => {
    expect(statusNeedsWrite(current, refreshed(30_000, { queueDepth: 4 }), after(30_000))).toBe(true);
    expect(statusNeedsWrite(current, refreshed(30_000, { consumers: 0 }), after(30_000))).toBe(true);
    const conditions = [{ ...current.conditions![0]!, status: 'False' as const, reason: 'NoConsumers' }];
    expect(statusNeedsWrite(current, refreshed(30_000, { conditions }), after(30_000))).toBe(true);
  });

  it('rewrites lastObservedTime alone once it is LAST_OBSERVED_TIME_REFRESH_MS old', () => {
    expect(
      statusNeedsWrite(
        current,
        refreshed(LAST_OBSERVED_TIME_REFRESH_MS - 1000),
        after(LAST_OBSERVED_TIME_REFRESH_MS - 1000),
      ),
    ).toBe(false);
    expect(
      statusNeedsWrite(current, refreshed(LAST_OBSERVED_TIME_REFRESH_MS), after(LAST_OBSERVED_TIME_REFRESH_MS)),
    ).toBe(true);
  });

  it('writes a first status, and one that was never observed before', () => {
    expect(statusNeedsWrite(undefined, refreshed(0), observedAt)).toBe(true);
    const { lastObservedTime: _never, ...unobserved } = current;
    expect(statusNeedsWrite(unobserved, refreshed(0), observedAt)).toBe(true);
  });

  it('ignores fields the patch leaves as they are and undefined values', () => {
    const { deadLetterDepth: _kept, ...partial } = refreshed(30_000);
    expect(statusNeedsWrite(current, { ...partial, queueDepth: 3, appliedTopology: undefined }, after(30_000))).toBe(
      false,
    );
  });
});
