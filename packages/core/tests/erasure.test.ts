/**
 * Right to erasure in one store (packages/core/src/erasure.ts), on PostgreSQL and on the embedded
 * store (PGlite): the plan a domain derives from its customer keys, declaration and classification;
 * what applying `customers.customer_erased` to a store does to the customer's rows and to the sync
 * bookkeeping, and to no one else's; that it is idempotent; and that nothing brings the customer back.
 * The end-to-end path through the gateway is tests/erasure.e2e.ts.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { SqlTx } from '@hub/store';
import { classifyDocument } from '../src/classification.js';
import { CUSTOMER_ERASED, erasurePlan, storedErasure, type ErasurePlan } from '../src/erasure.js';
import type { EventEnvelope } from '../src/events/types.js';
import { applyReplicaEvent } from '../src/replicaFeed.js';
import { createTestDatabase, type TestDatabase } from '../src/testing.js';
import { countOf, openPgliteStore, openPostgresStore, STORE_KINDS, type EventStore } from './events/harness.js';

const DIRECTIVE =
  'directive @classification(level: String!, mask: String) repeatable on OBJECT | INTERFACE | INPUT_OBJECT | FIELD_DEFINITION | INPUT_FIELD_DEFINITION';

describe('erasure plans', () => {
  const classification = classifyDocument(`${DIRECTIVE}
    type Person @classification(level: "INTERNAL") {
      id: ID!
      note: String @classification(level: "CONFIDENTIAL")
      email: String @classification(level: "PII", mask: "EMAIL")
    }`);

  it('deletes every customer-keyed model, the customer row last, and keeps tenant-wide models', () => {
    const plan = erasurePlan(
      'customers',
      { Customer: 'id', Contact: 'customerId', Tenant: null },
      undefined,
      classification,
    );
    expect(plan.steps.map((s) => [s.model, s.action])).toEqual([
      ['Contact', 'delete'],
      ['Customer', 'delete'],
    ]);
  });

  it('keeps a retained model with its PII and CONFIDENTIAL fields to anonymise, and adds declared models', () => {
    const plan = erasurePlan(
      'finance',
      { Person: 'customerId' },
      { retain: { Person: 'kept by law' }, models: { Input: 'customerId' } },
      classification,
    );
    expect(plan.steps).toEqual([
      {
        model: 'Person',
        customerColumn: 'customerId',
        action: 'anonymise',
        anonymise: ['note', 'email'],
        reason: 'kept by law',
      },
      { model: 'Input', customerColumn: 'customerId', action: 'delete', anonymise: [] },
    ]);
  });

  it('refuses to retain a model that is not customer-keyed (a typo must not keep data)', () => {
    expect(() =>
      erasurePlan('finance', { Invoice: 'customerId' }, { retain: { Invoce: 'x' } }, classification),
    ).toThrow(/retained model Invoce is not customer-keyed/);
  });
});

for (const kind of STORE_KINDS) {
  describe(`erasing a customer in a product store (${kind})`, () => {
    let database: TestDatabase | undefined;
    let store: EventStore;
    let seq = 0;
    const X = 'cust_erase_x';
    const Y = 'cust_erase_y';
    const EMAIL = 'erase.me@example.test';

    beforeAll(async () => {
      if (kind === 'postgres') {
        database = await createTestDatabase('hub_t_erasure');
        store = await openPostgresStore(database, 'product');
      } else store = await openPgliteStore();
    });
    afterAll(async () => {
      await store?.close();
      await database?.drop();
    });

    const plan = (retain?: Record<string, string>): ErasurePlan =>
      erasurePlan(
        'product',
        { FeatureUsage: 'customerId', AdoptionMetrics: 'customerId', UsageDailyRollup: 'customerId' },
        retain ? { retain } : undefined,
        classifyDocument(`${DIRECTIVE}
          type FeatureUsage @classification(level: "INTERNAL") {
            feature: String!
            sourceSystem: String @classification(level: "PII", mask: "REDACT")
          }`),
      );

    function envelope(type: string, customerId: string, payload: Record<string, unknown>): EventEnvelope {
      seq++;
      return {
        id: `00000000-0000-7000-8000-${String(seq).padStart(12, '0')}`,
        type,
        tenantId: 'acme',
        customerId,
        domain: 'customers',
        source: 'admin:u1',
        occurredAt: new Date().toISOString(),
        committedAt: new Date().toISOString(),
        schemaVersion: 1,
        cursor: String(seq),
        payload,
      };
    }
    const apply = (event: EventEnvelope, erasure: ErasurePlan) =>
      store.sql.transaction((tx: SqlTx) => applyReplicaEvent(tx, event, erasure));

    beforeEach(async () => {
      await store.sql.query(
        `TRUNCATE "FeatureUsage", "hub_customer_replica", "hub_erased_customer", "hub_sync_outbox", "hub_sync_conflict",
                  "hub_sync_row_source", "hub_sync_dead_letter", "hub_event_dead_letter"`,
      );
      for (const customer of [X, Y]) {
        await store.sql.query(
          `INSERT INTO "hub_customer_replica" ("tenant_id", "customer_id", "owner_id") VALUES ('acme', $1, 'u1')`,
          [customer],
        );
        for (const feature of ['email_campaigns', 'dashboards'])
          await store.sql.query(
            `INSERT INTO "FeatureUsage" ("id", "tenantId", "customerId", "periodStart", "periodEnd", "feature", "category",
               "usageCount", "adoptionScore", "successCorrelation", "sourceSystem", "updatedAt")
             VALUES ($1, 'acme', $2, '2026-11-01', '2026-11-30', $3, 'CORE', 5, 0.5, 0.5, 'segment', now())`,
            [`fu_${customer}_${feature}`, customer, feature],
          );
        const payload = JSON.stringify({
          idempotencyKey: `k_${customer}`,
          outcome: 'APPLIED',
          data: { email: EMAIL },
          rows: [],
        });
        await store.sql.query(
          `INSERT INTO "hub_sync_outbox" ("id", "tenant_id", "customer_id", "type", "source", "occurred_at", "payload")
           VALUES (gen_random_uuid(), 'acme', $1, 'product.usage_analytics_sync', 'segment', now(), $2::json)`,
          [customer, payload],
        );
        await store.sql.query(
          `INSERT INTO "hub_sync_conflict" ("id", "tenant_id", "model", "row_key", "customer_id", "field", "stored_value",
             "stored_source", "incoming_value", "incoming_source", "incoming_at", "rule", "winner", "idempotency_key")
           VALUES (gen_random_uuid(), 'acme', 'FeatureUsage', '{}', $1, 'feature', $2::jsonb, 'a', '"x"'::jsonb, 'b', now(),
             'LATEST_SOURCE_TIME', 'STORED', $3)`,
          [customer, JSON.stringify(EMAIL), `k_${customer}`],
        );
        await store.sql.query(
          `INSERT INTO "hub_sync_row_source" ("tenant_id", "model", "row_key", "customer_id") VALUES ('acme', 'FeatureUsage', $1, $2)`,
          [`{"id":"fu_${customer}"}`, customer],
        );
        await store.sql.query(
          `INSERT INTO "hub_sync_dead_letter" ("id", "tenant_id", "kind", "key", "source", "payload", "code", "reason")
           VALUES (gen_random_uuid(), 'acme', 'usage_analytics_sync', $1, 'segment', $2::jsonb, 'BAD_USER_INPUT', 'bad')`,
          [`dl_${customer}`, JSON.stringify({ usageAnalyticsSync: { customerId: customer, note: EMAIL } })],
        );
        await store.sql.query(
          `INSERT INTO "hub_event_dead_letter" ("id", "consumer", "event_id", "stream", "tenant_id", "type", "envelope", "reason",
             "attempts", "first_failed_at", "last_failed_at")
           VALUES (gen_random_uuid(), 'product.x', gen_random_uuid(), 'customers', 'acme', 't', $1::jsonb, 'r', 1, now(), now())`,
          [JSON.stringify({ customerId: customer, payload: { email: EMAIL } })],
        );
      }
    });

    /** Rows of `table` about the customer, by its customer column. */
    const rowsOf = (table: string, column: string, customer: string) =>
      countOf(store.sql, `SELECT count(*) AS n FROM "${table}" WHERE "${column}" = $1`, [customer]);

    it('deletes the customer’s rows and scrubs its bookkeeping, and touches no other customer', async () => {
      await apply(envelope(CUSTOMER_ERASED, X, { customerId: X, requestedBy: 'admin:u1' }), plan());
      expect(await rowsOf('FeatureUsage', 'customerId', X)).toBe(0);
      expect(await rowsOf('FeatureUsage', 'customerId', Y)).toBe(2);
      for (const [table, column] of [
        ['hub_sync_conflict', 'customer_id'],
        ['hub_sync_row_source', 'customer_id'],
      ] as const) {
        expect(await rowsOf(table, column, X), table).toBe(0);
        expect(await rowsOf(table, column, Y), table).toBe(1);
      }
      // The outbox keeps its envelope (ids, order, customer id) without the values.
      const outbox = await store.sql.query<{ customer_id: string; payload: unknown }>(
        `SELECT "customer_id", "payload"::text AS "payload" FROM "hub_sync_outbox" ORDER BY "customer_id"`,
      );
      expect(outbox.map((row) => [row.customer_id, String(row.payload).includes(EMAIL)])).toEqual([
        [X, false],
        [Y, true],
      ]);
      const everything = async (table: string) =>
        countOf(store.sql, `SELECT count(*) AS n FROM "${table}" t WHERE t::text LIKE $1`, [`%${EMAIL}%`]);
      // Dead letters name the customer inside their payloads only.
      expect(await everything('hub_sync_dead_letter')).toBe(1);
      expect(await everything('hub_event_dead_letter')).toBe(1);
      expect(await everything('hub_sync_conflict')).toBe(1);
      const replica = await store.sql.query<{ deleted: boolean }>(
        `SELECT "deleted" FROM "hub_customer_replica" WHERE "customer_id" = $1`,
        [X],
      );
      expect(replica).toEqual([{ deleted: true }]);
      const report = await storedErasure(store.sql, 'acme', X);
      expect(report).toMatchObject({
        domain: 'product',
        requestedBy: 'admin:u1',
        deleted: [
          { model: 'FeatureUsage', count: 2 },
          { model: 'AdoptionMetrics', count: 0 },
          { model: 'UsageDailyRollup', count: 0 },
        ],
        retained: [],
      });
      expect(Object.fromEntries((report?.bookkeeping ?? []).map((c) => [c.model, c.count]))).toEqual({
        hub_sync_outbox: 1,
        hub_sync_conflict: 1,
        hub_sync_row_source: 1,
        hub_sync_dead_letter: 1,
        hub_event_dead_letter: 1,
      });
    });

    it('is idempotent: the event applied again keeps the first report and changes nothing', async () => {
      const erased = envelope(CUSTOMER_ERASED, X, { customerId: X, requestedBy: 'admin:u1' });
      await apply(erased, plan());
      const first = await storedErasure(store.sql, 'acme', X);
      await apply({ ...erased, id: envelope('x', X, {}).id }, plan());
      expect(await storedErasure(store.sql, 'acme', X)).toEqual(first);
      expect(await rowsOf('FeatureUsage', 'customerId', Y)).toBe(2);
    });

    it('an older event replayed afterwards (as JetStream keeps it) does not bring the customer back to the replica', async () => {
      await apply(envelope(CUSTOMER_ERASED, X, { customerId: X, requestedBy: 'admin:u1' }), plan());
      const older = envelope('customers.customer_record_sync', X, {
        rows: [{ model: 'Customer', id: X, key: { id: X }, changed: { ownerId: 'u2' } }],
      });
      await apply(older, plan());
      const replica = await store.sql.query<{ deleted: boolean }>(
        `SELECT "deleted" FROM "hub_customer_replica" WHERE "customer_id" = $1`,
        [X],
      );
      expect(replica).toEqual([{ deleted: true }]);
      // A customer that was only deleted (not erased) may be created again.
      await apply(envelope('customers.customer_deleted', Y, { customerId: Y }), plan());
      await apply(
        envelope('customers.customer_record_sync', Y, {
          rows: [{ model: 'Customer', id: Y, key: { id: Y }, changed: {} }],
        }),
        plan(),
      );
      const live = await store.sql.query<{ deleted: boolean }>(
        `SELECT "deleted" FROM "hub_customer_replica" WHERE "customer_id" = $1`,
        [Y],
      );
      expect(live).toEqual([{ deleted: false }]);
    });

    it('a dead letter recorded after the erasure keeps no values of the erased customer (store trigger)', async () => {
      await apply(envelope(CUSTOMER_ERASED, X, { customerId: X, requestedBy: 'admin:u1' }), plan());
      for (const customer of [X, Y])
        await store.sql.query(
          `INSERT INTO "hub_sync_dead_letter" ("id", "tenant_id", "kind", "key", "source", "payload", "code", "reason")
           VALUES (gen_random_uuid(), 'acme', 'usage_analytics_sync', $1, 'segment', $2::jsonb, 'NOT_FOUND', 'unknown')`,
          [`late_${customer}`, JSON.stringify({ usageAnalyticsSync: { customerId: customer, note: EMAIL } })],
        );
      const late = await store.sql.query<{ key: string; payload: unknown }>(
        `SELECT "key", "payload" FROM "hub_sync_dead_letter" WHERE "key" LIKE 'late_%' ORDER BY "key"`,
      );
      expect(late).toEqual([
        { key: `late_${X}`, payload: { erased: true } },
        { key: `late_${Y}`, payload: { usageAnalyticsSync: { customerId: Y, note: EMAIL } } },
      ]);
    });

    it('keeps a retained model’s rows with their personal fields anonymised, the rest as it was', async () => {
      await apply(
        envelope(CUSTOMER_ERASED, X, { customerId: X, requestedBy: 'admin:u1' }),
        plan({ FeatureUsage: 'kept by law' }),
      );
      const kept = await store.sql.query<{ feature: string; sourceSystem: string | null; usageCount: number }>(
        `SELECT "feature", "sourceSystem", "usageCount" FROM "FeatureUsage" WHERE "customerId" = $1`,
        [X],
      );
      expect(kept.sort((a, b) => a.feature.localeCompare(b.feature))).toEqual([
        { feature: 'dashboards', sourceSystem: null, usageCount: 5 },
        { feature: 'email_campaigns', sourceSystem: null, usageCount: 5 },
      ]);
      expect((await storedErasure(store.sql, 'acme', X))?.retained).toEqual([
        { model: 'FeatureUsage', count: 2, reason: 'kept by law' },
      ]);
    });
  });
}
