/**
 * The audit trail (packages/core/src/audit.ts, hub_sync migration audit_trail) on a product store,
 * PostgreSQL and the embedded PGlite: the sync pipeline records one entry per event that changed rows
 * (an event of several rows lists them, and the trail shows one node per row) with who, source, key
 * and before/after, for a sync batch, a consumer and a job; entries of unchanged events
 * are not written; the table refuses UPDATE and DELETE; verification finds a row edited by SQL with
 * the trigger disabled (as a superuser attacker would), a removed entry and a removed tail; two
 * writers on their own connection pools leave one valid chain; PII values become markers.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, migrationsDirFor, type Store } from '@hub/store';
import { PrismaClient } from '@hub/store/product';
import {
  AUDIT_APPEND_SQL,
  AUDIT_MARKERS,
  auditHash,
  auditRedactor,
  entryText,
  auditTrail,
  jobActor,
  PiiReadLog,
  appendAudit,
  verifyAudit,
  type AuditActor,
} from '../src/audit.js';
import { classifyDocument } from '../src/classification.js';
import { encodeCursor } from '../src/pagination.js';
import { runHandler } from '../src/events/harness.js';
import { openJobTestStore, runJobOnce } from '../src/events/testing.js';
import { defineConsumer, defineJob, type EventEnvelope } from '../src/events/types.js';
import { REPO_ROOT } from '../src/process.js';
import { retentionJob, retentionPolicies } from '../src/retention.js';
import { OUTBOX_LOCK_CLASS, OUTBOX_LOCK_SQL } from '../src/sync/engine.js';
import { defineSync, type RowChange } from '../src/sync/types.js';
import { CUSTOMER_KEYS, definition, fixturePipeline, usageEventAt } from './sync/fixture.js';

const DAY_MS = 86_400_000;

/** The fixture plus a kind whose event writes two FeatureUsage rows (features `<feature>-1` and `-2`). */
const pairs = defineSync({
  ...definition,
  kinds: [
    ...definition.kinds,
    {
      name: 'usage_pair',
      sourceTimeField: 'at',
      sourceTime: (p: { at: string }) => new Date(p.at),
      map: (p: { customerId: string; feature: string; usageCount: number }): RowChange[] =>
        [1, 2].map((n) => ({
          model: 'FeatureUsage',
          key: { customerId: p.customerId, periodStart: new Date('2026-11-01'), feature: `${p.feature}-${n}` },
          fields: {
            periodEnd: new Date('2026-11-30'),
            category: 'CORE',
            usageCount: p.usageCount * n,
            adoptionScore: 0.5,
            successCorrelation: 0.5,
          },
        })),
      quality: { required: [], optional: [] },
    },
  ],
});
const INTEGRATION: AuditActor = { type: 'integration', id: 'salesforce-sync', role: 'integration' };
const at = usageEventAt('2026-11-20T10:00:00.000Z');
const later = usageEventAt('2026-11-20T11:00:00.000Z');

type Row = Record<string, unknown> & { position: string | number; changes: Record<string, unknown> };

/** The entry text as first written (JSON.stringify of the entry object, fields in this order): stored texts and hashes must not change. */
function referenceEntryText(e: Parameters<typeof entryText>[0]): string {
  const head = {
    action: e.action,
    actor: { type: e.actor.type, id: e.actor.id, role: e.actor.role },
    source: e.source ?? null,
    idempotencyKey: e.idempotencyKey ?? null,
    operation: e.operation ?? null,
    customerIds: e.customerIds,
  };
  if (e.rows !== undefined && e.rows.length > 0)
    return JSON.stringify({
      ...head,
      rows: e.rows.map((r) => ({
        action: r.action,
        model: r.model,
        rowId: r.rowId,
        rowKey: r.rowKey,
        changes: r.changes,
      })),
    });
  return JSON.stringify({
    ...head,
    model: e.model ?? null,
    rowId: e.rowId ?? null,
    rowKey: e.rowKey ?? null,
    changes: e.changes,
  });
}

