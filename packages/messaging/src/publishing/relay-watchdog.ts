import type { DependencyCheck } from '@switchyard/service-kit';

/** Default of `MESSAGING_RELAY_STUCK_AFTER_MS`: 2 min, well above the 30 s statement timeout and the confirm timeout. */
export const DEFAULT_RELAY_STUCK_AFTER_MS = 120_000;

/** What the watchdog watches: the relay's `secondsSinceProgress` (0 while it is not running). */
export interface RelayProgress {
  secondsSinceProgress(): number;
}

/**
 * The liveness check `outbox-relay`: fails once the relay has made no progress for longer than `stuckAfterMs`.
 * A relay hung mid-batch holds its claimed rows' locks and publishes nothing while the pod looks healthy; a restart
 * releases both. Idle or waiting for the broker is progress (see `OutboxRelay.secondsSinceProgress`), so an empty
 * outbox or a broker outage never restarts the pod.
 */
export function relayLivenessCheck(relay: RelayProgress, stuckAfterMs: number): DependencyCheck {
  return async () => {
    const seconds = relay.secondsSinceProgress();
    if (seconds * 1000 > stuckAfterMs) {
      throw new Error(
        `outbox relay has made no progress for ${Math.round(seconds)} s (limit ${stuckAfterMs / 1000} s)`,
      );
    }
    return { secondsSinceProgress: Math.round(seconds) };
  };
}
