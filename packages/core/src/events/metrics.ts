/**
 * Prometheus series of the change events, on the process's registry (packages/core/src/metrics.ts):
 * outbox backlog (rows not yet published, read at scrape time), relay publishes, consumer outcomes
 * and the lag from the producing commit to the consumer's commit.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { StoreSql } from '@hub/store';
import type { ConsumerMetrics } from './consumer.js';
import type { RelayMetrics } from './relay.js';

export interface EventMetrics {
  readonly relay: RelayMetrics;
  readonly consumer: ConsumerMetrics;
}

export function createEventMetrics(registry: Registry, domain: string, store: StoreSql): EventMetrics {
  new Gauge({
    name: 'hub_outbox_backlog',
    help: 'Outbox events committed but not yet published by the relay',
    labelNames: ['domain'] as const,
    registers: [registry],
    async collect() {
      try {
        const [row] = await store.query<{ n: string }>(
          `SELECT count(*)::text AS n FROM "hub_sync_outbox" WHERE "published_at" IS NULL`,
        );
        this.set({ domain }, Number(row?.n ?? 0));
      } catch {
        // A scrape during shutdown or a store outage reports the last value rather than failing.
      }
    },
  });
  const published = new Counter({
    name: 'hub_relay_published_total',
    help: 'Outbox events the relay published to the bus',
    labelNames: ['domain'] as const,
    registers: [registry],
  });
  const processed = new Counter({
    name: 'hub_consumer_processed_total',
    help: 'Events a consumer finished: applied, or skipped as already applied (duplicate)',
    labelNames: ['consumer', 'outcome'] as const,
    registers: [registry],
  });
  const failed = new Counter({
    name: 'hub_consumer_failed_total',
    help: 'Failed event deliveries: retried, or dead-lettered',
    labelNames: ['consumer', 'outcome'] as const,
    registers: [registry],
  });
  const lag = new Histogram({
    name: 'hub_event_lag_seconds',
    help: 'From the producing commit to the consumer having applied the event',
    labelNames: ['consumer'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  return {
    relay: {
      published: (count) => published.inc({ domain }, count),
      backlog: () => undefined,
    },
    consumer: {
      processed: (consumer, outcome) => processed.inc({ consumer, outcome }),
      failed: (consumer, outcome) => failed.inc({ consumer, outcome }),
      lag: (consumer, seconds) => lag.observe({ consumer }, seconds),
    },
  };
}