describe('entryText', () => {
  it('writes exactly the text of the entry object, for one row, several rows and a bare entry', () => {
    const row = {
      action: 'create' as const,
      model: 'FeatureUsage',
      rowId: 'r-1',
      rowKey: { customerId: 'c"1\\', periodStart: new Date('2026-11-01'), feature: 'ünï\u2028' },
      changes: { periodEnd: [null, new Date('2026-11-30')], usageCount: [3, 4], tags: [null, ['a', { b: 1 }]] },
    };
    const entries = [
      { actor: INTEGRATION, source: 'crm', idempotencyKey: 'k-1', operation: 'record', customerIds: ['c1'], ...row },
      {
        action: 'update' as const,
        actor: INTEGRATION,
        customerIds: ['c1', 'c2'],
        changes: {},
        rows: [row, { ...row, rowId: 'r-2', action: 'update' as const }],
      },
      {
        action: 'update' as const,
        actor: { type: 'job' as const, id: 'retention/1', role: null },
        customerIds: [],
        changes: { n: 1 },
      },
      {
        action: 'pii_read' as const,
        actor: INTEGRATION,
        customerIds: ['c1'],
        changes: { fields: ['Contact.email'] },
        rows: [],
      },
    ];
    for (const entry of entries) expect(entryText(entry)).toBe(referenceEntryText(entry));
  });
});

describe('the audit migration', () => {
  it('takes the sync engine’s outbox lock before a stream head, as every writer of the store does', async () => {
    const sql = await readFile(
      path.join(REPO_ROOT, 'prisma/hub_sync/migrations/20261203000800_audit_trail/migration.sql'),
      'utf8',
    );
    // The text[] form (writers of the previous release, which locked the whole database's outbox key).
    expect(sql).toContain(`PERFORM pg_advisory_xact_lock(29402462946293108);`);
    expect(sql.indexOf('pg_advisory_xact_lock')).toBeLessThan(sql.indexOf('FOR UPDATE'));
    // The JSON form of the append (what AUDIT_APPEND_SQL calls) takes the engine's per-store lock, in that order.
    const json = await readFile(
      path.join(REPO_ROOT, 'prisma/hub_sync/migrations/20261204000100_audit_append_json/migration.sql'),
      'utf8',
    );
    expect(OUTBOX_LOCK_SQL).toBe(`SELECT pg_advisory_xact_lock(${OUTBOX_LOCK_CLASS}, hashtext(current_schema()))`);
    expect(json).toContain(`PERFORM pg_advisory_xact_lock(${OUTBOX_LOCK_CLASS}, hashtext(current_schema()));`);
    expect(json.indexOf('pg_advisory_xact_lock')).toBeLessThan(json.indexOf('FOR UPDATE'));
    expect(AUDIT_APPEND_SQL).toContain('$3::json');
    // The trigger's age is the retention policy's.
    const policy = retentionPolicies('product').find((p) => p.table === 'hub_audit');
    expect(sql).toContain(`interval '${policy?.keepDays} days'`);
  });
});

