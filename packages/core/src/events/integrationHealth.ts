/**
 * The brief's weekly "Integration health monitoring" report, one job every domain runs in its own store
 * (the outbox, the sync bookkeeping and the consumers' tables are per store): per tenant, over the 7
 * days up to the run's queue time, throughput (outbox events, events/s), lag (relay publish lag p50/p95,
 * outbox backlog, the domain's consumers' lag), failures (rejected events, dead letters of the pipeline
 * and of consumers) and quality (the hub_sync_quality means). One row per tenant and period in
 * `hub_integration_health` (bookkeeping, not domain data: written directly, idempotently by its key).
 */
import type { StoreSql } from '@hub/store';
import type { Domain } from '../domains.js';
import { syncStatus, type ConsumerRef } from './status.js';
import { defineJob, type EventBus, type JobDefinition } from './types.js';

export const INTEGRATION_HEALTH_JOB = 'integration-health';
const WEEK_MS = 7 * 24 * 3600 * 1000;

async function tenantsOf(sql: StoreSql): Promise<string[]> {
  const rows = await sql.query<{ tenant_id: string }>(
    `SELECT "tenant_id" FROM "hub_sync_outbox" UNION SELECT "tenant_id" FROM "hub_sync_quality"
     UNION SELECT "tenant_id" FROM "hub_sync_dead_letter" ORDER BY 1`,
  );
  return rows.map((r) => r.tenant_id);
}

export function integrationHealthJob(
  domain: Domain,
  options: { consumers?: () => readonly ConsumerRef[]; bus?: () => Pick<EventBus, 'lag'> | undefined } = {},
): JobDefinition {
  return defineJob({
    name: INTEGRATION_HEALTH_JOB,
    domain,
    schedule: '0 3 * * 1',
    description: `Weekly integration-health report of ${domain}: throughput, lag, failures and quality per tenant`,
    tenants: tenantsOf,
    async run(ctx) {
      const tenants = ctx.tenantId !== null ? [ctx.tenantId] : await tenantsOf(ctx.store);
      const end = ctx.queuedAt;
      const start = new Date(end.getTime() - WEEK_MS);
      let processed = 0;
      for (const tenantId of tenants) {
        const [outbox] = await ctx.store.query<Record<string, number | null>>(
          // A row's publication time is that of the first relay pass that reached it (relay.ts).
          `SELECT count(*)::int AS events,
             percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM p."published_at" - o."committed_at") * 1000)
               FILTER (WHERE p."published_at" IS NOT NULL) AS p50,
             percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM p."published_at" - o."committed_at") * 1000)
               FILTER (WHERE p."published_at" IS NOT NULL) AS p95
           FROM "hub_sync_outbox" o
           LEFT JOIN LATERAL (SELECT "published_at" FROM "hub_sync_relay_position" WHERE "seq" >= o."seq"
                               ORDER BY "seq" LIMIT 1) p ON true
           WHERE o."tenant_id" = $1 AND o."committed_at" >= $2 AND o."committed_at" < $3`,
          [tenantId, start, end],
        );
        const [quality] = await ctx.store.query<Record<string, number | null>>(
          `SELECT count(*)::int AS records, count(*) FILTER (WHERE "rejected")::int AS rejected,
             avg("score") FILTER (WHERE NOT "rejected") AS score,
             avg(CASE WHEN "rejected" THEN 0 ELSE "validity" END) AS accuracy,
             avg("completeness") FILTER (WHERE NOT "rejected") AS completeness,
             avg("consistency") FILTER (WHERE NOT "rejected") AS consistency
           FROM "hub_sync_quality" WHERE "tenant_id" = $1 AND "received_at" >= $2 AND "received_at" < $3`,
          [tenantId, start, end],
        );
        const [letters] = await ctx.store.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM "hub_sync_dead_letter" WHERE "tenant_id" = $1 AND "received_at" >= $2 AND "received_at" < $3`,
          [tenantId, start, end],
        );
        const [consumerLetters] = await ctx.store.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM "hub_event_dead_letter" WHERE "tenant_id" = $1 AND "last_failed_at" >= $2 AND "last_failed_at" < $3`,
          [tenantId, start, end],
        );
        const status = await syncStatus({
          sql: ctx.store,
          domain,
          tenantId,
          consumers: options.consumers?.() ?? [],
          bus: options.bus?.(),
        });
        const events = Number(outbox?.['events'] ?? 0);
        await ctx.store.query(
          `INSERT INTO "hub_integration_health" ("tenant_id", "period_start", "period_end", "domain", "run_id", "events",
             "events_per_second", "publish_lag_p50_ms", "publish_lag_p95_ms", "outbox_backlog", "consumer_lag", "records",
             "rejected", "sync_dead_letters", "consumer_dead_letters", "quality_score", "accuracy", "completeness", "consistency")
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb, $12, $13, $14, $15, $16, $17, $18, $19)
           ON CONFLICT ("tenant_id", "period_start") DO UPDATE SET "period_end" = EXCLUDED."period_end",
             "run_id" = EXCLUDED."run_id", "events" = EXCLUDED."events", "events_per_second" = EXCLUDED."events_per_second",
             "publish_lag_p50_ms" = EXCLUDED."publish_lag_p50_ms", "publish_lag_p95_ms" = EXCLUDED."publish_lag_p95_ms",
             "outbox_backlog" = EXCLUDED."outbox_backlog", "consumer_lag" = EXCLUDED."consumer_lag",
             "records" = EXCLUDED."records", "rejected" = EXCLUDED."rejected",
             "sync_dead_letters" = EXCLUDED."sync_dead_letters", "consumer_dead_letters" = EXCLUDED."consumer_dead_letters",
             "quality_score" = EXCLUDED."quality_score", "accuracy" = EXCLUDED."accuracy",
             "completeness" = EXCLUDED."completeness", "consistency" = EXCLUDED."consistency", "created_at" = now()`,
          [
            tenantId,
            start,
            end,
            domain,
            ctx.runId,
            events,
            events / (WEEK_MS / 1000),
            outbox?.['p50'] ?? null,
            outbox?.['p95'] ?? null,
            status.outboxBacklog,
            JSON.stringify(status.consumers),
            quality?.['records'] ?? 0,
            quality?.['rejected'] ?? 0,
            letters?.n ?? 0,
            consumerLetters?.n ?? 0,
            quality?.['score'] ?? null,
            quality?.['accuracy'] ?? null,
            quality?.['completeness'] ?? null,
            quality?.['consistency'] ?? null,
          ],
        );
        processed += 1;
        await ctx.checkpoint({ tenantsDone: processed }, { processed, failed: 0, total: tenants.length });
      }
      return { processed, failed: 0, details: { periodStart: start.toISOString(), periodEnd: end.toISOString() } };
    },
  });
}
