/**
 * Retention (packages/core/src/retention.ts) through the real job runner (pg-boss on the store) on a
 * product store, PostgreSQL and the embedded PGlite: a run for one tenant exports exactly the
 * records past their policy's age to NDJSON and deletes exactly those; what is young, not done with
 * (an unpublished outbox row) or another tenant's stays; store-wide processed-event ids go without
 * counting in the tenant's summary; a second run finds nothing.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJobRunner, type JobRunner } from '../src/events/jobs.js';
import { createLogger } from '../src/logger.js';
import { REPO_ROOT } from '../src/process.js';
import { UNPUBLISHED } from '../src/events/relay.js';
import { RETENTION_JOB, REPLAY_WINDOW_DAYS, allRetentionPolicies, retentionJob } from '../src/retention.js';
import { createTestDatabase, type TestDatabase } from '../src/testing.js';
import { countOf, openPgliteStore, openPostgresStore, STORE_KINDS, type EventStore } from './events/harness.js';

const DAY_MS = 86_400_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('retention policies', () => {
  it('name a reason and a positive age, and cover the outbox, the inbox, raw usage and job runs', () => {
    const all = allRetentionPolicies();
    for (const { policy } of all) {
      expect(policy.reason.length, policy.table).toBeGreaterThan(10);
      expect(policy.keepDays, policy.table).toBeGreaterThan(0);
    }
    const tables = all.map(({ domain, policy }) => `${domain}:${policy.table}`);
    expect(tables).toEqual(
      expect.arrayContaining(['product:FeatureUsage', '*:hub_sync_outbox', '*:hub_event_inbox', '*:hub_job_run']),
    );
  });

  it('are each listed in the README with their age (README "Retention")', async () => {
    const readme = await readFile(path.join(REPO_ROOT, 'README.md'), 'utf8');
    for (const { domain, policy } of allRetentionPolicies()) {
      const where = domain === '*' ? 'every store' : domain;
      const row = new RegExp(`\\|\\s*${where}\\s*\\|\\s*\`${policy.table}\`\\s*\\|\\s*${policy.keepDays} days\\s*\\|`);
      expect(readme, `${where} ${policy.table}`).toMatch(row);
    }
  });
});

for (const kind of STORE_KINDS) {
  describe(`the retention job on a product store (${kind})`, () => {
    let database: TestDatabase | undefined;
    let store: EventStore;
    let runner: JobRunner;
    let archiveDir: string;
    const old = new Date(Date.now() - 800 * DAY_MS);
    const recent = new Date(Date.now() - 2 * DAY_MS);

    async function finished(runId: string) {
      for (let i = 0; i < 300; i++) {
        const [row] = await store.sql.query<{
          status: string;
          summary: { archived?: Record<string, number> };
        }>(`SELECT "status", "summary" FROM "hub_job_run" WHERE "id" = $1`, [runId]);
        if (row?.status === 'succeeded') return row.summary;
        if (row?.status === 'failed') throw new Error('retention run failed');
        await sleep(100);
      }
      throw new Error('retention run did not finish');
    }

    async function archived(table: string, tenant: string) {
      const dir = path.join(archiveDir, 'product', table, tenant);
      const files = await readdir(dir).catch(() => [] as string[]);
      const lines = await Promise.all(
        files.map(async (file) => (await readFile(path.join(dir, file), 'utf8')).trim().split('\n')),
      );
      return lines.flat().map((line) => JSON.parse(line) as Record<string, unknown>);
    }

    beforeAll(async () => {
      if (kind === 'postgres') {
        database = await createTestDatabase('hub_t_retention');
        store = await openPostgresStore(database, 'product');
      } else store = await openPgliteStore();
      archiveDir = await mkdtemp(path.join(tmpdir(), 'hub-archive-'));
      const usage = (id: string, tenant: string, end: Date) =>
        store.sql.query(
          `INSERT INTO "FeatureUsage" ("id", "tenantId", "customerId", "periodStart", "periodEnd", "feature", "category",
             "usageCount", "adoptionScore", "successCorrelation", "updatedAt")
           VALUES ($1, $2, 'cust_1', $3::date - 30, $3::date, $1, 'CORE', 1, 0.5, 0.5, now())`,
          [id, tenant, end.toISOString().slice(0, 10)],
        );
      for (const id of ['fu_old_1', 'fu_old_2', 'fu_old_3']) await usage(id, 'acme', old);
      await usage('fu_recent', 'acme', recent);
      await usage('fu_globex_old', 'globex', old);
      // Published means behind the relay position: in seq order two old rows (a pass each, as old),
      // a recent one (its pass is the position), then an old one not yet published.
      const outbox = async (tenant: string, committed: Date, published: boolean) => {
        const [row] = await store.sql.query<{ seq: string }>(
          `INSERT INTO "hub_sync_outbox" ("id", "tenant_id", "customer_id", "type", "source", "occurred_at", "payload",
             "committed_at")
           VALUES (gen_random_uuid(), $1, 'cust_1', 'product.x', 's', $2, '{}'::json, $2) RETURNING "seq"::text AS "seq"`,
          [tenant, committed],
        );
        if (published)
          await store.sql.query(
            `INSERT INTO "hub_sync_relay_position" ("seq", "published_at") VALUES ($1::bigint, $2)`,
            [row?.seq, committed],
          );
      };
      await outbox('acme', old, true);
      await outbox('acme', old, true);
      await outbox('acme', recent, true);
      await outbox('acme', old, false);
      const inbox = (at: Date) =>
        store.sql.query(
          `INSERT INTO "hub_event_inbox" ("consumer", "event_id", "stream", "cursor", "processed_at")
           VALUES ('product.x', gen_random_uuid(), 'customers', '1', $1)`,
          [at],
        );
      await inbox(new Date(Date.now() - (REPLAY_WINDOW_DAYS + 5) * DAY_MS));
      await inbox(new Date(Date.now() - (REPLAY_WINDOW_DAYS + 6) * DAY_MS));
      await inbox(recent);
      runner = createJobRunner({
        domain: 'product',
        sql: store.sql,
        jobs: [retentionJob('product', { archiveDir })],
        sync: () => {
          throw new Error('retention writes no sync events');
        },
        log: createLogger('test', 'warn'),
        work: true,
        pollingIntervalSeconds: 0.5,
      });
      await runner.start();
    }, 120_000);
    afterAll(async () => {
      await runner?.stop();
      await store?.close();
      await database?.drop();
      if (archiveDir) await rm(archiveDir, { recursive: true, force: true });
    });

    it('exports and deletes exactly what is past its age, for the run’s tenant only', async () => {
      const run = await runner.trigger(RETENTION_JOB, 'acme');
      const summary = await finished(run.id);
      expect(summary.archived).toEqual({ FeatureUsage: 3, hub_sync_outbox: 2 });
      const left = await store.sql.query<{ id: string }>(`SELECT "id" FROM "FeatureUsage" ORDER BY "id"`);
      expect(left.map((r) => r.id)).toEqual(['fu_globex_old', 'fu_recent']);
      expect((await archived('FeatureUsage', 'acme')).map((r) => r['id']).sort()).toEqual([
        'fu_old_1',
        'fu_old_2',
        'fu_old_3',
      ]);
      // Published and old: gone (and in the archive); unpublished or young: kept.
      expect(await countOf(store.sql, `SELECT count(*) AS n FROM "hub_sync_outbox"`)).toBe(2);
      expect(await countOf(store.sql, `SELECT count(*) AS n FROM "hub_sync_outbox" WHERE ${UNPUBLISHED}`)).toBe(1);
      expect(await archived('hub_sync_outbox', 'acme')).toHaveLength(2);
      // The old passes go with their rows (store-wide, archived apart); the newest, the position, stays.
      expect(
        await countOf(store.sql, `SELECT count(*) AS n FROM "hub_sync_relay_position" WHERE "published_at" = $1`, [
          recent,
        ]),
      ).toBe(1);
      expect(await countOf(store.sql, `SELECT count(*) AS n FROM "hub_sync_relay_position"`)).toBe(1);
      expect(await archived('hub_sync_relay_position', '_store')).toHaveLength(2);
      // Processed-event ids are store-wide: purged past the replay window, archived apart, no tenant's count.
      expect(await countOf(store.sql, `SELECT count(*) AS n FROM "hub_event_inbox"`)).toBe(1);
      expect(await archived('hub_event_inbox', '_store')).toHaveLength(2);
    }, 60_000);

    it('finds nothing the second time', async () => {
      const run = await runner.trigger(RETENTION_JOB, 'acme');
      const summary = await finished(run.id);
      expect(summary.archived).toEqual({});
      expect(await archived('FeatureUsage', 'acme')).toHaveLength(3);
    }, 60_000);
  });
}
