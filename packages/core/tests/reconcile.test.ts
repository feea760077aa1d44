/**
 * The `reconcile` job (reconcile.ts, reconcileChecks.ts) on a real product store, on PostgreSQL and
 * on the embedded PGlite: rows written through the pipeline and a customer replica agree with their
 * references (score 1); then one store is damaged — a replica row deleted, a replica owner changed,
 * a domain row deleted, a domain row's value changed, a row written behind the pipeline's back — and
 * the job reports each difference with its kind and fields and the score 1 − differing/checked; a
 * repair run re-drives them (replica rows from the customers domain's answer, rows from the log
 * through the pipeline), and the next run finds nothing. The customers domain's answer is the
 * `_replicaSnapshot` shape the kit reads over HTTP; here the test states it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobContext } from '../src/events/types.js';
import {
  CONSISTENCY_TARGET,
  RECONCILE_JOB,
  latestReconciliation,
  latestScores,
  reconcileJob,
} from '../src/reconcile.js';
import { logCheck, replicaCheck } from '../src/reconcileChecks.js';
import type { ReplicaSnapshot } from '../src/replicaFeed.js';
import { createTestDatabase, type TestDatabase } from '../src/testing.js';
import { openPgliteStore, openPostgresStore, STORE_KINDS, type EventStore } from './events/harness.js';
import { CUSTOMER_KEYS, definition, fixturePipeline, usageEventAt } from './sync/fixture.js';

const TENANT = 'acme';
const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000).toISOString();

for (const kind of STORE_KINDS) {
  describe(`reconcile on a product store (${kind})`, () => {
    let database: TestDatabase | undefined;
    let store: EventStore;
    let runs = 0;
    const snapshot: ReplicaSnapshot = {
      customers: [
        { tenantId: TENANT, id: 'cust_a', ownerId: 'u1' },
        { tenantId: TENANT, id: 'cust_b', ownerId: 'u2' },
        { tenantId: TENANT, id: 'cust_c', ownerId: 'u1' },
        { tenantId: 'other', id: 'cust_x', ownerId: 'u7' },
      ],
      grants: [{ id: 'key_1', tenantId: TENANT, customerIds: ['cust_a', 'cust_b'], fields: ['usage'], revoked: false }],
    };

    const job = () =>
      reconcileJob('product', {
        settleMs: 0,
        checks: () => [
          replicaCheck({ snapshot: async () => snapshot }),
          logCheck({ domain: 'product', definition, customerKeys: CUSTOMER_KEYS }),
        ],
      });
    const run = async (flags: string[] = []) => {
      const ctx: JobContext = {
        runId: `00000000-0000-7000-8000-00000000000${++runs}`,
        tenantId: TENANT,
        resumeFrom: null,
        flags,
        checkpoint: async () => undefined,
        store: store.sql,
        signal: new AbortController().signal,
        queuedAt: new Date(),
        sync: () => {
          throw new Error('reconcile writes through its own pipeline');
        },
      };
      const summary = await job().run(ctx);
      const report = await latestReconciliation(store.sql, TENANT, ctx.runId);
      if (!report) throw new Error('no report stored');
      return { summary, report };
    };

    beforeAll(async () => {
      if (kind === 'postgres') {
        database = await createTestDatabase('hub_t_reconcile');
        store = await openPostgresStore(database, 'product');
      } else store = await openPgliteStore();
      // The replica as the customers stream filled it; another tenant's rows beside it.
      await store.sql.query(
        `INSERT INTO "hub_customer_replica" ("tenant_id", "customer_id", "owner_id") VALUES
           ('acme', 'cust_a', 'u1'), ('acme', 'cust_b', 'u2'), ('acme', 'cust_c', 'u1'), ('other', 'cust_x', 'u7')`,
      );
      await store.sql.query(
        `INSERT INTO "hub_grant_replica" ("id", "tenant_id", "customer_ids", "fields") VALUES
           ('key_1', 'acme', '{cust_b,cust_a}', '{usage}')`,
      );
      // Rows through the pipeline: three usage rows, one of them updated later by another source.
      const pipeline = fixturePipeline(store.client, TENANT);
      const results = await pipeline.apply([
        usageEventAt(minutesAgo(30))({ feature: 'email', usageCount: 5 }, { source: 'segment' }),
        usageEventAt(minutesAgo(30))({ feature: 'chat', usageCount: 2 }, { source: 'segment' }),
        usageEventAt(minutesAgo(30))({ customerId: 'cust_b', feature: 'email', usageCount: 7 }, { source: 'segment' }),
        usageEventAt(minutesAgo(10))({ feature: 'email', usageCount: 9 }, { source: 'analytics' }),
      ]);
      expect(results.map((r) => r.outcome)).toEqual(['APPLIED', 'APPLIED', 'APPLIED', 'APPLIED']);
    }, 180_000);
    afterAll(async () => {
      await store?.close();
      await database?.drop();
    });

    it('is declared once, daily, with a repair flag', () => {
      expect(job()).toMatchObject({
        name: RECONCILE_JOB,
        domain: 'product',
        schedule: '30 3 * * *',
        flags: ['repair'],
      });
    });

    it('finds an intact store consistent (score 1, nothing differs)', async () => {
      const { report } = await run();
      // 3 replica customers + 1 grant; 3 logged rows.
      expect(report.checks).toEqual([
        { check: 'replica', checked: 4, differing: 0, repaired: 0 },
        { check: 'log', checked: 3, differing: 0, repaired: 0 },
      ]);
      expect(report).toMatchObject({ checked: 7, differing: 0, score: 1, target: CONSISTENCY_TARGET, differences: [] });
    });

    it('reports each damage with its kind and fields, repairs it, and then finds nothing', async () => {
      await store.sql.query(
        `DELETE FROM "hub_customer_replica" WHERE "tenant_id" = 'acme' AND "customer_id" = 'cust_b'`,
      );
      await store.sql.query(
        `UPDATE "hub_customer_replica" SET "owner_id" = 'u9' WHERE "tenant_id" = 'acme' AND "customer_id" = 'cust_c'`,
      );
      await store.sql.query(
        `INSERT INTO "hub_customer_replica" ("tenant_id", "customer_id", "owner_id") VALUES ('acme', 'cust_ghost', 'u1')`,
      );
      await store.sql.query(`UPDATE "hub_grant_replica" SET "fields" = '{usage,finance}' WHERE "id" = 'key_1'`);
      await store.sql.query(
        `DELETE FROM "FeatureUsage" WHERE "tenantId" = 'acme' AND "customerId" = 'cust_a' AND "feature" = 'chat'`,
      );
      await store.sql.query(
        `UPDATE "FeatureUsage" SET "usageCount" = 999 WHERE "tenantId" = 'acme' AND "customerId" = 'cust_b' AND "feature" = 'email'`,
      );

      const found = await run();
      const differences = found.report.differences.map(({ check, key, kind, fields }) => ({
        check,
        key,
        kind,
        fields,
      }));
      expect(differences).toEqual([
        { check: 'replica', key: 'customer:cust_b', kind: 'missing', fields: [] },
        { check: 'replica', key: 'customer:cust_c', kind: 'different', fields: ['ownerId'] },
        { check: 'replica', key: 'customer:cust_ghost', kind: 'extra', fields: [] },
        { check: 'replica', key: 'grant:key_1', kind: 'different', fields: ['fields'] },
        { check: 'log', key: 'FeatureUsage:["cust_a","2026-11-01T00:00:00.000Z","chat"]', kind: 'missing', fields: [] },
        {
          check: 'log',
          key: 'FeatureUsage:["cust_b","2026-11-01T00:00:00.000Z","email"]',
          kind: 'different',
          fields: ['usageCount'],
        },
      ]);
      // 4 replica customers (3 + the extra) + 1 grant, 3 rows: 6 of 8 differ.
      expect(found.report).toMatchObject({ checked: 8, differing: 6, repaired: 0, repair: false, score: 0.25 });
      expect(found.summary).toMatchObject({ processed: 8, failed: 6 });
      expect(await latestScores(store.sql)).toEqual([{ tenantId: TENANT, score: 0.25 }]);

      const repaired = await run(['repair']);
      expect(repaired.report).toMatchObject({ checked: 8, differing: 6, repaired: 6, repair: true });
      expect(repaired.report.differences.every((d) => d.repaired)).toBe(true);
      // The rows are back as the log has them, under the logged provenance.
      const rows = await store.sql.query<{
        customerId: string;
        feature: string;
        usageCount: number;
        sourceSystem: string;
      }>(
        `SELECT "customerId", "feature", "usageCount", "sourceSystem" FROM "FeatureUsage" WHERE "tenantId" = 'acme'
          ORDER BY 1, 2`,
      );
      expect(rows).toEqual([
        { customerId: 'cust_a', feature: 'chat', usageCount: 2, sourceSystem: 'segment' },
        { customerId: 'cust_a', feature: 'email', usageCount: 9, sourceSystem: 'analytics' },
        { customerId: 'cust_b', feature: 'email', usageCount: 7, sourceSystem: 'segment' },
      ]);
      const replica = await store.sql.query(
        `SELECT "customer_id", "owner_id", "deleted" FROM "hub_customer_replica" WHERE "tenant_id" = 'acme' ORDER BY 1`,
      );
      expect(replica).toEqual([
        { customer_id: 'cust_a', owner_id: 'u1', deleted: false },
        { customer_id: 'cust_b', owner_id: 'u2', deleted: false },
        { customer_id: 'cust_c', owner_id: 'u1', deleted: false },
        { customer_id: 'cust_ghost', owner_id: 'u1', deleted: true },
      ]);

      const after = await run();
      expect(after.report).toMatchObject({ differing: 0, score: 1, differences: [] });
      // The other tenant was never looked at.
      expect(
        await store.sql.query(`SELECT "owner_id" FROM "hub_customer_replica" WHERE "tenant_id" = 'other'`),
      ).toEqual([{ owner_id: 'u7' }]);
    });

    it('reports a row written behind the pipeline as extra, and never re-creates an erased customer', async () => {
      // A row with provenance no event and no idempotency record names (copied from a real one).
      await store.sql.query(
        `INSERT INTO "FeatureUsage" ("id", "tenantId", "customerId", "periodStart", "periodEnd", "feature", "category",
           "usageCount", "adoptionScore", "successCorrelation", "updatedAt")
         VALUES ('fu_rogue', 'acme', 'cust_c', '2026-11-01', '2026-11-01', 'rogue', 'CORE', 1, 0, 0, now())`,
      );
      await store.sql.query(
        `INSERT INTO "hub_sync_row_source" ("tenant_id", "model", "row_key", "customer_id", "sources")
         VALUES ('acme', 'FeatureUsage', '["cust_c","2026-11-01T00:00:00.000Z","rogue"]', 'cust_c', '[]')`,
      );
      // cust_a is erased here (its tombstone); the customers domain still listing it must not revive it.
      await store.sql.query(
        `INSERT INTO "hub_erased_customer" ("tenant_id", "customer_id", "requested_by", "report") VALUES ('acme', 'cust_a', 'admin:u1', '{}')`,
      );
      await store.sql.query(
        `UPDATE "hub_customer_replica" SET "deleted" = true WHERE "tenant_id" = 'acme' AND "customer_id" = 'cust_a'`,
      );
      const found = await run(['repair']);
      expect(found.report.differences.map(({ key, kind, repaired }) => ({ key, kind, repaired }))).toEqual([
        { key: 'customer:cust_a', kind: 'missing', repaired: false },
        { key: 'FeatureUsage:["cust_c","2026-11-01T00:00:00.000Z","rogue"]', kind: 'extra', repaired: false },
      ]);
      // The erased customer's logged rows are not expected (its two rows left the log's count).
      expect(found.report.checks.find((c) => c.check === 'log')).toMatchObject({ checked: 2, differing: 1 });
      expect(
        await store.sql.query(
          `SELECT "deleted" FROM "hub_customer_replica" WHERE "tenant_id" = 'acme' AND "customer_id" = 'cust_a'`,
        ),
      ).toEqual([{ deleted: true }]);
    });
  });
}
