import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '@hub/store';
import { PrismaClient } from '@hub/store/product';
import { openJobTestStore, runJobOnce } from '@hub/core/events/testing';
import { usageRollupJob } from '../src/jobs.js';
import { subgraph } from '../src/server.js';
import { sync } from '../src/sync.js';

const DAY = 86_400_000;
const today = new Date(new Date().toISOString().slice(0, 10));
const day = (offset: number) => new Date(today.getTime() + offset * DAY);

/** Per customer and feature: periods [startOffset, endOffset, usage]; the rollup must pick the latest started by today. */
const FIXTURE: Record<string, Record<string, [number, number, number][]>> = {
  c1: {
    email: [
      [-60, -31, 62],
      [-30, -1, 90],
      [1, 30, 999],
    ],
    api: [[-10, 19, 15]],
  },
  c2: { email: [[0, 9, 40]] },
  c3: { api: [[5, 34, 7]] }, // only a future period: no rollup
};

describe.each(['postgres', 'pglite'] as const)('product-usage-rollup on %s', (kind) => {
  let handle: { store: Store<PrismaClient>; close(): Promise<void> };
  beforeAll(async () => {
    handle = await openJobTestStore<PrismaClient>('product', PrismaClient, kind);
    const rows = Object.entries(FIXTURE).flatMap(([customerId, features]) =>
      Object.entries(features).flatMap(([feature, periods]) =>
        periods.map(([start, end, usageCount], i) => ({
          tenantId: 't1',
          customerId,
          feature,
          category: feature === 'api' ? ('ADVANCED' as const) : ('CORE' as const),
          periodStart: day(start),
          periodEnd: day(end),
          usageCount,
          adoptionScore: 0.1 * (i + 1),
          successCorrelation: 0.5,
        })),
      ),
    );
    await handle.store.client.featureUsage.createMany({ data: rows });
    // Another tenant's usage must stay out of t1's rollup.
    await handle.store.client.featureUsage.createMany({ data: rows.map((r) => ({ ...r, tenantId: 't2' })) });
  }, 120_000);
  afterAll(async () => handle?.close());

  it('writes the usage period in force today, per customer and feature, as a per-day rate', async () => {
    const run = await runJobOnce({
      store: handle.store as Store<unknown>,
      sync,
      customerKeys: subgraph.customerKeys,
      job: usageRollupJob({ chunkSize: 2 }),
      tenantId: 't1',
    });
    expect(run).toMatchObject({ status: 'succeeded', processed: 3, total: 3, failed: 0 });
    const rows = await handle.store.client.usageDailyRollup.findMany({
      where: { tenantId: 't1' },
      orderBy: [{ customerId: 'asc' }, { feature: 'asc' }],
    });
    const expected = Object.entries(FIXTURE).flatMap(([customerId, features]) =>
      Object.entries(features).flatMap(([feature, periods]) => {
        const started = periods.filter(([start]) => start <= 0).sort((a, b) => b[0] - a[0]);
        const [start, end, usage] = started[0] ?? [];
        if (start === undefined || end === undefined || usage === undefined) return [];
        return [
          {
            customerId,
            feature,
            periodUsageCount: usage,
            usagePerDay: Math.round((usage / (end - start + 1)) * 10_000) / 10_000,
            periodStart: day(start),
          },
        ];
      }),
    );
    expect(
      rows.map((r) => ({
        customerId: r.customerId,
        feature: r.feature,
        periodUsageCount: r.periodUsageCount,
        usagePerDay: r.usagePerDay,
        periodStart: r.periodStart,
      })),
    ).toEqual(expected.sort((a, b) => `${a.customerId}:${a.feature}`.localeCompare(`${b.customerId}:${b.feature}`)));
    for (const row of rows) expect(row.day).toEqual(today);
    expect(await handle.store.client.usageDailyRollup.count({ where: { tenantId: 't2' } })).toBe(0);
    const [outbox] = await handle.store.sql.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM "hub_sync_outbox" WHERE "type" = 'product.usage_daily_rollup' AND "source" = 'job:product-usage-rollup'`,
    );
    expect(outbox?.n).toBe(expected.length);
  }, 120_000);
});
