/**
 * The health-recompute job against a real store: chunked, checkpointed, killed and resumed at every
 * chunk boundary (abort between chunks, and a crash after a chunk's commit before its checkpoint),
 * for several chunk sizes: every customer ends with exactly one score write and one snapshot per run.
 */
import type { StoreSql } from '@hub/store';
import { driverOf } from '@hub/core/events/harness';
import { useTestSubgraph } from '@hub/core/testing';
import { describe, expect, it } from 'vitest';
import { seedInputRows } from '../src/inputs.js';
import { healthRecompute, recomputeAll, type RecomputeCheckpoint } from '../src/jobs.js';
import { subgraph } from '../src/server.js';

const hub = useTestSubgraph(subgraph, { seed: false });
const store = (): StoreSql => driverOf(hub.store.client);
const CUSTOMERS = 10;
let tenants = 0;

async function seededTenant(): Promise<string> {
  const tenantId = `t_job_${process.pid}_${++tenants}`;
  expect(await seedInputRows(store(), tenantId, CUSTOMERS, new Date(Date.now() - 3_600_000))).toBe(9 * CUSTOMERS);
  return tenantId;
}

async function counts(tenantId: string) {
  const [row] = await store().query<{ scores: number; snapshots: number; events: number; keys: number }>(
    `SELECT (SELECT count(*)::int FROM "HealthScore" WHERE "tenantId" = $1) AS scores,
            (SELECT count(*)::int FROM "HealthSnapshot" WHERE "tenantId" = $1) AS snapshots,
            (SELECT count(*)::int FROM hub_sync_outbox WHERE tenant_id = $1) AS events,
            (SELECT count(*)::int FROM hub_sync_idempotency WHERE tenant_id = $1) AS keys`,
    [tenantId],
  );
  return row;
}

function context(
  runId: string,
  tenantId: string,
  resumeFrom: unknown,
  onCheckpoint: (state: RecomputeCheckpoint, n: number) => void,
) {
  const controller = new AbortController();
  let n = 0;
  return {
    controller,
    ctx: {
      runId,
      tenantId,
      resumeFrom,
      store: store(),
      signal: controller.signal,
      checkpoint: async (state: unknown) => {
        onCheckpoint(state as RecomputeCheckpoint, ++n);
      },
    },
  };
}

describe('health-recompute job', () => {
  it('is declared as the daily job of the health domain', () => {
    expect(healthRecompute).toMatchObject({ name: 'health-recompute', domain: 'health', schedule: '0 2 * * *' });
  });

  it('recomputes every customer once, in chunks, checkpointing the last customer id', async () => {
    const tenantId = await seededTenant();
    const seen: RecomputeCheckpoint[] = [];
    const { ctx } = context('run-1', tenantId, null, (state) => seen.push(state));
    const summary = await recomputeAll(ctx, { chunk: 4 });
    expect(summary).toMatchObject({ processed: CUSTOMERS, failed: 0, details: { outcomes: { APPLIED: CUSTOMERS } } });
    expect(seen.map((s) => s.lastCustomerId)).toEqual(['cust_b000004', 'cust_b000008', 'cust_b000010']);
    expect(await counts(tenantId)).toEqual({
      scores: CUSTOMERS,
      snapshots: CUSTOMERS,
      events: CUSTOMERS,
      keys: CUSTOMERS,
    });
    // The same run again (a retried job): every key is a DUPLICATE, nothing is written.
    const again = await recomputeAll(context('run-1', tenantId, null, () => {}).ctx, { chunk: 4 });
    expect(again.details).toEqual({ outcomes: { DUPLICATE: CUSTOMERS } });
    expect(await counts(tenantId)).toEqual({
      scores: CUSTOMERS,
      snapshots: CUSTOMERS,
      events: CUSTOMERS,
      keys: CUSTOMERS,
    });
  });

  // Chunk sizes x the chunk after which the run dies x how it dies.
  const cases = [1, 3, 7].flatMap((chunk) =>
    [1, 2].flatMap((killAfter) =>
      (['aborted', 'crash-before-checkpoint'] as const).map((how) => ({ chunk, killAfter, how })),
    ),
  );
  it.each(cases)(
    'chunks of $chunk, killed after chunk $killAfter ($how), resumed: each customer once',
    async ({ chunk, killAfter, how }) => {
      const tenantId = await seededTenant();
      let last: RecomputeCheckpoint | null = null;
      const first = context('run-k', tenantId, null, (state, n) => {
        if (how === 'crash-before-checkpoint' && n === killAfter)
          throw new Error('killed before the checkpoint was stored');
        last = state;
        if (how === 'aborted' && n === killAfter) first.controller.abort();
      });
      if (how === 'crash-before-checkpoint') await expect(recomputeAll(first.ctx, { chunk })).rejects.toThrow('killed');
      else expect(await recomputeAll(first.ctx, { chunk })).toMatchObject({ details: { aborted: true } });
      const done = (await counts(tenantId))?.scores ?? 0;
      expect(done).toBe(Math.min(CUSTOMERS, killAfter * chunk));
      // Resume from the last stored checkpoint (the crash lost the one of the chunk that committed).
      const resumed = await recomputeAll(context('run-k', tenantId, last, () => {}).ctx, { chunk });
      const redone = how === 'crash-before-checkpoint' ? Math.min(chunk, CUSTOMERS - (killAfter - 1) * chunk) : 0;
      expect(resumed.details?.['outcomes']).toEqual({
        ...(CUSTOMERS - done > 0 ? { APPLIED: CUSTOMERS - done } : {}),
        ...(redone > 0 ? { DUPLICATE: redone } : {}),
      });
      expect(await counts(tenantId)).toEqual({
        scores: CUSTOMERS,
        snapshots: CUSTOMERS,
        events: CUSTOMERS,
        keys: CUSTOMERS,
      });
    },
  );
});
