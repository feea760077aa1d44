import { describe, expect, it } from 'vitest';
import { createSyncAdmin } from '../../src/sync/admin.js';
import { factLoads, fixturePipeline, usageEventAt } from './fixture.js';
import { STORE_KINDS, useTestStore } from './stores.js';

const NOW = Date.parse('2026-11-20T12:00:00.000Z');
const hoursAgo = (h: number) => new Date(NOW - h * 3_600_000).toISOString();
let tenantCounter = 0;

describe.each(STORE_KINDS)('sync quality and admin repairs on %s', (kind) => {
  const store = useTestStore(kind);

  function setup() {
    const tenantId = `a${++tenantCounter}_${kind}`;
    const sync = fixturePipeline(store.client, tenantId, { now: () => new Date(NOW) });
    const admin = createSyncAdmin({
      client: store.client,
      domain: 'product',
      tenantId,
      actor: 'admin:u9',
      pipeline: sync,
      now: () => new Date(NOW + 1000),
    });
    return { sync, admin, tenantId };
  }

  const usage = usageEventAt(hoursAgo(0));

  it('scores each accepted event and reports the window beside the targets', async () => {
    const { sync, admin } = setup();
    const results = await sync.apply([
      usage({ feature: 'a' }),
      // Optional adoptionScore missing: completeness 0.6; failed validity check (usageCount >= 1000).
      usage({ feature: 'b', adoptionScore: undefined, usageCount: 5000, at: hoursAgo(24 * 3.5 + 0.5) }),
      usage({ feature: 'c', usageCount: -1 }),
    ]);
    expect(results[0]?.quality).toEqual({ completeness: 1, validity: 1, consistency: 1, timeliness: 1, score: 1 });
    expect(results[1]?.quality).toEqual({
      completeness: 0.6,
      validity: 0,
      consistency: 1,
      timeliness: 0.5,
      score: 0.475,
    });
    expect(results[2]).toMatchObject({ outcome: 'REJECTED', quality: null });
    const report = await admin.dataQuality(24);
    expect(report).toMatchObject({
      domain: 'product',
      records: 3,
      rejected: 1,
      accuracy: { value: 0.3333, target: 0.999, meetsTarget: false },
      completeness: { target: 0.98, meetsTarget: false },
      consistency: { value: 1, target: 0.995, meetsTarget: true },
      timeliness: { value: 0.75, target: null, meetsTarget: null },
      score: 0.7375,
    });
    // The rejected event counts for completeness too (its payload still had 0.6 + 0.4 of the fields).
    expect(report.completeness.value).toBeCloseTo((1 + 0.6 + 1) / 3, 4);
    await expect(admin.dataQuality(0)).rejects.toMatchObject({
      extensions: { code: 'BAD_USER_INPUT', field: 'windowHours' },
    });
    expect((await admin.dataQuality(2160)).records).toBe(3);
  });

  it('loads consistency facts once per batch', async () => {
    const { sync } = setup();
    const adoption = (customerId: string) => ({
      kind: 'adoption',
      payload: { customerId, period: '2026-11-01', rate: 0.5, at: hoursAgo(0) },
    });
    const before = factLoads.count;
    const first = await sync.apply([adoption('cust_a'), adoption('cust_b'), adoption('cust_c')]);
    expect(factLoads.count - before).toBe(1);
    // No usage rows yet: the fixture's consistency check fails.
    expect(first.map((r) => r.quality?.consistency)).toEqual([0, 0, 0]);
    await sync.apply([usage({})]);
    const second = await sync.apply([{ ...adoption('cust_a'), payload: { ...adoption('cust_a').payload, rate: 0.6 } }]);
    expect(second[0]?.quality?.consistency).toBe(1);
  });

  it('lists conflicts page by page with filters, and an override re-applies the picked value once', async () => {
    const { sync, admin, tenantId } = setup();
    await sync.apply([usage({ usageCount: 5, at: hoursAgo(5) }, { source: 'crm' })]);
    for (let i = 1; i <= 4; i++)
      await sync.apply([usage({ usageCount: 10 + i, at: hoursAgo(5 - i) }, { source: `erp${i}` })]);
    const stale = await sync.apply([usage({ usageCount: 99, at: hoursAgo(10) }, { source: 'crm' })]);
    expect(stale[0]?.outcome).toBe('STALE');
    const page1 = await admin.syncConflicts({ first: 3 });
    expect(page1.edges).toHaveLength(3);
    expect(page1.pageInfo.hasNextPage).toBe(true);
    expect(await page1.totalCount).toBe(5);
    const page2 = await admin.syncConflicts({ first: 3, after: page1.pageInfo.endCursor });
    expect(page2.edges).toHaveLength(2);
    expect(page2.pageInfo.hasNextPage).toBe(false);
    const all = [...page1.edges, ...page2.edges].map((e) => e.node);
    // Recorded order: ids are UUIDv7.
    expect(all.map((c) => c['incomingSource'])).toEqual(['erp1', 'erp2', 'erp3', 'erp4', 'crm']);
    const lost = await admin.syncConflicts({
      filter: { rule: 'LATEST_SOURCE_TIME', field: 'usageCount', customerId: 'cust_a' },
    });
    expect(await lost.totalCount).toBe(5);
    expect(await (await admin.syncConflicts({ filter: { model: 'AdoptionMetrics' } })).totalCount).toBe(0);
    const last = all[4];
    expect(last).toMatchObject({ winner: 'STORED', storedValue: '14', incomingValue: '99', storedSource: 'erp4' });
    const id = String(last?.['id']);

    // The admin keeps the losing value: it is written as rule OVERRIDE, source override:<admin>.
    const result = await admin.resolveConflict(id, 'INCOMING');
    expect(result).toMatchObject({ outcome: 'APPLIED', kind: 'hub_override' });
    expect(result.conflicts).toEqual([
      expect.objectContaining({ field: 'usageCount', rule: 'OVERRIDE', winner: 'INCOMING' }),
    ]);
    const [row] = await store.query<{ usageCount: number; sourceSystem: string }>(
      `SELECT "usageCount", "sourceSystem" FROM "FeatureUsage" WHERE "tenantId" = $1`,
      tenantId,
    );
    expect(row).toEqual({ usageCount: 99, sourceSystem: 'override:admin:u9' });
    const resolved = await admin.syncConflicts({ filter: { resolved: true } });
    expect(resolved.edges.map((e) => e.node)).toEqual([expect.objectContaining({ id, resolvedBy: 'admin:u9' })]);
    await expect(admin.resolveConflict(id, 'STORED')).rejects.toMatchObject({ extensions: { code: 'CONFLICT' } });
    await expect(admin.resolveConflict('00000000-0000-7000-8000-000000000000', 'STORED')).rejects.toMatchObject({
      extensions: { code: 'NOT_FOUND' },
    });
    await expect(admin.resolveConflict('nope', 'STORED')).rejects.toMatchObject({
      extensions: { code: 'BAD_USER_INPUT' },
    });
    // An event older than the override does not undo it.
    expect((await sync.apply([usage({ usageCount: 1, at: hoursAgo(1) }, { source: 'erp9' })]))[0]?.outcome).toBe(
      'STALE',
    );
  });

  it('lists dead letters and replays one as stored or corrected, once', async () => {
    const { sync, admin, tenantId } = setup();
    const [bad] = await sync.apply([usage({ usageCount: -3 }, { line: 7, source: 'csv' })]);
    await sync.apply([usage({ feature: 'x', adoptionScore: 2 })]);
    const letters = await admin.deadLetters({ filter: { replayed: false } });
    expect(await letters.totalCount).toBe(2);
    const letter = letters.edges[0]?.node;
    expect(letter).toMatchObject({
      id: bad?.deadLetterId,
      kind: 'usage',
      code: 'BAD_USER_INPUT',
      field: 'usageCount',
      line: 7,
      source: 'csv',
    });
    expect(JSON.parse(String(letter?.['payload']))).toMatchObject({ usageCount: -3 });
    const id = String(bad?.deadLetterId);

    // As stored it fails again: the letter stays waiting, with the outcome of the attempt.
    expect(await admin.replayDeadLetter(id)).toMatchObject({ outcome: 'REJECTED', deadLetterId: id });
    expect((await admin.deadLetters({ filter: { replayed: false } })).edges[0]?.node).toMatchObject({
      id,
      replayOutcome: 'REJECTED',
    });

    const fixed = usage({ usageCount: 3 });
    const replayed = await admin.replayDeadLetter(id, { kind: fixed.kind, payload: fixed.payload });
    expect(replayed).toMatchObject({ outcome: 'APPLIED', idempotencyKey: bad?.idempotencyKey });
    const [row] = await store.query(`SELECT "usageCount" FROM "FeatureUsage" WHERE "tenantId" = $1`, tenantId);
    expect(row).toEqual({ usageCount: 3 });
    expect((await admin.deadLetters({ filter: { replayed: true } })).edges.map((e) => e.node)).toEqual([
      expect.objectContaining({ id, replayOutcome: 'APPLIED', replayedAt: expect.anything() }),
    ]);
    await expect(admin.replayDeadLetter(id)).rejects.toMatchObject({ extensions: { code: 'CONFLICT' } });
    // The letter's key now holds the applied event: re-sending the original is a duplicate.
    expect(
      (await sync.apply([{ ...usage({ usageCount: -3 }), idempotencyKey: bad?.idempotencyKey }]))[0]?.outcome,
    ).toBe('DUPLICATE');
  });
});
