import { describe, expect, it } from '@jest/globals';
import { createMetricsRegistry } from '@switchyard/telemetry';
import { PrometheusMessagingObserver } from './prometheus-observer.js';

const registry = () => createMetricsRegistry({ service: 'svc', defaultMetrics: false });

describe('PrometheusMessagingObserver', () => {
  it('turns observer hooks into the messaging series', async () => {
    const r = registry();
    const observer = new PrometheusMessagingObserver(r);
    observer.consumed({ queue: 'q', eventType: 'user.created', outcome: 'ack', lagMs: 250 });
    observer.consumed({ queue: 'q', eventType: 'user.created', outcome: 'duplicate', lagMs: -5 });
    observer.consumed({ queue: 'q', eventType: 'user.created', outcome: 'retry', lagMs: undefined });
    observer.retry({ queue: 'q', eventType: 'user.created', attempt: 1, delayMs: 1_000 });
    observer.deadLettered({ queue: 'q', eventType: 'bogus', reason: 'unknown_event_type' });
    observer.published({ eventType: 'user.created', outcome: 'confirmed', confirmMs: 3 });
    observer.published({ eventType: 'user.created', outcome: 'timeout', confirmMs: 10_000 });
    observer.deadLettered({ queue: 'q', eventType: 'something.else', reason: 'unknown_event_type', redelivered: true });
    const text = await r.metrics();
    expect(text).toContain(
      'messaging_messages_consumed_total{queue="q",event_type="user.created",outcome="ack",service="svc"} 1',
    );
    expect(text).toContain(
      'messaging_messages_consumed_total{queue="q",event_type="user.created",outcome="duplicate",service="svc"} 1',
    );
    expect(text).toContain(
      'messaging_messages_consumed_total{queue="q",event_type="user.created",outcome="retry",service="svc"} 1',
    );
    // Lag known twice (a negative one counts as 0), unknown once.
    expect(text).toContain('messaging_consumer_lag_seconds_count{service="svc",queue="q",event_type="user.created"} 2');
    expect(text).toContain(
      'messaging_consumer_lag_seconds_sum{service="svc",queue="q",event_type="user.created"} 0.25',
    );
    expect(text).toContain('messaging_retries_total{queue="q",event_type="user.created",service="svc"} 1');
    expect(text).toContain(
      'messaging_dead_lettered_total{queue="q",event_type="unknown",reason="unknown_event_type",service="svc"} 2',
    );
    // Of those, the one of a redelivered delivery (a possible second copy) is counted apart as well.
    expect(text).toContain(
      'messaging_dead_lettered_redelivered_total{queue="q",event_type="unknown",reason="unknown_event_type",service="svc"} 1',
    );
    expect(text).toContain('messaging_published_total{event_type="user.created",outcome="confirmed",service="svc"} 1');
    expect(text).toContain('messaging_published_total{event_type="user.created",outcome="timeout",service="svc"} 1');
    expect(text).toContain('messaging_publish_confirm_seconds_count{service="svc",event_type="user.created"} 2');
  });

  it('shares its series with another observer on the same registry, and never throws', () => {
    const r = registry();
    new PrometheusMessagingObserver(r);
    const observer = new PrometheusMessagingObserver(r);
    r.clear();
    expect(() => observer.consumed({ queue: 'q', eventType: 't', outcome: 'ack', lagMs: 1 })).not.toThrow();
  });
});
