/**
 * Prometheus series of the change events, on the process's registry (packages/core/src/metrics.ts):
 * outbox backlog (rows not yet published, read at scrape time), relay publishes, consumer outcomes
 * and the lag from the producing commit to the consumer's commit.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import cronParser from 'cron-parser';
import type { StoreSql } from '@hub/store';
import { QUALITY_TARGETS } from '../sync/admin.js';
import { latestScores } from '../reconcile.js';
import type { ConsumerMetrics } from './consumer.js';
import { UNPUBLISHED, type RelayMetrics } from './relay.js';

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
          `SELECT count(*)::text AS n FROM "hub_sync_outbox" WHERE ${UNPUBLISHED}`,
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

/**
 * What the alerting rules (ops/prometheus/hub-alerts.yml) watch beside the event series, read from
 * the store at scrape time: dead letters waiting for an admin, the data-quality dimensions of the
 * last hour beside the brief's targets, and when each job last succeeded next to how often it is
 * meant to run (from its cron schedule), so "a job is overdue" is one comparison.
 */
export function createSyncHealthMetrics(
  registry: Registry,
  domain: string,
  store: StoreSql,
  jobs: readonly { readonly name: string; readonly schedule: string | null }[],
): void {
  const quiet = async (fn: () => Promise<void>) => {
    try {
      await fn();
    } catch {
      // A scrape during shutdown or a store outage reports the last values rather than failing.
    }
  };
  new Gauge({
    name: 'hub_dead_letters',
    help: 'Dead letters waiting for an admin (not replayed): refused sync events and given-up consumer events',
    labelNames: ['domain', 'kind'] as const,
    registers: [registry],
    async collect() {
      await quiet(async () => {
        const [row] = await store.query<{ sync: string; event: string }>(
          `SELECT (SELECT count(*) FROM "hub_sync_dead_letter" WHERE "replayed_at" IS NULL)::text AS "sync",
                  (SELECT count(*) FROM "hub_event_dead_letter" WHERE "replayed_at" IS NULL)::text AS "event"`,
        );
        this.set({ domain, kind: 'sync' }, Number(row?.sync ?? 0));
        this.set({ domain, kind: 'event' }, Number(row?.event ?? 0));
      });
    },
  });
  new Gauge({
    name: 'hub_reconciliation_consistency',
    help: 'Consistency score of the latest reconcile run per tenant: 1 - differing/checked (target: hub_sync_quality_target{dimension="consistency"})',
    labelNames: ['domain', 'tenant'] as const,
    registers: [registry],
    async collect() {
      await quiet(async () => {
        for (const { tenantId, score } of await latestScores(store)) this.set({ domain, tenant: tenantId }, score);
      });
    },
  });
  new Gauge({
    name: 'hub_sync_quality_target',
    help: 'The brief’s data-quality targets per dimension',
    labelNames: ['dimension'] as const,
    registers: [registry],
    collect() {
      for (const [dimension, target] of Object.entries(QUALITY_TARGETS)) this.set({ dimension }, target);
    },
  });
  new Gauge({
    name: 'hub_sync_quality',
    help: 'Data quality of the records received in the last hour, per dimension (absent without records)',
    labelNames: ['domain', 'dimension'] as const,
    registers: [registry],
    async collect() {
      await quiet(async () => {
        // The same definitions as dataQuality (sync/admin.ts): accuracy counts rejections as 0.
        const [row] = await store.query<{
          records: string;
          accuracy: number | null;
          completeness: number | null;
          consistency: number | null;
        }>(
          `SELECT count(*)::text AS "records",
                  avg(CASE WHEN "rejected" THEN 0 ELSE "validity" END) AS "accuracy",
                  avg("completeness") FILTER (WHERE NOT "rejected") AS "completeness",
                  avg("consistency") FILTER (WHERE NOT "rejected") AS "consistency"
             FROM "hub_sync_quality" WHERE "received_at" > now() - interval '1 hour'`,
        );
        this.reset();
        if (Number(row?.records ?? 0) === 0) return;
        for (const dimension of ['accuracy', 'completeness', 'consistency'] as const) {
          const value = row?.[dimension];
          if (value !== null && value !== undefined) this.set({ domain, dimension }, Number(value));
        }
      });
    },
  });
  const scheduled = jobs.filter((job): job is { name: string; schedule: string } => job.schedule !== null);
  new Gauge({
    name: 'hub_job_interval_seconds',
    help: 'How often a scheduled job is meant to run (from its cron schedule)',
    labelNames: ['domain', 'job'] as const,
    registers: [registry],
    collect() {
      for (const job of scheduled) this.set({ domain, job: job.name }, cronIntervalSeconds(job.schedule));
    },
  });
  new Gauge({
    name: 'hub_job_last_success_timestamp_seconds',
    help: 'When a run of the job last succeeded (any tenant); absent before the first success',
    labelNames: ['domain', 'job'] as const,
    registers: [registry],
    async collect() {
      await quiet(async () => {
        const rows = await store.query<{ job: string; at: Date | string }>(
          `SELECT "job", max("ended_at") AS "at" FROM "hub_job_run" WHERE "status" = 'succeeded' GROUP BY "job"`,
        );
        for (const row of rows) this.set({ domain, job: row.job }, new Date(row.at).getTime() / 1000);
      });
    },
  });
}

/** Seconds between two consecutive runs of a cron schedule (UTC). */
export function cronIntervalSeconds(schedule: string): number {
  const next = cronParser.parseExpression(schedule, { utc: true, currentDate: new Date('2026-01-05T00:00:00Z') });
  const first = next.next().getTime();
  return (next.next().getTime() - first) / 1000;
}
