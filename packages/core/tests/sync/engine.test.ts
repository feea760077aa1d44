import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditActor } from '../../src/audit.js';
import { createSyncPipeline, type SyncPipelineOptions } from '../../src/sync/engine.js';
import { KEY_LOCK_BUCKETS, LOCK_BUCKETS } from '../../src/sync/ids.js';
import { defineSync, type RowChange, type SyncEvent } from '../../src/sync/types.js';
import { fixturePipeline, usageEventAt } from './fixture.js';
import { openTestStore, STORE_KINDS, useTestStore, type TestStore } from './stores.js';

const TEST_ACTOR: AuditActor = { type: 'user', id: 'u1', role: 'admin' };
const KNOWN = new Set(['cust_a', 'cust_b', 'cust_c']);
const T0 = Date.parse('2026-11-20T10:00:00.000Z');
const at = (hours: number) => new Date(T0 + hours * 3_600_000).toISOString();

let tenantCounter = 0;

describe.each(STORE_KINDS)('sync engine on %s', (kind) => {
  const store = useTestStore(kind);

  /** A pipeline for a fresh tenant (tests do not see each other's rows), with a counting verifier. */
  function pipeline(overrides: Partial<SyncPipelineOptions> = {}) {
    const tenantId = `t${++tenantCounter}_${kind}`;
    const calls: string[][] = [];
    const sync = fixturePipeline(store.client, tenantId, {
      verifyCustomers: async (ids) => {
        calls.push([...ids]);
        return new Set(ids.filter((id) => KNOWN.has(id)));
      },
      now: () => new Date(T0 + 3_600_000 * 24),
      ...overrides,
    });
    const count = async (table: string) =>
      (
        await store.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM "${table}" WHERE "${table.startsWith('hub_') ? 'tenant_id' : 'tenantId'}" = $1`,
          tenantId,
        )
      )[0]?.n;
    const usage = (customerId: string, feature = 'email') =>
      store.query<{ usageCount: number; adoptionScore: number; sourceSystem: string | null }>(
        `SELECT "usageCount", "adoptionScore", "sourceSystem" FROM "FeatureUsage" WHERE "tenantId" = $1 AND "customerId" = $2 AND feature = $3`,
        tenantId,
        customerId,
        feature,
      );
    return { sync, tenantId, calls, count, usage };
  }

  const usageEvent = usageEventAt(at(0));

  it('applies a new event once: a repeat (in the batch and later) is DUPLICATE with the first outcome', async () => {
    const { sync, count, usage } = pipeline();
    const event = usageEvent({}, { idempotencyKey: 'k1', source: 'crm' });
    const [first, again] = await sync.apply([event, event]);
    expect(first).toMatchObject({ outcome: 'APPLIED', idempotencyKey: 'k1', index: 0 });
    expect(again).toMatchObject({ outcome: 'DUPLICATE', firstOutcome: 'APPLIED', index: 1 });
    const [later] = await sync.apply([{ ...event, payload: { ...event.payload, usageCount: 99 } }]);
    expect(later).toMatchObject({ outcome: 'DUPLICATE', firstOutcome: 'APPLIED' });
    expect(later?.rows).toEqual(first?.rows);
    expect(await usage('cust_a')).toEqual([{ usageCount: 5, adoptionScore: 0.5, sourceSystem: 'crm' }]);
    expect(await count('hub_sync_outbox')).toBe(1);
    expect(await count('hub_sync_idempotency')).toBe(1);
    expect(await count('hub_sync_quality')).toBe(1);
  });

  it('derives the same key for the same payload whatever its key order', async () => {
    const { sync } = pipeline();
    const payload = { customerId: 'cust_a', period: '2026-11-01', feature: 'email', usageCount: 5, at: at(0) };
    const reordered = Object.fromEntries(Object.entries(payload).reverse());
    const [a, b] = await sync.apply([
      { kind: 'usage', payload },
      { kind: 'usage', payload: reordered },
    ]);
    expect(a?.idempotencyKey).toMatch(/^[0-9a-f]{64}$/);
    expect(b).toMatchObject({ outcome: 'DUPLICATE', idempotencyKey: a?.idempotencyKey });
  });

  it('decides field by field: later source wins, older is STALE, a tie keeps the stored value', async () => {
    const { sync, usage, count } = pipeline();
    await sync.apply([usageEvent({ usageCount: 5, at: at(0) }, { source: 'crm' })]);
    const [newer] = await sync.apply([usageEvent({ usageCount: 7, at: at(2) }, { source: 'erp' })]);
    expect(newer).toMatchObject({ outcome: 'APPLIED' });
    expect(newer?.conflicts).toEqual([
      expect.objectContaining({ field: 'usageCount', rule: 'LATEST_SOURCE_TIME', winner: 'INCOMING' }),
    ]);
    const [older] = await sync.apply([usageEvent({ usageCount: 6, at: at(1) }, { source: 'crm' })]);
    expect(older).toMatchObject({ outcome: 'STALE' });
    expect(older?.conflicts).toEqual([
      expect.objectContaining({ field: 'usageCount', rule: 'LATEST_SOURCE_TIME', winner: 'STORED' }),
    ]);
    const [tie] = await sync.apply([usageEvent({ usageCount: 8, at: at(2) }, { source: 'crm' })]);
    expect(tie).toMatchObject({ outcome: 'STALE' });
    expect(tie?.conflicts).toEqual([expect.objectContaining({ rule: 'TIE_KEEPS_STORED', winner: 'STORED' })]);
    // Same source, newer time: an ordinary update, no conflict.
    const [update] = await sync.apply([usageEvent({ usageCount: 9, at: at(3) }, { source: 'erp' })]);
    expect(update).toMatchObject({ outcome: 'APPLIED', conflicts: [] });
    expect(await usage('cust_a')).toEqual([{ usageCount: 9, adoptionScore: 0.5, sourceSystem: 'erp' }]);
    expect(await count('hub_sync_conflict')).toBe(3);
    // STALE changed nothing: only APPLIED events left an outbox event.
    expect(await count('hub_sync_outbox')).toBe(3);
  });

  it('lets the system of record win its field whatever the time, merging the others', async () => {
    const { sync, usage } = pipeline();
    await sync.apply([usageEvent({ usageCount: 50, adoptionScore: 0.1, at: at(5) }, { source: 'crm' })]);
    // The owner of usageCount wins with an older time; adoptionScore follows the time rule.
    const [owner] = await sync.apply([
      usageEvent({ usageCount: 6, adoptionScore: 0.2, at: at(1) }, { source: 'analytics' }),
    ]);
    expect(owner).toMatchObject({ outcome: 'MERGED' });
    expect(owner?.conflicts).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ field: 'usageCount', rule: 'SYSTEM_OF_RECORD', winner: 'INCOMING' }),
        expect.objectContaining({ field: 'adoptionScore', rule: 'LATEST_SOURCE_TIME', winner: 'STORED' }),
      ]),
    );
    expect((await usage('cust_a'))[0]).toMatchObject({ usageCount: 6, adoptionScore: 0.1 });
    // A later non-owner keeps losing that field, and wins the others.
    const [later] = await sync.apply([
      usageEvent({ usageCount: 70, adoptionScore: 0.9, at: at(9) }, { source: 'crm' }),
    ]);
    expect(later).toMatchObject({ outcome: 'MERGED' });
    // adoptionScore: same source, newer time, an ordinary update (no conflict).
    expect(later?.conflicts).toEqual([
      expect.objectContaining({ field: 'usageCount', rule: 'SYSTEM_OF_RECORD', winner: 'STORED' }),
    ]);
    expect((await usage('cust_a'))[0]).toMatchObject({ usageCount: 6, adoptionScore: 0.9 });
  });

  // A row whose fields all carry its own sourceSystem/sourceUpdatedAt has no row-source record; the
  // first change of some of its fields records every field, the others keeping the provenance they had.
  it.each([
    ['three batches', [1, 1, 1]],
    ['the create, then both changes in one batch', [1, 2]],
    ['one batch', [3]],
  ])('row sources survive the record being written only where needed: %s', async (_, grouping) => {
    const { sync, usage, count } = pipeline();
    const events = [
      usageEvent({ usageCount: 5, adoptionScore: 0.5, at: at(0) }, { source: 'crm' }),
      // Only usageCount, from another source, later: the row's provenance moves to erp at(2).
      { ...usageEvent({ usageCount: 7, at: at(2) }, { source: 'erp' }), kind: 'usage_update' },
      // adoptionScore still has crm at(0): crm at(1) wins it; usageCount (erp at(2)) is kept.
      usageEvent({ usageCount: 6, adoptionScore: 0.9, at: at(1) }, { source: 'crm' }),
    ];
    const outcomes: string[] = [];
    let next = 0;
    for (const size of grouping) {
      for (const r of await sync.apply(events.slice(next, next + size))) outcomes.push(r.outcome);
      if (next === 0) expect(await count('hub_sync_row_source')).toBe(size === 1 ? 0 : 1);
      next += size;
    }
    expect(outcomes).toEqual(['APPLIED', 'APPLIED', 'MERGED']);
    expect((await usage('cust_a'))[0]).toMatchObject({ usageCount: 7, adoptionScore: 0.9, sourceSystem: 'erp' });
    expect(await count('hub_sync_row_source')).toBe(1);
  });

  it('decides events on the same row in batch order', async () => {
    const { sync, usage } = pipeline();
    const results = await sync.apply([
      usageEvent({ usageCount: 1, at: at(1) }, { source: 'a' }),
      usageEvent({ usageCount: 3, at: at(3) }, { source: 'b' }),
      usageEvent({ usageCount: 2, at: at(2) }, { source: 'a' }),
    ]);
    expect(results.map((r) => r.outcome)).toEqual(['APPLIED', 'APPLIED', 'STALE']);
    expect((await usage('cust_a'))[0]).toMatchObject({ usageCount: 3, sourceSystem: 'b' });
  });

  it('rejects invalid events with the field, dead-letters them and goes on with the rest', async () => {
    const { sync, count, usage } = pipeline();
    const results = await sync.apply([
      usageEvent({ adoptionScore: 1.5 }, { line: 1 }),
      usageEvent({ feature: 'ok' }, { line: 2 }),
      usageEvent({ at: new Date(T0 + 3_600_000 * 25).toISOString() }, { line: 3 }),
      { kind: 'nope', payload: {}, line: 4 },
    ]);
    expect(results.map((r) => [r.outcome, r.code, r.field, r.line])).toEqual([
      ['REJECTED', 'BAD_USER_INPUT', 'adoptionScore', 1],
      ['APPLIED', null, null, 2],
      ['REJECTED', 'BAD_USER_INPUT', 'at', 3],
      ['REJECTED', 'BAD_USER_INPUT', 'kind', 4],
    ]);
    expect(results[0]?.deadLetterId).toMatch(/^[0-9a-f-]{36}$/);
    expect(await usage('cust_a', 'ok')).toHaveLength(1);
    expect(await count('hub_sync_dead_letter')).toBe(3);
    // Re-sending a bad event refreshes its waiting letter instead of adding one.
    const [again] = await sync.apply([usageEvent({ adoptionScore: 1.5 }, { line: 9 })]);
    expect(again?.deadLetterId).toBe(results[0]?.deadLetterId);
    expect(await count('hub_sync_dead_letter')).toBe(3);
    // Rejected events hold no idempotency key: the fixed event can use it.
    expect(await count('hub_sync_idempotency')).toBe(1);
  });

  it('checks customer ids once per batch; unknown ones are NOT_FOUND and dead-lettered', async () => {
    const { sync, calls, count } = pipeline();
    const events = ['cust_a', 'cust_b', 'cust_x', 'cust_a', 'cust_c'].map((customerId, i) =>
      usageEvent({ customerId, feature: `f${i}` }),
    );
    const results = await sync.apply(events);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.sort()).toEqual(['cust_a', 'cust_b', 'cust_c', 'cust_x']);
    expect(results.map((r) => r.outcome)).toEqual(['APPLIED', 'APPLIED', 'REJECTED', 'APPLIED', 'APPLIED']);
    expect(results[2]).toMatchObject({ code: 'NOT_FOUND' });
    expect(await count('hub_sync_dead_letter')).toBe(1);
  });

  it('confines a customer-scoped viewer to its customers: FORBIDDEN, not dead-lettered', async () => {
    const tenantId = `t${++tenantCounter}_${kind}`;
    const sync = fixturePipeline(store.client, tenantId, {
      scope: { tenantId, customerIds: ['cust_a'] },
      customerKeys: { FeatureUsage: 'customerId', AdoptionMetrics: null },
      defaultSource: 'cs_manager:u2',
    });
    const results = await sync.apply([
      usageEvent({ customerId: 'cust_a' }),
      usageEvent({ customerId: 'cust_b' }),
      { kind: 'adoption', payload: { customerId: 'cust_a', period: '2026-11-01', rate: 0.5, at: at(0) } },
    ]);
    expect(results.map((r) => [r.outcome, r.code, r.deadLetterId])).toEqual([
      ['APPLIED', null, null],
      ['REJECTED', 'FORBIDDEN', null],
      ['REJECTED', 'FORBIDDEN', null],
    ]);
    const letters = await store.query(`SELECT 1 FROM hub_sync_dead_letter WHERE tenant_id = $1`, tenantId);
    expect(letters).toHaveLength(0);
    // No tenant at all: nothing runs.
    const none = fixturePipeline(store.client, null, { defaultSource: 'x' });
    expect((await none.apply([usageEvent({})]))[0]).toMatchObject({ outcome: 'REJECTED', code: 'FORBIDDEN' });
  });

  it('update mode needs the row (NOT_FOUND), insert mode refuses an existing one (CONFLICT); both free their key', async () => {
    const { sync, usage } = pipeline();
    const update = {
      kind: 'usage_update',
      payload: { customerId: 'cust_a', period: '2026-11-01', feature: 'email', usageCount: 3, at: at(0) },
      idempotencyKey: 'u1',
    };
    expect((await sync.apply([update]))[0]).toMatchObject({ outcome: 'REJECTED', code: 'NOT_FOUND' });
    const insert = { ...update, kind: 'usage_insert', idempotencyKey: 'i1' };
    expect((await sync.apply([insert]))[0]).toMatchObject({ outcome: 'APPLIED' });
    expect((await sync.apply([{ ...insert, idempotencyKey: 'i2' }]))[0]).toMatchObject({
      outcome: 'REJECTED',
      code: 'CONFLICT',
    });
    await expect(sync.applyOne({ ...insert, idempotencyKey: 'i3' })).rejects.toMatchObject({
      extensions: { code: 'CONFLICT' },
    });
    // The refused update's key was released: the same key applies now that the row exists.
    expect((await sync.apply([{ ...update, payload: { ...update.payload, at: at(1) } }]))[0]).toMatchObject({
      outcome: 'APPLIED',
    });
    expect((await usage('cust_a'))[0]).toMatchObject({ usageCount: 3 });
  });

  it('applyOne throws the coded error of a rejected event', async () => {
    const { sync } = pipeline();
    await expect(sync.applyOne(usageEvent({ usageCount: -1 }))).rejects.toMatchObject({
      extensions: { code: 'BAD_USER_INPUT', field: 'usageCount' },
    });
    await expect(sync.applyOne(usageEvent({ customerId: 'cust_zz' }))).rejects.toMatchObject({
      extensions: { code: 'NOT_FOUND' },
    });
  });

  it.each(['claimed', 'locked', 'rows-written', 'bookkeeping-written'] as const)(
    'a failure after %s rolls the whole batch back; the retry applies it',
    async (step) => {
      const { sync, tenantId, count } = pipeline({
        hooks: {
          afterStep(at) {
            if (at === step) throw new Error(`injected after ${step}`);
          },
        },
      });
      const events = [
        usageEvent({ feature: 'a' }),
        usageEvent({ feature: 'b', adoptionScore: 7 }),
        usageEvent({ feature: 'c' }),
      ];
      await expect(sync.apply(events)).rejects.toThrow(`injected after ${step}`);
      for (const table of [
        'FeatureUsage',
        'hub_sync_idempotency',
        'hub_sync_row_source',
        'hub_sync_quality',
        'hub_sync_outbox',
        'hub_sync_dead_letter',
      ])
        expect(await count(table), table).toBe(0);
      const retry = fixturePipeline(store.client, tenantId);
      expect((await retry.apply(events)).map((r) => r.outcome)).toEqual(['APPLIED', 'REJECTED', 'APPLIED']);
      expect(await count('FeatureUsage')).toBe(2);
    },
  );

  it('a failure after commit (answer lost) is answered DUPLICATE on retry, nothing applied twice', async () => {
    const { sync, tenantId, count } = pipeline({
      hooks: {
        afterStep(step) {
          if (step === 'committed') throw new Error('lost answer');
        },
      },
    });
    const events = [usageEvent({ feature: 'a' }, { idempotencyKey: 'x1' })];
    await expect(sync.apply(events)).rejects.toThrow('lost answer');
    const retry = fixturePipeline(store.client, tenantId);
    expect((await retry.apply(events))[0]).toMatchObject({ outcome: 'DUPLICATE', firstOutcome: 'APPLIED' });
    expect(await count('hub_sync_outbox')).toBe(1);
  });

  it('serialises concurrent batches on the same rows: the latest source time wins, each key applies once', async () => {
    const { sync, tenantId, count } = pipeline();
    const other = fixturePipeline(store.client, tenantId);
    // 120 events over 6 rows with distinct times, split across two callers in opposite orders;
    // 40 keys are sent by both.
    const events = Array.from({ length: 120 }, (_, i) =>
      usageEvent(
        { feature: `f${i % 6}`, usageCount: i, at: at(i / 10) },
        { idempotencyKey: `c${i}`, source: `s${i % 3}` },
      ),
    );
    const a = events.filter((_, i) => i % 2 === 0 || i < 40);
    const b = events.filter((_, i) => i % 2 === 1 || i < 40).reverse();
    const [ra, rb] = await Promise.all([sync.apply(a), other.apply(b)]);
    const all = [...ra, ...rb];
    expect(all.filter((r) => r.outcome === 'DUPLICATE')).toHaveLength(40);
    const rows = await store.query<{ feature: string; usageCount: number }>(
      `SELECT feature, "usageCount" FROM "FeatureUsage" WHERE "tenantId" = $1 ORDER BY feature`,
      tenantId,
    );
    expect(rows).toEqual([0, 1, 2, 3, 4, 5].map((f) => ({ feature: `f${f}`, usageCount: 114 + f })));
    expect(await count('hub_sync_idempotency')).toBe(120);
  });

  // Postgres only: PGlite has a single connection, so nothing can look at an open transaction's locks.
  it.runIf(kind === 'postgres')(
    'holds at most 64 row locks per model and 16 key locks for a batch of 1,000 rows',
    async () => {
      let locks = -1;
      const { sync, count } = pipeline({
        hooks: {
          async afterStep(step) {
            if (step !== 'locked') return;
            // Another connection sees the open transaction's advisory locks.
            const rows = await store.query<{ n: number }>(
              // This database's only: other test files' relays hold session locks in theirs.
              `SELECT count(*)::int AS n FROM pg_locks
                WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
            );
            locks = rows[0]?.n ?? -1;
          },
        },
      });
      const events = Array.from({ length: 1000 }, (_, i) => usageEvent({ feature: `f${i}` }));
      expect((await sync.apply(events)).every((r) => r.outcome === 'APPLIED')).toBe(true);
      expect(locks).toBeGreaterThan(0);
      // One model (FeatureUsage): its 64 row buckets, plus the idempotency keys' 16 (ids.ts).
      expect(locks).toBeLessThanOrEqual(LOCK_BUCKETS + KEY_LOCK_BUCKETS);
      expect(locks).toBeGreaterThan(LOCK_BUCKETS);
      expect(await count('FeatureUsage')).toBe(1000);
    },
  );

  // apply() stages batch n+1 (map, validation, customer check) while batch n commits: a long call must
  // still equal its batches applied one call after another, whatever repeats and refusals it holds.
  it.each([
    { events: 2500, repeatEvery: 7, unknownEvery: 0 },
    { events: 2100, repeatEvery: 0, unknownEvery: 97 },
    { events: 3001, repeatEvery: 13, unknownEvery: 211 },
  ])(
    'a call of $events events (key repeated every $repeatEvery, unknown customer every $unknownEvery) ends as its 1,000-event slices applied in turn',
    async ({ events: n, repeatEvery, unknownEvery }) => {
      const rows = 1200;
      const make = (i: number): SyncEvent =>
        usageEvent(
          {
            feature: `f${i % rows}`,
            usageCount: i,
            // Later events of a row are newer or older by turns: APPLIED, MERGED or STALE by source time.
            at: at(i % 3 === 0 ? -(i / 1000) : i / 1000),
            customerId: unknownEvery > 0 && i % unknownEvery === 0 ? 'cust_unknown' : 'cust_b',
          },
          // A repeated key names an event of an earlier batch (or of the same one).
          { idempotencyKey: repeatEvery > 0 && i % repeatEvery === 0 && i > 900 ? `k${i - 900}` : `k${i}` },
        );
      const events = Array.from({ length: n }, (_, i) => make(i));
      const whole = pipeline();
      const sliced = pipeline();
      const together = await whole.sync.apply(events);
      const inTurn: Awaited<ReturnType<typeof whole.sync.apply>> = [];
      for (let start = 0; start < n; start += 1000) {
        const part = await sliced.sync.apply(events.slice(start, start + 1000));
        inTurn.push(...part.map((r) => ({ ...r, index: r.index + start })));
      }
      const summary = (list: typeof together) =>
        list.map((r) => [r.index, r.idempotencyKey, r.outcome, r.firstOutcome, r.code, r.conflicts.length]);
      expect(summary(together)).toEqual(summary(inTurn));
      expect(new Set(together.map((r) => r.outcome)).size).toBeGreaterThan(1);
      // The same customer checks (a batch asks only for ids no earlier batch confirmed).
      expect(whole.calls).toEqual(sliced.calls);
      const stored = (tenantId: string) =>
        store.query<{ feature: string; usageCount: number }>(
          `SELECT feature, "usageCount" FROM "FeatureUsage" WHERE "tenantId" = $1 ORDER BY feature`,
          tenantId,
        );
      expect(await stored(whole.tenantId)).toEqual(await stored(sliced.tenantId));
      for (const table of ['hub_sync_idempotency', 'hub_sync_outbox', 'hub_sync_quality', 'hub_sync_conflict'])
        expect(await whole.count(table)).toBe(await sliced.count(table));
    },
  );

  it.each(['claimed', 'rows-written', 'bookkeeping-written'] as const)(
    'a failure at %s of the second batch of a call keeps the first batch and leaves nothing of the others',
    async (failAt) => {
      let batches = 0;
      const { sync, count } = pipeline({
        hooks: {
          afterStep(step) {
            if (step === 'claimed') batches++;
            if (step === failAt && batches === 2) throw new Error('injected');
          },
        },
      });
      const events = Array.from({ length: 2500 }, (_, i) =>
        usageEvent({ feature: `f${i}` }, { idempotencyKey: `k${i}` }),
      );
      await expect(sync.apply(events)).rejects.toThrow('injected');
      expect(await count('FeatureUsage')).toBe(1000);
      expect(await count('hub_sync_idempotency')).toBe(1000);
      expect(await count('hub_sync_outbox')).toBe(1000);
      // The call is retried as a whole: the first batch answers DUPLICATE, the rest is applied once.
      const again = await sync.apply(events);
      expect(again.filter((r) => r.outcome === 'DUPLICATE')).toHaveLength(1000);
      expect(again.filter((r) => r.outcome === 'APPLIED')).toHaveLength(1500);
      expect(await count('FeatureUsage')).toBe(2500);
      expect(await count('hub_sync_outbox')).toBe(2500);
    },
  );

  it('refuses a scoped viewer a row stored for another customer, even when it names its own', async () => {
    // A model whose natural key does not hold the customer (like a ticket's external id).
    await store.query(
      `CREATE TABLE IF NOT EXISTS "SyncTestTicket" ("id" text PRIMARY KEY, "tenantId" text NOT NULL, "externalId" text NOT NULL,
         "customerId" text NOT NULL, "subject" text NOT NULL, UNIQUE ("tenantId", "externalId"))`,
    );
    const tickets = defineSync({
      domain: 'product',
      models: { SyncTestTicket: { key: ['externalId'] } },
      kinds: [
        {
          name: 'ticket',
          sourceTime: (p: { at: string }) => new Date(p.at),
          map: (p: { externalId: string; customerId: string; subject: string }): RowChange[] => [
            {
              model: 'SyncTestTicket',
              key: { externalId: p.externalId },
              fields: { customerId: p.customerId, subject: p.subject },
            },
          ],
          quality: { required: [], optional: [] },
        },
      ],
    });
    const tenantId = `t${++tenantCounter}_${kind}`;
    const make = (customerIds: string[] | null) =>
      createSyncPipeline({
        claimableSources: 'all',
        actor: TEST_ACTOR,
        definition: tickets,
        client: store.client,
        scope: { tenantId, customerIds },
        customerKeys: { SyncTestTicket: 'customerId' },
        defaultSource: 'x',
      });
    const ticket = (customerId: string, subject: string, hours: number) => ({
      kind: 'ticket',
      payload: { externalId: 'T-1', customerId, subject, at: at(hours) },
    });
    expect((await make(null).apply([ticket('cust_b', 'theirs', 0)]))[0]?.outcome).toBe('APPLIED');
    const scoped = make(['cust_a']);
    expect((await scoped.apply([ticket('cust_a', 'mine now', 1)]))[0]).toMatchObject({
      outcome: 'REJECTED',
      code: 'FORBIDDEN',
    });
    const rows = await store.query(
      `SELECT "customerId", subject FROM "SyncTestTicket" WHERE "tenantId" = $1`,
      tenantId,
    );
    expect(rows).toEqual([{ customerId: 'cust_b', subject: 'theirs' }]);
    // Its own customer's rows it may write.
    expect(
      (
        await scoped.apply([
          { ...ticket('cust_a', 'new', 1), payload: { ...ticket('cust_a', 'new', 1).payload, externalId: 'T-2' } },
        ])
      )[0]?.outcome,
    ).toBe('APPLIED');
  });
});