for (const kind of ['postgres', 'pglite'] as const) {
  describe(`the audit trail on a product store (${kind})`, () => {
    let handle: { store: Store<PrismaClient>; close(): Promise<void> };
    /** A stream's entries, their JSON flattened beside the columns. */
    const rows = async (tenant: string): Promise<Row[]> =>
      (
        await handle.store.sql.query<{
          position: string;
          at: Date;
          domain: string;
          customer_ids: string[];
          entry: string;
        }>(`SELECT * FROM "hub_audit" WHERE "tenant_id" = $1 ORDER BY "position"`, [tenant])
      ).map((r) => {
        const e = JSON.parse(r.entry) as Record<string, unknown> & { actor: Record<string, unknown> };
        return {
          position: r.position,
          at: r.at,
          domain: r.domain,
          action: e['action'],
          actor_type: e.actor['type'],
          actor_id: e.actor['id'],
          actor_role: e.actor['role'],
          source: e['source'],
          idempotency_key: e['idempotencyKey'],
          operation: e['operation'],
          customer_ids: r.customer_ids,
          entry_customers: e['customerIds'],
          model: e['model'],
          row_id: e['rowId'],
          row_key: e['rowKey'],
          changes: e['changes'] as Record<string, unknown>,
        };
      });

    beforeAll(async () => {
      handle = await openJobTestStore<PrismaClient>('product', PrismaClient, kind);
    }, 120_000);
    afterAll(async () => handle?.close());

    it('records a sync batch: one entry per changed event with who, source, key, kind and before/after', async () => {
      const pipeline = fixturePipeline(handle.store.client, 't1', { actor: INTEGRATION });
      const first = await pipeline.apply([
        at({ usageCount: 5 }, { idempotencyKey: 'k1', source: 'salesforce' }),
        at({ feature: 'api', usageCount: 2 }, { idempotencyKey: 'k2', source: 'salesforce' }),
      ]);
      expect(first.map((r) => r.outcome)).toEqual(['APPLIED', 'APPLIED']);
      // A change of one field, a repeat (DUPLICATE) and an older value (STALE): only the change is recorded.
      const second = await pipeline.apply([
        later({ usageCount: 9 }, { idempotencyKey: 'k3', source: 'salesforce' }),
        at({ usageCount: 5 }, { idempotencyKey: 'k1', source: 'salesforce' }),
        at({ feature: 'api', usageCount: 1 }, { idempotencyKey: 'k4', source: 'salesforce' }),
      ]);
      expect(second.map((r) => r.outcome)).toEqual(['APPLIED', 'DUPLICATE', 'STALE']);
      const trail = await rows('t1');
      expect(trail.map((r) => [Number(r.position), r.action, r.idempotency_key])).toEqual([
        [1, 'create', 'k1'],
        [2, 'create', 'k2'],
        [3, 'update', 'k3'],
      ]);
      expect(trail[0]).toMatchObject({
        domain: 'product',
        actor_type: 'integration',
        actor_id: 'salesforce-sync',
        actor_role: 'integration',
        source: 'salesforce',
        operation: 'usage',
        customer_ids: ['cust_a'],
        model: 'FeatureUsage',
        row_key: { customerId: 'cust_a', feature: 'email', periodStart: '2026-11-01T00:00:00.000Z' },
      });
      expect(trail[0]?.changes['usageCount']).toEqual([null, 5]);
      // The update names only what changed, with the stored value before.
      expect(trail[2]?.changes).toEqual({ usageCount: [5, 9] });
      expect(trail[2]?.row_id).toBe(trail[0]?.row_id);
      expect(trail.every((r) => r['at'] instanceof Date)).toBe(true);
    });

    it('records a consumer’s write as the consumer', async () => {
      const consumer = defineConsumer({
        name: 'product.audit-test',
        from: 'sales',
        types: ['sales.opportunity'],
        source: 'sales-signal',
        async handle({ event, sync }) {
          await sync.apply([
            at(
              { customerId: String(event.customerId), feature: 'from-sales', usageCount: 1 },
              { idempotencyKey: `consumer:${event.id}` },
            ),
          ]);
        },
      });
      const event = {
        id: '0190a000-0000-7000-8000-000000000001',
        type: 'sales.opportunity',
        tenantId: 't1',
        customerId: 'cust_b',
        domain: 'sales',
        source: 'crm',
        occurredAt: new Date().toISOString(),
        committedAt: new Date().toISOString(),
        schemaVersion: 1,
        cursor: '1',
        payload: {},
      } satisfies EventEnvelope;
      await runHandler(consumer, { client: handle.store.client, definition, customerKeys: CUSTOMER_KEYS }, event);
      const [entry] = (await rows('t1')).filter((r) => r.actor_type === 'consumer');
      expect(entry).toMatchObject({
        action: 'create',
        actor_id: 'product.audit-test',
        actor_role: null,
        source: 'sales-signal',
        idempotency_key: `consumer:${event.id}`,
        customer_ids: ['cust_b'],
      });
    });

    it('records a job’s write as the job and its run', async () => {
      const job = defineJob({
        name: 'audit-test-job',
        domain: 'product',
        schedule: null,
        description: 'writes one usage row',
        tenants: async () => ['t1'],
        async run(ctx) {
          await ctx
            .sync('t1')
            .apply([
              at({ customerId: 'cust_c', feature: 'from-job', usageCount: 3 }, { idempotencyKey: `job:${ctx.runId}` }),
            ]);
          return { processed: 1, failed: 0 };
        },
      });
      const run = await runJobOnce({
        store: handle.store as Store<unknown>,
        sync: definition,
        customerKeys: CUSTOMER_KEYS,
        job,
        tenantId: 't1',
      });
      expect(run.status).toBe('succeeded');
      const [entry] = (await rows('t1')).filter((r) => r.actor_type === 'job');
      expect(entry).toMatchObject({
        actor_id: `audit-test-job/${run.id}`,
        source: 'job:audit-test-job',
        customer_ids: ['cust_c'],
      });
    }, 90_000);

    it('pages a customer’s entries in chain order, within a time window', async () => {
      const page = await auditTrail(handle.store.sql, 't1', 'product', { customerId: 'cust_a', first: 2 });
      expect(page.edges.map((e) => [e.node.position, e.node.action])).toEqual([
        [1, 'create'],
        [2, 'create'],
      ]);
      expect(page.pageInfo.hasNextPage).toBe(true);
      const next = await auditTrail(handle.store.sql, 't1', 'product', {
        customerId: 'cust_a',
        first: 2,
        after: page.pageInfo.endCursor,
      });
      expect(next.edges.map((e) => e.node.position)).toEqual([3]);
      expect(next.edges[0]?.node.changes).toBe('{"usageCount":[5,9]}');
      expect(await next.totalCount).toBe(3);
      const future = await auditTrail(handle.store.sql, 't1', 'product', {
        customerId: 'cust_a',
        from: new Date(Date.now() + 60_000),
      });
      expect(future.edges).toEqual([]);
      // Another tenant's trail of the same customer id is its own (empty here).
      expect((await auditTrail(handle.store.sql, 't2', 'product', { customerId: 'cust_a' })).edges).toEqual([]);
    });

    it('records an event of several rows as one entry listing them; the trail shows one node per row', async () => {
      const pipeline = fixturePipeline(handle.store.client, 't9', { actor: INTEGRATION, definition: pairs });
      const pair = (usageCount: number, key: string, feature = 'pair') => ({
        kind: 'usage_pair',
        idempotencyKey: key,
        source: 'salesforce',
        // Each event later than the one before (a tie would keep the stored values: STALE).
        payload: {
          customerId: 'cust_p',
          feature,
          usageCount,
          at: new Date(Date.now() - 60_000 + usageCount).toISOString(),
        },
      });
      const results = await pipeline.apply([pair(1, 'p1'), pair(3, 'p2'), pair(7, 'p3', 'other')]);
      expect(results.map((r) => r.outcome)).toEqual(['APPLIED', 'APPLIED', 'APPLIED']);
      const stored = await handle.store.sql.query<{ position: string; customer_ids: string[]; entry: string }>(
        `SELECT "position", "customer_ids", "entry" FROM "hub_audit" WHERE "tenant_id" = 't9' ORDER BY "position"`,
      );
      // Three events, three entries (not six), each hashed and verified whole.
      expect(stored.map((r) => Number(r.position))).toEqual([1, 2, 3]);
      const second = JSON.parse(stored[1]?.entry ?? '{}') as Record<string, unknown>;
      expect(second).toMatchObject({
        action: 'update',
        actor: { type: 'integration', id: 'salesforce-sync' },
        source: 'salesforce',
        idempotencyKey: 'p2',
        operation: 'usage_pair',
        customerIds: ['cust_p'],
        rows: [
          { action: 'update', model: 'FeatureUsage', changes: { usageCount: [1, 3] } },
          { action: 'update', model: 'FeatureUsage', changes: { usageCount: [2, 6] } },
        ],
      });
      expect(second).not.toHaveProperty('model');
      expect((await verifyAudit(handle.store.sql, { tenantId: 't9' }))[0]).toMatchObject({ broken: null, entries: 3 });

      // One node per row, pages ending inside an entry, both orders, the same nodes either way.
      const walk = async (newestFirst: boolean) => {
        const seen: { id: string; position: number; action: string; feature: unknown; changes: string }[] = [];
        let after: string | null | undefined;
        for (let page = 0; page < 10; page++) {
          const got = await auditTrail(handle.store.sql, 't9', 'product', {
            customerId: 'cust_p',
            first: 2,
            after,
            newestFirst,
          });
          for (const { node } of got.edges)
            seen.push({
              id: node.id,
              position: node.position,
              action: node.action,
              feature: (JSON.parse(node.rowKey ?? '{}') as { feature?: unknown }).feature,
              changes: node.changes,
            });
          expect(await got.totalCount).toBe(6);
          if (!got.pageInfo.hasNextPage) break;
          after = got.pageInfo.endCursor;
        }
        return seen;
      };
      const oldest = await walk(false);
      expect(oldest.map((n) => [n.id, n.action, n.feature])).toEqual([
        ['product:1', 'create', 'pair-1'],
        ['product:1.2', 'create', 'pair-2'],
        ['product:2', 'update', 'pair-1'],
        ['product:2.2', 'update', 'pair-2'],
        ['product:3', 'create', 'other-1'],
        ['product:3.2', 'create', 'other-2'],
      ]);
      expect(oldest[3]?.changes).toBe('{"usageCount":[2,6]}');
      expect(await walk(true)).toEqual([...oldest].reverse());
      await expect(
        auditTrail(handle.store.sql, 't9', 'product', { customerId: 'cust_p', after: encodeCursor('2.1') }),
      ).rejects.toThrow(/not a cursor/);
    });

    it('pages a customer’s entries newest first on request (the console’s order)', async () => {
      const args = { customerId: 'cust_a', first: 2, newestFirst: true };
      const page = await auditTrail(handle.store.sql, 't1', 'product', args);
      expect(page.edges.map((e) => e.node.position)).toEqual([3, 2]);
      expect(page.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false });
      const next = await auditTrail(handle.store.sql, 't1', 'product', { ...args, after: page.pageInfo.endCursor });
      expect(next.edges.map((e) => [e.node.position, e.node.action])).toEqual([[1, 'create']]);
      expect(next.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: true });
      expect(await next.totalCount).toBe(3);
    });

    it('is append-only: UPDATE, DELETE and TRUNCATE are refused', async () => {
      const sql = handle.store.sql;
      await expect(sql.query(`UPDATE "hub_audit" SET "entry" = '{}'`)).rejects.toThrow(/append-only/);
      await expect(sql.query(`DELETE FROM "hub_audit" WHERE "tenant_id" = 't1'`)).rejects.toThrow(/append-only/);
      await expect(sql.query(`TRUNCATE "hub_audit"`)).rejects.toThrow(/append-only/);
      const [intact] = await verifyAudit(sql, { tenantId: 't1' });
      expect(intact).toMatchObject({ domain: 'product', broken: null, firstPosition: 1 });
      expect(intact?.entries).toBe((await rows('t1')).length);
    });

    it('verification finds an entry edited by SQL with the trigger disabled, at its position', async () => {
      const sql = handle.store.sql;
      await appendAudit(sql, 't3', 'product', [
        { action: 'update', actor: INTEGRATION, customerIds: ['c1'], changes: { arr: [1, 2] } },
        { action: 'update', actor: INTEGRATION, customerIds: ['c1'], changes: { arr: [2, 3] } },
        { action: 'update', actor: INTEGRATION, customerIds: ['c1'], changes: { arr: [3, 4] } },
      ]);
      expect((await verifyAudit(sql, { tenantId: 't3' }))[0]?.broken).toBeNull();
      const [stored] = await sql.query<{ hash: string }>(
        `SELECT "hash" FROM "hub_audit" WHERE "tenant_id" = 't3' AND "position" = 2`,
      );
      // What an attacker with the superuser's rights does: the trigger off, the value changed, the trigger on.
      await sql.query(`ALTER TABLE "hub_audit" DISABLE TRIGGER "hub_audit_append_only"`);
      await sql.query(
        `UPDATE "hub_audit" SET "entry" = replace("entry", '[2,3]', '[2,30]') WHERE "tenant_id" = 't3' AND "position" = 2`,
      );
      await sql.query(`ALTER TABLE "hub_audit" ENABLE TRIGGER "hub_audit_append_only"`);
      const [report] = await verifyAudit(sql, { tenantId: 't3' });
      expect(report?.broken).toMatchObject({ tenantId: 't3', domain: 'product', position: 2, kind: 'hash' });
      expect(report?.broken?.found).toBe(stored?.hash);
      expect(report?.broken?.expected).not.toBe(stored?.hash);

      // Recomputing the edited entry's own hash moves the break to the next link.
      await sql.query(`ALTER TABLE "hub_audit" DISABLE TRIGGER "hub_audit_append_only"`);
      await sql.query(
        `UPDATE "hub_audit" SET "hash" = "hub_audit_hash"("prev_hash", "tenant_id", "domain", "position", "at", "entry")
          WHERE "tenant_id" = 't3' AND "position" = 2`,
      );
      await sql.query(`ALTER TABLE "hub_audit" ENABLE TRIGGER "hub_audit_append_only"`);
      expect((await verifyAudit(sql, { tenantId: 't3' }))[0]?.broken).toMatchObject({ position: 3, kind: 'link' });
    });

    it('verification finds a removed entry and a removed tail', async () => {
      const sql = handle.store.sql;
      const entry = { action: 'update' as const, actor: INTEGRATION, customerIds: ['c1'], changes: {} };
      await appendAudit(sql, 't4', 'product', [entry, entry, entry, entry]);
      await sql.query(`ALTER TABLE "hub_audit" DISABLE TRIGGER USER`);
      await sql.query(`DELETE FROM "hub_audit" WHERE "tenant_id" = 't4' AND "position" = 2`);
      await sql.query(`ALTER TABLE "hub_audit" ENABLE TRIGGER USER`);
      expect((await verifyAudit(sql, { tenantId: 't4' }))[0]?.broken).toMatchObject({ position: 2, kind: 'gap' });

      await appendAudit(sql, 't5', 'product', [entry, entry, entry]);
      await sql.query(`ALTER TABLE "hub_audit" DISABLE TRIGGER USER`);
      await sql.query(`DELETE FROM "hub_audit" WHERE "tenant_id" = 't5' AND "position" = 3`);
      await sql.query(`ALTER TABLE "hub_audit" ENABLE TRIGGER USER`);
      expect((await verifyAudit(sql, { tenantId: 't5' }))[0]?.broken).toMatchObject({ position: 3, kind: 'head' });

      // The customer column auditTrail filters on must say what the hashed entry says.
      await appendAudit(sql, 't8', 'product', [entry, entry]);
      await sql.query(`ALTER TABLE "hub_audit" DISABLE TRIGGER USER`);
      await sql.query(`UPDATE "hub_audit" SET "customer_ids" = '{c2}' WHERE "tenant_id" = 't8' AND "position" = 2`);
      await sql.query(`ALTER TABLE "hub_audit" ENABLE TRIGGER USER`);
      expect((await verifyAudit(sql, { tenantId: 't8' }))[0]?.broken).toMatchObject({ position: 2, kind: 'customers' });
    });

    it('stores markers, never values, for fields classified PII or CONFIDENTIAL', async () => {
      const classification = classifyDocument(`
        directive @classification(level: String!, mask: String) on FIELD_DEFINITION | OBJECT | INPUT_OBJECT | INPUT_FIELD_DEFINITION
        type FeatureUsage @classification(level: "INTERNAL") {
          feature: String @classification(level: "CONFIDENTIAL")
          usageCount: Int
        }
        type Contact @classification(level: "INTERNAL") { email: String @classification(level: "PII", mask: "EMAIL") }
      `);
      const redact = auditRedactor(classification);
      expect(redact('FeatureUsage', 'usageCount', 3)).toBe(3);
      expect(redact('FeatureUsage', 'feature', 'secret-feature')).toBe(AUDIT_MARKERS.CONFIDENTIAL);
      // Unclassified for its model, but PII by name elsewhere in the hub: fail closed.
      expect(redact('AdoptionMetrics', 'email', 'ada@example.test')).toBe(AUDIT_MARKERS.PII);
      expect(redact('FeatureUsage', 'feature', null)).toBeNull();
      const pipeline = fixturePipeline(handle.store.client, 't6', { actor: INTEGRATION, redact });
      await pipeline.apply([at({ feature: 'secret-feature', usageCount: 4 })]);
      const [entry] = await rows('t6');
      expect(entry?.changes).toMatchObject({ usageCount: [null, 4] });
      expect(entry?.row_key).toMatchObject({ feature: '[CONFIDENTIAL]' });
      const [text] = await handle.store.sql.query<{ t: string }>(
        `SELECT string_agg(a::text, ' ') AS t FROM "hub_audit" a WHERE "tenant_id" = 't6'`,
      );
      expect(text?.t).not.toContain('secret-feature');
    });

    it('retention archives entries older than seven years as the chain’s oldest segment; the rest verifies', async () => {
      const sql = handle.store.sql;
      // Entries stamped 8 years ago can only be made by hand (appends stamp the time): chained the same way.
      let prev = '0'.repeat(64);
      const old = Date.now() - 8 * 365 * DAY_MS;
      for (let position = 1; position <= 3; position++) {
        const atMs = old + position * 1000;
        const entry = entryText({
          action: 'update',
          actor: INTEGRATION,
          customerIds: ['c1'],
          changes: { n: position },
        });
        const hash = auditHash(prev, 't7', 'product', position, atMs, entry);
        await sql.query(
          `INSERT INTO "hub_audit" ("tenant_id", "domain", "position", "at", "customer_ids", "entry", "prev_hash", "hash")
           VALUES ('t7', 'product', $1, $2, '{c1}', $3, $4, $5)`,
          [position, new Date(atMs), entry, prev, hash],
        );
        prev = hash;
      }
      await sql.query(
        `INSERT INTO "hub_audit_head" ("tenant_id", "domain", "position", "hash", "at") VALUES ('t7', 'product', 3, $1, $2)`,
        [prev, new Date(old + 3000)],
      );
      await appendAudit(sql, 't7', 'product', [
        { action: 'update', actor: INTEGRATION, customerIds: ['c1'], changes: {} },
      ]);
      expect((await verifyAudit(sql, { tenantId: 't7' }))[0]?.broken).toBeNull();
      // Younger entries stay undeletable.
      await expect(sql.query(`DELETE FROM "hub_audit" WHERE "tenant_id" = 't7' AND "position" = 4`)).rejects.toThrow(
        /append-only/,
      );
      const archiveDir = await mkdtemp(path.join(tmpdir(), 'hub-audit-archive-'));
      try {
        const run = await runJobOnce({
          store: handle.store as Store<unknown>,
          sync: definition,
          customerKeys: CUSTOMER_KEYS,
          job: retentionJob('product', { archiveDir }),
          tenantId: 't7',
        });
        expect(run.status).toBe('succeeded');
        expect((run.summary as { archived?: Record<string, number> } | null)?.archived).toMatchObject({ hub_audit: 3 });
        const files = await readdir(path.join(archiveDir, 'product', 'hub_audit', 't7'));
        const lines = (await readFile(path.join(archiveDir, 'product', 'hub_audit', 't7', files[0] ?? ''), 'utf8'))
          .trim()
          .split('\n');
        expect(lines.map((line) => Number((JSON.parse(line) as { position: unknown }).position))).toEqual([1, 2, 3]);
      } finally {
        await rm(archiveDir, { recursive: true, force: true });
      }
      const [report] = await verifyAudit(sql, { tenantId: 't7' });
      expect(report).toMatchObject({ broken: null, entries: 1, firstPosition: 4, lastPosition: 4 });
    }, 90_000);

    it('a PII read log makes one entry per request with the customers and fields', async () => {
      const log = new PiiReadLog();
      expect(log.entry(INTEGRATION, null)).toBeNull();
      log.add('c2', 'Contact.email');
      log.add('c1', 'Contact.email');
      log.add('c2', 'Contact.phone');
      const entry = log.entry({ type: 'user', id: 'u1', role: 'admin' }, 'Contacts');
      expect(entry).toMatchObject({
        action: 'pii_read',
        customerIds: ['c1', 'c2'],
        changes: { fields: ['Contact.email', 'Contact.phone'] },
      });
      expect(jobActor('x', 'r1')).toEqual({ type: 'job', id: 'x/r1', role: null });
    });
  });
}

