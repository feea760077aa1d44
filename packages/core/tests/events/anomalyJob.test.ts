/**
 * The hourly anomaly-scan job (events/anomalyJob.ts) on a real product store (PostgreSQL and the
 * embedded PGlite): fifteen days of a source's accepted changes with a daily rhythm in the outbox
 * and of quality records; a burst from one source and a quality drop in the judged day are found,
 * stored once, counted and committed as events, the steady source is not; a second run adds nothing;
 * admins page them through `sync { product { anomalies } }` (here, the admin reader itself).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ANOMALY_JOB, anomalyJob } from '../../src/events/anomalyJob.js';
import { createEventsAdmin } from '../../src/events/admin.js';
import type { JobContext } from '../../src/events/types.js';
import { createTestDatabase, type TestDatabase } from '../../src/testing.js';
import { openPgliteStore, openPostgresStore, STORE_KINDS, type EventStore } from './harness.js';

const HOUR = 3_600_000;
const NOW = new Date(Date.UTC(2026, 11, 2, 12, 30));
const hourAgo = (h: number) => new Date(Math.floor(NOW.getTime() / HOUR) * HOUR - h * HOUR);
/** Changes per hour of day: an office-hours rhythm, the same every day (a steady source). */
const rate = (hour: Date) => 4 + (hour.getUTCHours() >= 8 && hour.getUTCHours() < 18 ? 20 : 0);

for (const kind of STORE_KINDS) {
  describe(`anomaly-scan on a product store (${kind})`, () => {
    let database: TestDatabase | undefined;
    let store: EventStore;
    const found: string[] = [];

    const context = (store: EventStore): JobContext => ({
      runId: '00000000-0000-7000-8000-000000000001',
      tenantId: 'acme',
      resumeFrom: null,
      checkpoint: async () => undefined,
      store: store.sql,
      signal: new AbortController().signal,
      queuedAt: NOW,
      sync: () => {
        throw new Error('no sync writes');
      },
    });

    beforeAll(async () => {
      if (kind === 'postgres') {
        database = await createTestDatabase('hub_t_anomaly');
        store = await openPostgresStore(database, 'product');
      } else store = await openPgliteStore();
      // 15 days of hourly history for two sources and the quality of the hour's records.
      const burst = hourAgo(5);
      const drop = hourAgo(3);
      for (let h = 15 * 24; h >= 1; h--) {
        const hour = hourAgo(h);
        for (const source of ['segment', 'salesforce']) {
          const n = source === 'segment' && hour.getTime() === burst.getTime() ? rate(hour) * 5 : rate(hour);
          await store.sql.query(
            `INSERT INTO "hub_sync_outbox" ("id", "tenant_id", "customer_id", "type", "source", "occurred_at", "payload", "committed_at")
             SELECT gen_random_uuid(), 'acme', 'cust_1', 'product.x', $1, $2::timestamptz, '{}'::json, $2::timestamptz + (g * interval '1 second')
               FROM generate_series(1, $3::int) g`,
            [source, hour, n],
          );
        }
        const score = hour.getTime() === drop.getTime() ? 0.6 : 0.99 + (h % 3) * 0.002;
        await store.sql.query(
          `INSERT INTO "hub_sync_idempotency" ("tenant_id", "key", "kind", "outcome", "result", "created_at", "completeness", "validity", "consistency", "score")
           VALUES ('acme', $1, 'k', 'APPLIED', '{}', $2, 1, 1, 1, $3)`,
          [`q${h}`, new Date(hour.getTime() + 60_000), score],
        );
      }
    }, 180_000);
    afterAll(async () => {
      await store?.close();
      await database?.drop();
    });

    it('finds the burst of one source and the quality drop, stores and announces each once', async () => {
      const job = anomalyJob('product', { found: (series) => found.push(series), now: () => NOW });
      expect(job.name).toBe(ANOMALY_JOB);
      const summary = await job.run(context(store));
      expect(summary.details).toMatchObject({ found: 2, fresh: 2 });
      const rows = await store.sql.query<{
        series: string;
        hour: Date;
        direction: string;
        value: number;
        baseline: number;
      }>(`SELECT "series", "hour", "direction", "value", "baseline" FROM "hub_anomaly" ORDER BY "series"`);
      expect(rows.map((r) => [r.series, new Date(r.hour).toISOString(), r.direction])).toEqual([
        ['events:segment', hourAgo(5).toISOString(), 'above'],
        ['quality', hourAgo(3).toISOString(), 'below'],
      ]);
      expect(rows[0]?.value).toBe(rate(hourAgo(5)) * 5);
      expect(rows[0]?.baseline).toBe(rate(hourAgo(5)));
      expect(found.sort()).toEqual(['events:segment', 'quality']);
      const events = await store.sql.query<{ type: string; payload: unknown }>(
        `SELECT "type", "payload"::text AS "payload" FROM "hub_sync_outbox" WHERE "type" = 'product.anomaly_detected'`,
      );
      expect(events).toHaveLength(2);
      expect(events.map((e) => JSON.parse(String(e.payload)).series).sort()).toEqual(['events:segment', 'quality']);
    });

    it('adds nothing when it runs again, and pages the anomalies for the tenant’s admin, newest first', async () => {
      const summary = await anomalyJob('product', { now: () => NOW }).run(context(store));
      expect(summary.details).toMatchObject({ found: 2, fresh: 0 });
      const admin = createEventsAdmin({ domain: 'product', sql: store.sql, tenantId: 'acme', runner: undefined });
      const first = await admin.anomalies({ first: 1 });
      expect(first.edges.map((e) => e.node.series)).toEqual(['quality']);
      expect(first.pageInfo.hasNextPage).toBe(true);
      const next = await admin.anomalies({ first: 5, after: first.pageInfo.endCursor });
      expect(next.edges.map((e) => e.node.series)).toEqual(['events:segment']);
      const other = createEventsAdmin({ domain: 'product', sql: store.sql, tenantId: 'globex', runner: undefined });
      expect((await other.anomalies({ first: 5 })).edges).toEqual([]);
    });
  });
}
