/**
 * The 30-day history of a recompute against a real store: `loadInputs` takes the latest snapshot 30
 * to 45 days before (a snapshot exactly 30 days before counts, one exactly 45 days before does not),
 * and the health sync's trend check judges the engine's payload by that same score, as read, while a
 * payload nobody read it for is still judged by the store's history. And a snapshot's key is its
 * tenant's: two tenants' customers of one id get their snapshots of one instant.
 */
import type { StoreSql } from '@hub/store';
import { jobActor } from '@hub/core/audit';
import { driverOf } from '@hub/core/events/harness';
import { useTestSubgraph } from '@hub/core/testing';
import { describe, expect, it } from 'vitest';
import { seedInputRows } from '../src/inputs.js';
import { healthPayload, healthPipeline, loadInputs, recomputeHealth } from '../src/recompute.js';
import { computeHealth } from '../src/formula.js';
import { inputsOf } from '../src/inputs.js';
import { snapshotId, withScoreMonthBefore } from '../src/sync.js';
import { subgraph } from '../src/server.js';

const hub = useTestSubgraph(subgraph, { seed: false });
const store = (): StoreSql => driverOf(hub.store.client);
const DAY = 86_400_000;
let tenants = 0;

async function tenantWith(customers: number): Promise<string> {
  const tenantId = `t_rc_${process.pid}_${++tenants}`;
  await seedInputRows(store(), tenantId, customers, new Date(Date.now() - 3_600_000));
  return tenantId;
}

async function snapshot(tenantId: string, customerId: string, recordedAt: Date, score: number) {
  await store().query(
    `INSERT INTO "HealthSnapshot" (id, "tenantId", "customerId", score, "usageScore", "engagementScore",
                                   "supportSatisfaction", "paymentStatus", "recordedAt")
     VALUES ($1, $2, $3, $4, $4, $4, $4, 'CURRENT', $5)`,
    [snapshotId(recordedAt, customerId), tenantId, customerId, score, recordedAt],
  );
}

describe('a recompute’s score a month before', () => {
  it('is the latest snapshot 30 to 45 days before: exactly 30 days counts, exactly 45 days does not', async () => {
    const tenantId = await tenantWith(4);
    const now = new Date();
    const at = (ms: number) => new Date(now.getTime() - ms);
    await snapshot(tenantId, 'cust_b000001', at(30 * DAY), 41);
    await snapshot(tenantId, 'cust_b000001', at(40 * DAY), 12);
    await snapshot(tenantId, 'cust_b000002', at(45 * DAY), 52);
    await snapshot(tenantId, 'cust_b000002', at(30 * DAY - 1), 53); // 1 ms too recent
    await snapshot(tenantId, 'cust_b000003', at(45 * DAY - 1), 63);
    await snapshot(tenantId, 'cust_b000003', at(44 * DAY), 64);
    const inputs = await loadInputs(
      store(),
      tenantId,
      ['cust_b000001', 'cust_b000002', 'cust_b000003', 'cust_b000004'],
      now,
    );
    expect([...inputs].map(([id, input]) => [id, input.before, input.rows.length])).toEqual([
      ['cust_b000001', 41, 9],
      ['cust_b000002', null, 9],
      ['cust_b000003', 64, 9],
      ['cust_b000004', null, 9],
    ]);
  });

  it('is what the trend check judges the engine’s health by, as read; an unread payload by the store', async () => {
    const tenantId = await tenantWith(2);
    const now = new Date();
    await snapshot(tenantId, 'cust_b000001', new Date(now.getTime() - 35 * DAY), 20);
    const pipeline = healthPipeline(store(), tenantId, jobActor('health-recompute', 'run-t'));
    const [recomputed] = await recomputeHealth(
      { sql: store(), sync: pipeline },
      tenantId,
      ['cust_b000001'],
      (customerId) => `t:${customerId}`,
      now,
    );
    const [stored] = await store().query<{ trend30DayChange: number; score: number }>(
      `SELECT "trend30DayChange", score FROM "HealthScore" WHERE "tenantId" = $1 AND "customerId" = 'cust_b000001'`,
      [tenantId],
    );
    expect(stored?.trend30DayChange).toBe((stored?.score ?? 0) - 20);
    expect(recomputed?.quality?.consistency).toBe(1);

    // The same customer's computed health one second later, its change reported against a score of
    // 90: marked as read with 90 it passes; unmarked, the store's 20 (35 days before) contradicts it.
    const later = new Date(now.getTime() + 1000);
    const input = (await loadInputs(store(), tenantId, ['cust_b000001'], later)).get('cust_b000001');
    const health = computeHealth(inputsOf('cust_b000001', input?.rows ?? [], 90, later), later);
    const payload = () => healthPayload('cust_b000001', health, later);
    // Two calls: the trend check's facts are by customer and time, one per batch.
    const [marked] = await pipeline.apply([
      { kind: 'customer_health_sync', idempotencyKey: 't:marked', payload: withScoreMonthBefore(payload(), 90) },
    ]);
    const [unmarked] = await pipeline.apply([
      { kind: 'customer_health_sync', idempotencyKey: 't:unmarked', payload: payload() },
    ]);
    expect(marked?.quality?.consistency).toBe(1);
    expect(unmarked?.quality?.consistency).toBe(0);
  });
});

describe('snapshots', () => {
  it('of two tenants’ customers of the same id, recorded in the same millisecond, are both kept', async () => {
    const [a, b] = [await tenantWith(1), await tenantWith(1)];
    const now = new Date();
    const results = await Promise.all(
      [a, b].map((tenantId) =>
        recomputeHealth(
          { sql: store(), sync: healthPipeline(store(), tenantId, jobActor('health-recompute', 'run-s')) },
          tenantId,
          ['cust_b000001'],
          (customerId) => `s:${customerId}`,
          now,
        ),
      ),
    );
    expect(results.flat().map((result) => result.outcome)).toEqual(['APPLIED', 'APPLIED']);
    const snapshots = await store().query<{ tenantId: string; id: string }>(
      `SELECT "tenantId", id FROM "HealthSnapshot" WHERE "tenantId" = ANY($1::text[]) ORDER BY "tenantId"`,
      [[a, b]],
    );
    expect(snapshots).toEqual([
      { tenantId: a, id: snapshotId(now, 'cust_b000001') },
      { tenantId: b, id: snapshotId(now, 'cust_b000001') },
    ]);
  });
});