describe('two writers on their own pools (PostgreSQL)', () => {
  let a: Store<PrismaClient>;
  let b: Store<PrismaClient>;
  let handle: { store: Store<PrismaClient>; close(): Promise<void> };
  beforeAll(async () => {
    handle = await openJobTestStore<PrismaClient>('product', PrismaClient, 'postgres');
    const open = () =>
      openStore<PrismaClient>({
        domain: 'product',
        config: handle.store.config,
        PrismaClient,
        migrationsDir: migrationsDirFor('product'),
      });
    [a, b] = await Promise.all([open(), open()]);
  }, 120_000);
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await handle?.close();
  });

  it('chain one after another: positions contiguous, every link valid', async () => {
    const writer = (store: Store<PrismaClient>, name: string) => async () => {
      const pipeline = fixturePipeline(store.client, 't1', { actor: { type: 'integration', id: name, role: null } });
      for (let round = 0; round < 10; round++)
        await pipeline.apply(
          Array.from({ length: 20 }, (_, i) =>
            at({ customerId: `cust_${name}`, feature: `f${round}_${i}`, usageCount: i }, { source: name }),
          ),
        );
    };
    await Promise.all([writer(a, 'a')(), writer(b, 'b')(), writer(a, 'c')(), writer(b, 'd')()]);
    const [report] = await verifyAudit(handle.store.sql, { tenantId: 't1' });
    expect(report).toMatchObject({ broken: null, entries: 800, firstPosition: 1, lastPosition: 800 });
    // The writers interleaved (the test would prove nothing if they had run one after the other).
    const order = await handle.store.sql.query<{ actor_id: string }>(
      `SELECT "entry"::jsonb #>> '{actor,id}' AS actor_id FROM "hub_audit" WHERE "tenant_id" = 't1' ORDER BY "position"`,
    );
    const switches = order.filter((row, i) => i > 0 && row.actor_id !== order[i - 1]?.actor_id).length;
    expect(switches).toBeGreaterThan(3);
  }, 120_000);
});
