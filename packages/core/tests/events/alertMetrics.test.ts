/**
 * The series the alerting rules read beside the event series (createSyncHealthMetrics), collected
 * from a real product store on PostgreSQL: waiting dead letters per kind, the last hour's quality
 * per dimension beside the targets, each scheduled job's interval and its last success.
 */
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSyncHealthMetrics, cronIntervalSeconds } from '../../src/events/metrics.js';
import { createTestDatabase, type TestDatabase } from '../../src/testing.js';
import { openPostgresStore, type EventStore } from './harness.js';

let database: TestDatabase;
let store: EventStore;

beforeAll(async () => {
  database = await createTestDatabase('hub_t_alertmetrics');
  store = await openPostgresStore(database, 'product');
});
afterAll(async () => {
  await store?.close();
  await database?.drop();
});

async function series(registry: Registry) {
  const metrics = await registry.getMetricsAsJSON();
  return Object.fromEntries(
    metrics.map((m) => [m.name, m.values.map((v) => ({ labels: v.labels, value: v.value }))] as const),
  );
}

describe('sync-health series', () => {
  it('gives the cron interval of daily and weekly schedules', () => {
    expect(cronIntervalSeconds('0 2 * * *')).toBe(86_400);
    expect(cronIntervalSeconds('0 3 * * 1')).toBe(604_800);
    expect(cronIntervalSeconds('*/15 * * * *')).toBe(900);
  });

  it('reads dead letters, quality, job intervals and last successes from the store', async () => {
    await store.sql.query(
      `INSERT INTO "hub_sync_dead_letter" ("id", "tenant_id", "kind", "key", "source", "payload", "code", "reason", "replayed_at")
       VALUES (gen_random_uuid(), 'acme', 'k', 'a', 's', '{}', 'BAD_USER_INPUT', 'r', NULL),
              (gen_random_uuid(), 'acme', 'k', 'b', 's', '{}', 'BAD_USER_INPUT', 'r', NULL),
              (gen_random_uuid(), 'acme', 'k', 'c', 's', '{}', 'BAD_USER_INPUT', 'r', now())`,
    );
    await store.sql.query(
      `INSERT INTO "hub_sync_quality_rejected" ("tenant_id", "key", "kind", "completeness", "validity", "rejected")
       VALUES ('acme', 'x', 'k', 0.5, 0, true)`,
    );
    await store.sql.query(
      `INSERT INTO "hub_sync_idempotency" ("tenant_id", "key", "kind", "outcome", "result", "completeness", "validity", "consistency", "score")
       VALUES ('acme', 'y', 'k', 'APPLIED', '{}', 1, 1, 1, 1)`,
    );
    const ended = new Date('2026-12-01T02:10:00Z');
    await store.sql.query(
      `INSERT INTO "hub_job_run" ("id", "job", "tenant_id", "status", "trigger", "ended_at")
       VALUES (gen_random_uuid(), 'daily', 'acme', 'succeeded', 'schedule', $1),
              (gen_random_uuid(), 'daily', 'acme', 'failed', 'schedule', now())`,
      [ended],
    );
    const registry = new Registry();
    createSyncHealthMetrics(registry, 'product', store.sql, [
      { name: 'daily', schedule: '0 2 * * *' },
      { name: 'weekly', schedule: '0 3 * * 1' },
      { name: 'manual', schedule: null },
    ]);
    const got = await series(registry);
    expect(got['hub_dead_letters']).toEqual([
      { labels: { domain: 'product', kind: 'sync' }, value: 2 },
      { labels: { domain: 'product', kind: 'event' }, value: 0 },
    ]);
    // One rejected (accuracy 0) and one accepted record (1): accuracy 0.5; completeness of the accepted only.
    expect(got['hub_sync_quality']).toEqual([
      { labels: { domain: 'product', dimension: 'accuracy' }, value: 0.5 },
      { labels: { domain: 'product', dimension: 'completeness' }, value: 1 },
      { labels: { domain: 'product', dimension: 'consistency' }, value: 1 },
    ]);
    expect(got['hub_sync_quality_target']?.map((v) => [v.labels['dimension'], v.value])).toEqual([
      ['accuracy', 0.999],
      ['completeness', 0.98],
      ['consistency', 0.995],
    ]);
    expect(got['hub_job_interval_seconds']).toEqual([
      { labels: { domain: 'product', job: 'daily' }, value: 86_400 },
      { labels: { domain: 'product', job: 'weekly' }, value: 604_800 },
    ]);
    expect(got['hub_job_last_success_timestamp_seconds']).toEqual([
      { labels: { domain: 'product', job: 'daily' }, value: ended.getTime() / 1000 },
    ]);
  });
});
