import { Gauge, type Registry } from 'prom-client';
import { registerOnce } from '@switchyard/telemetry';
import type { RelayProgress } from '../publishing/relay-watchdog.js';

/**
 * `messaging_outbox_relay_seconds_since_progress`: read from the relay at each scrape. It stays near the poll
 * interval while the relay works or idles, and grows without bound while a batch hangs (the
 * `SwitchyardOutboxRelayStuck` alert; liveness restarts the pod at `MESSAGING_RELAY_STUCK_AFTER_MS`).
 */
export function registerRelayProgressMetrics(registry: Registry, relay: RelayProgress): void {
  registerOnce(
    registry,
    'messaging_outbox_relay_seconds_since_progress',
    (registers) =>
      new Gauge({
        name: 'messaging_outbox_relay_seconds_since_progress',
        help: 'Seconds since the outbox relay last finished a batch or a loop iteration; 0 while it is not running.',
        registers,
        collect() {
          this.set(relay.secondsSinceProgress());
        },
      }),
  );
}