/**
 * Rows the database refuses, on tables made for the test: an account (natural key `code`, a
 * second unique key `email`, a check on `seats`) and its seats (a foreign key to the account).
 * The kind maps the child row before its parent, so only the declaration's model order writes it.
 */
describe.each(STORE_KINDS)('sync engine and the store’s constraints on %s', (kind) => {
  let store: TestStore;
  beforeAll(async () => {
    store = await openTestStore(kind);
    await store.query(
      `CREATE TABLE "SyncTestAccount" ("id" text PRIMARY KEY, "tenantId" text NOT NULL, "code" text NOT NULL,
         "email" text, "seats" int NOT NULL CHECK ("seats" >= 0), "createdAt" timestamptz, "updatedAt" timestamptz,
         UNIQUE ("tenantId", "code"), UNIQUE ("tenantId", "email"))`,
    );
    await store.query(
      `CREATE TABLE "SyncTestSeat" ("id" text PRIMARY KEY, "tenantId" text NOT NULL, "accountCode" text NOT NULL,
         "name" text NOT NULL, UNIQUE ("tenantId", "accountCode", "name"),
         FOREIGN KEY ("tenantId", "accountCode") REFERENCES "SyncTestAccount" ("tenantId", "code"))`,
    );
  });
  afterAll(async () => {
    await store?.close();
  });

  interface Account {
    code: string;
    email: string;
    seats: number;
    /** The account the owner seat belongs to (default: its own). */
    seatFor?: string;
    at: string;
  }
  const accounts = defineSync({
    domain: 'product',
    models: { SyncTestAccount: { key: ['code'] }, SyncTestSeat: { key: ['accountCode', 'name'] } },
    kinds: [
      {
        name: 'account',
        sourceTime: (p: Account) => new Date(p.at),
        map: (p: Account): RowChange[] => [
          { model: 'SyncTestSeat', key: { accountCode: p.seatFor ?? p.code, name: `owner of ${p.code}` }, fields: {} },
          { model: 'SyncTestAccount', key: { code: p.code }, fields: { email: p.email, seats: p.seats } },
        ],
        quality: { required: [], optional: [] },
      },
    ],
  });
  let tenantCounter = 0;
  function pipeline(overrides: Partial<SyncPipelineOptions> = {}) {
    const tenantId = `c${++tenantCounter}_${kind}`;
    const sync = createSyncPipeline({
      claimableSources: 'all',
      actor: TEST_ACTOR,
      definition: accounts,
      client: store.client,
      scope: { tenantId, customerIds: null },
      customerKeys: { SyncTestAccount: null, SyncTestSeat: null },
      defaultSource: 'admin:u1',
      ...overrides,
    });
    const count = async (table: string) =>
      (
        await store.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM "${table}" WHERE "${table.startsWith('hub_') ? 'tenant_id' : 'tenantId'}" = $1`,
          tenantId,
        )
      )[0]?.n;
    return { sync, tenantId, count };
  }
  const account = (i: number, extra: Partial<Account> = {}): SyncEvent => ({
    kind: 'account',
    idempotencyKey: `acc-${i}`,
    payload: { code: `A${i}`, email: `a${i}@example.com`, seats: i, at: at(0), ...extra },
  });
  type Fault = 'unique' | 'unique-stored' | 'foreign' | 'check';
  const faulty = (i: number, fault: Fault): SyncEvent =>
    fault === 'unique'
      ? account(i, { email: 'a0@example.com' })
      : fault === 'unique-stored'
        ? account(i, { email: 'stored@example.com' })
        : fault === 'foreign'
          ? account(i, { seatFor: 'NO-SUCH-ACCOUNT' })
          : account(i, { seats: -1 });
  const expected: Record<Fault, { code: string; field: string | null }> = {
    unique: { code: 'CONFLICT', field: 'email' },
    'unique-stored': { code: 'CONFLICT', field: 'email' },
    foreign: { code: 'BAD_USER_INPUT', field: 'accountCode' },
    check: { code: 'BAD_USER_INPUT', field: null },
  };

  it('writes the models in declaration order: parents before children, whatever order map gives', async () => {
    const { sync, count } = pipeline();
    const results = await sync.apply(Array.from({ length: 5 }, (_, i) => account(i)));
    expect(results.map((r) => r.outcome)).toEqual(Array(5).fill('APPLIED'));
    expect(await count('SyncTestAccount')).toBe(5);
    expect(await count('SyncTestSeat')).toBe(5);
  });

  // Batch sizes x positions of the events at fault x the kind of fault; event 0 is always valid
  // (its email is the one the 'unique' fault repeats).
  const cases: [number, number[], Fault[]][] = [
    [2, [1], ['unique']],
    [3, [2], ['foreign']],
    [8, [1, 7], ['check', 'unique-stored']],
    [9, [3, 4, 5], ['unique', 'foreign', 'check']],
    [64, [1, 31, 32, 63], ['unique-stored', 'check', 'foreign', 'unique']],
    [200, [17, 100, 101, 150, 199], ['foreign', 'unique', 'unique', 'check', 'unique-stored']],
  ];
  it.each(cases)(
    'a batch of %i with constraint failures at %j: only those are REJECTED, the rest applied once',
    async (size, positions, faults) => {
      const { sync, tenantId, count } = pipeline();
      // A stored account owns the email the 'unique-stored' fault repeats.
      await sync.apply([account(9999, { email: 'stored@example.com' })]);
      const events = Array.from({ length: size }, (_, i) => {
        const at = positions.indexOf(i);
        return at === -1 ? account(i) : faulty(i, faults[at] as Fault);
      });
      const results = await sync.apply(events);
      const want = events.map((_, i) => {
        const at = positions.indexOf(i);
        return at === -1
          ? { outcome: 'APPLIED', code: null, field: null }
          : { outcome: 'REJECTED', ...expected[faults[at] as Fault] };
      });
      expect(results.map((r) => ({ outcome: r.outcome, code: r.code, field: r.field }))).toEqual(want);
      expect(results.map((r) => r.index)).toEqual(events.map((_, i) => i));
      const good = size - positions.length;
      expect(await count('SyncTestAccount')).toBe(good + 1);
      expect(await count('SyncTestSeat')).toBe(good + 1);
      expect(await count('hub_sync_idempotency')).toBe(good + 1);
      expect(await count('hub_sync_outbox')).toBe(good + 1);
      expect(await count('hub_sync_dead_letter')).toBe(positions.length);
      const letters = await store.query<{ key: string; code: string }>(
        `SELECT key, code FROM hub_sync_dead_letter WHERE tenant_id = $1 ORDER BY key`,
        tenantId,
      );
      expect(letters.map((l) => l.key)).toEqual(positions.map((i) => `acc-${i}`).sort());
      // The same batch again: the applied ones are duplicates, the refused ones refused again
      // (their letters refreshed, not doubled), nothing written twice.
      const again = await sync.apply(events);
      expect(again.map((r) => r.outcome)).toEqual(
        want.map((w) => (w.outcome === 'APPLIED' ? 'DUPLICATE' : 'REJECTED')),
      );
      expect(await count('SyncTestAccount')).toBe(good + 1);
      expect(await count('hub_sync_dead_letter')).toBe(positions.length);
    },
  );

  it('the earlier of two events claiming one unique value wins it, wherever the halves fall', async () => {
    for (const size of [2, 5, 16]) {
      const { sync } = pipeline();
      const events = Array.from({ length: size }, (_, i) => account(i, { email: 'shared@example.com' }));
      const results = await sync.apply(events);
      expect(results.map((r) => r.outcome)).toEqual(['APPLIED', ...Array(size - 1).fill('REJECTED')]);
    }
  });

  it('applyOne throws the coded error of a constraint failure', async () => {
    const { sync } = pipeline();
    await sync.apply([account(0)]);
    await expect(sync.applyOne(account(1, { email: 'a0@example.com' }))).rejects.toMatchObject({
      extensions: { code: 'CONFLICT', field: 'email' },
    });
    await expect(sync.applyOne(account(2, { seatFor: 'X' }))).rejects.toMatchObject({
      extensions: { code: 'BAD_USER_INPUT', field: 'accountCode' },
    });
  });

  it('a transient error (serialization, deadlock, connection) fails the call, without retrying halves', async () => {
    for (const code of ['40001', '40P01', '08006']) {
      let calls = 0;
      const { sync, count } = pipeline({
        hooks: {
          afterStep(step) {
            if (step !== 'rows-written') return;
            calls++;
            throw Object.assign(new Error(`injected ${code}`), { code });
          },
        },
      });
      await expect(sync.apply([account(0), account(1)])).rejects.toMatchObject({ code });
      expect(calls).toBe(1);
      expect(await count('SyncTestAccount')).toBe(0);
      expect(await count('hub_sync_dead_letter')).toBe(0);
    }
  });
});

describe.each(STORE_KINDS)('sync engine: a scoped viewer cannot re-file a row to another customer on %s', (kind) => {
  let store: TestStore;
  beforeAll(async () => {
    store = await openTestStore(kind);
    await store.query(
      `CREATE TABLE "SyncTestCase" ("id" text PRIMARY KEY, "tenantId" text NOT NULL, "externalId" text NOT NULL,
         "customerId" text NOT NULL, "subject" text NOT NULL, UNIQUE ("tenantId", "externalId"))`,
    );
  });
  afterAll(async () => {
    await store?.close();
  });
  const cases = defineSync({
    domain: 'product',
    models: { SyncTestCase: { key: ['externalId'] } },
    kinds: [
      {
        name: 'case',
        sourceTime: (p: { at: string }) => new Date(p.at),
        map: (p: { customerId: string; subject: string }): RowChange[] => [
          {
            model: 'SyncTestCase',
            key: { externalId: 'C-1' },
            fields: { customerId: p.customerId, subject: p.subject },
          },
        ],
        quality: { required: [], optional: [] },
      },
    ],
  });
  let tenantCounter = 0;
  const scopes: [string, string[] | null][] = [
    ['unscoped', null],
    ['scoped to a', ['cust_a']],
    ['scoped to a and b', ['cust_a', 'cust_b']],
  ];
  // stored customer (none: a new row) x written customer x viewer scope.
  const matrix = (['none', 'cust_a', 'cust_b'] as const).flatMap((stored) =>
    (['cust_a', 'cust_b', 'cust_c'] as const).flatMap((written) =>
      scopes.map(([name, ids]) => [stored, written, name, ids] as const),
    ),
  );
  it.each(matrix)('stored %s, written %s, viewer %s', async (stored, written, _name, ids) => {
    const tenantId = `s${++tenantCounter}_${kind}`;
    const make = (customerIds: string[] | null) =>
      createSyncPipeline({
        claimableSources: 'all',
        actor: TEST_ACTOR,
        definition: cases,
        client: store.client,
        scope: { tenantId, customerIds },
        customerKeys: { SyncTestCase: 'customerId' },
        defaultSource: 'x',
      });
    if (stored !== 'none')
      expect(
        (await make(null).apply([{ kind: 'case', payload: { customerId: stored, subject: 'old', at: at(0) } }]))[0]
          ?.outcome,
      ).toBe('APPLIED');
    const [result] = await make(ids).apply([
      { kind: 'case', payload: { customerId: written, subject: 'new', at: at(1) } },
    ]);
    const inScope = (c: string) => ids === null || ids.includes(c);
    const allowed = ids === null || (inScope(written) && (stored === 'none' || stored === written));
    expect(result).toMatchObject(allowed ? { outcome: 'APPLIED' } : { outcome: 'REJECTED', code: 'FORBIDDEN' });
    const rows = await store.query(`SELECT "customerId", subject FROM "SyncTestCase" WHERE "tenantId" = $1`, tenantId);
    expect(rows).toEqual(
      allowed
        ? [{ customerId: written, subject: 'new' }]
        : stored === 'none'
          ? []
          : [{ customerId: stored, subject: 'old' }],
    );
  });
});
