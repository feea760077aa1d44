/**
 * Sync status and the weekly integration-health report over known bookkeeping rows, on PostgreSQL and
 * PGlite: every figure is checked against what the fixture implies.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '@hub/store';
import { PrismaClient } from '@hub/store/product';
import { createEmbeddedBus } from '../../src/events/bus-embedded.js';
import { integrationHealthJob } from '../../src/events/integrationHealth.js';
import { createLogger } from '../../src/logger.js';
import { syncStatus } from '../../src/events/status.js';
import { openJobTestStore, runJobOnce } from '../../src/events/testing.js';

const MS = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };

describe.each(['postgres', 'pglite'] as const)('sync status and integration health on %s', (kind) => {
  let handle: { store: Store<PrismaClient>; close(): Promise<void> };
  // Set once the store is open (opening PGlite may take a minute on a loaded machine).
  let now = 0;
  const at = (agoMs: number) => new Date(now - agoMs);

  beforeAll(async () => {
    handle = await openJobTestStore<PrismaClient>('product', PrismaClient, kind);
    now = Date.now();
    const sql = handle.store.sql;
    // [tenant, committed ms ago, publish lag ms or null (unpublished)], in commit (= seq) order: the
    // relay publishes a prefix, one pass per published row here, at its commit time + its lag.
    const outbox: [string, number, number | null][] = [
      ['t1', 10 * MS.day, 50], // outside the week
      ['t1', 2 * MS.hour, 1_000],
      ['t1', 5_000, 300],
      ['t1', 4_000, 200],
      ['t1', 3_000, 100],
      ['t1', 2_000, null],
      ['t1', 1_000, null],
      ['t2', 1_000, null],
      ['t2', 1_000, null],
    ];
    for (const [i, [tenant, ago, lag]] of outbox.entries()) {
      const [row] = await sql.query<{ seq: string }>(
        `INSERT INTO "hub_sync_outbox" ("id", "tenant_id", "customer_id", "type", "source", "payload", "occurred_at", "committed_at")
         VALUES (gen_random_uuid(), $1, $2, 'product.usage_analytics_sync', 'test', '{}', $3, $3) RETURNING "seq"::text AS "seq"`,
        [tenant, `c${i}`, at(ago)],
      );
      if (lag !== null)
        await sql.query(`INSERT INTO "hub_sync_relay_position" ("seq", "published_at") VALUES ($1::bigint, $2)`, [
          row?.seq,
          new Date(now - ago + lag),
        ]);
    }
    // [score, validity, rejected]
    const quality: [number | null, number, boolean][] = [
      [0.9, 1, false],
      [0.8, 1, false],
      [0.7, 0.5, false],
      [null, 0, true],
    ];
    // Into the table behind the hub_sync_quality view (it also holds records from before accepted
    // events kept their quality with the idempotency record): the view shows every row of it.
    for (const [i, [score, validity, rejected]] of quality.entries()) {
      await sql.query(
        `INSERT INTO "hub_sync_quality_rejected" ("tenant_id", "key", "kind", "completeness", "validity", "consistency", "timeliness", "score", "rejected", "received_at")
         VALUES ('t1', $1, 'usage_analytics_sync', 0.9, $2, 1, 1, $3, $4, $5)`,
        [`k${i}`, validity, score, rejected, at(MS.hour)],
      );
    }
    // Dead letters: two waiting (the later one is the last error), one replayed.
    const letters: [string, number, boolean][] = [
      ['older reason', 3 * MS.minute, false],
      ['latest reason', 2 * MS.minute, false],
      ['replayed reason', MS.hour, true],
    ];
    for (const [i, [reason, ago, replayed]] of letters.entries()) {
      await sql.query(
        `INSERT INTO "hub_sync_dead_letter" ("id", "tenant_id", "kind", "key", "source", "payload", "code", "reason", "received_at", "replayed_at")
         VALUES (gen_random_uuid(), 't1', 'usage_analytics_sync', $1, 'test', '{}', 'BAD_USER_INPUT', $2, $3, $4)`,
        [`dl${i}`, reason, at(ago), replayed ? at(0) : null],
      );
    }
    // A consumer's dead letter, older than the pipeline's latest.
    await sql.query(
      `INSERT INTO "hub_event_dead_letter" ("id", "consumer", "event_id", "stream", "tenant_id", "type", "envelope", "reason",
         "attempts", "first_failed_at", "last_failed_at")
       VALUES (gen_random_uuid(), 'product.test', gen_random_uuid(), 'customers', 't1', 'customers.customer_record_sync', '{}',
         'handler threw', 8, $1, $1)`,
      [at(4 * MS.minute)],
    );
    // A failed run earlier than the latest dead letter.
    await sql.query(
      `INSERT INTO "hub_job_run" ("id", "job", "tenant_id", "status", "trigger", "queued_at", "ended_at", "error")
       VALUES (gen_random_uuid(), 'product-usage-rollup', 't1', 'failed', 'schedule', $1, $1, 'boom')`,
      [at(5 * MS.minute)],
    );
  }, 120_000);
  afterAll(async () => handle?.close());

  it('reports the tenant’s events/s, backlog, dead letters, last error and latest runs', async () => {
    // A consumer of this store's own stream that has acknowledged nothing yet: the tenant's 7 events of
    // it are its lag (t2's two are not t1's).
    const bus = createEmbeddedBus({ domain: 'product', store: handle.store.sql, log: createLogger('test', 'warn') });
    const consumers = [{ name: 'product.test', from: 'product' as const }];
    const status = await syncStatus({ sql: handle.store.sql, domain: 'product', tenantId: 't1', consumers, bus });
    await bus.close();
    expect(status).toMatchObject({
      domain: 'product',
      tenantId: 't1',
      eventsPerSecond: Math.round((5 / 60) * 1000) / 1000,
      outboxBacklog: 2,
      consumers: [{ name: 'product.test', from: 'product', lag: 7, oldestPendingAt: at(10 * MS.day).toISOString() }],
      deadLetters: { sync: 2, consumer: 1 },
      lastError: { source: 'sync', message: 'BAD_USER_INPUT: latest reason' },
    });
    expect(status.jobRuns.map((r) => [r.job, r.status])).toEqual([['product-usage-rollup', 'failed']]);
    const other = await syncStatus({ sql: handle.store.sql, domain: 'product', tenantId: 't2' });
    expect(other).toMatchObject({
      outboxBacklog: 2,
      deadLetters: { sync: 0, consumer: 0 },
      lastError: null,
      jobRuns: [],
    });
  });

  it('writes the weekly integration-health report from the outbox, quality and dead letters', async () => {
    const run = await runJobOnce({
      store: handle.store as Store<unknown>,
      sync: { domain: 'product', kinds: [], models: {} },
      customerKeys: {},
      job: integrationHealthJob('product'),
      tenantId: 't1',
    });
    expect(run).toMatchObject({ status: 'succeeded', processed: 1 });
    const [report] = await handle.store.sql.query<Record<string, unknown>>(
      `SELECT * FROM "hub_integration_health" WHERE "tenant_id" = 't1'`,
    );
    // Lags of the week's published events: 100, 200, 300, 1000 ms (continuous percentiles).
    expect(report).toMatchObject({
      domain: 'product',
      run_id: run.id,
      events: 6,
      outbox_backlog: 2,
      records: 4,
      rejected: 1,
      sync_dead_letters: 3,
      consumer_dead_letters: 1,
    });
    expect(Number(report?.['events_per_second'])).toBeCloseTo(6 / (7 * 86_400), 9);
    expect(Number(report?.['publish_lag_p50_ms'])).toBeCloseTo(250, 0);
    expect(Number(report?.['publish_lag_p95_ms'])).toBeCloseTo(300 + 0.85 * 700, 0);
    expect(Number(report?.['quality_score'])).toBeCloseTo(0.8, 6);
    expect(Number(report?.['accuracy'])).toBeCloseTo((1 + 1 + 0.5 + 0) / 4, 6);
    expect(
      await handle.store.sql.query(`SELECT 1 FROM "hub_integration_health" WHERE "tenant_id" = 't2'`),
    ).toHaveLength(0);
  }, 120_000);
});
