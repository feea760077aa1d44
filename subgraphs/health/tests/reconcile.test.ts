/**
 * The `reconcile` job of the health domain, run through the running subgraph (job runner, flags,
 * `run<Domain>Job`, `sync { health { reconciliation } }`) with the real customers subgraph beside it
 * (its `_replicaSnapshot` is the replica's reference): health computed from the stored inputs is
 * consistent; then a replica row is deleted, a replica owner changed and two health scores changed in
 * the store: the report names each (the replica check; the log check: the row no longer what its
 * event wrote; the health check: no longer the formula over its inputs) with the score; a repair run
 * re-drives them, and the next run finds nothing.
 */
import type { StoreSql } from '@hub/store';
import { driverOf } from '@hub/core/events/harness';
import { runJobMutation, waitForRun } from '@hub/core/events/testing';
import { gql, useTestSubgraph, viewerFor } from '@hub/core/testing';
import { describe, expect, it } from 'vitest';
import { seedInputRows } from '../src/inputs.js';
import { recomputeAll } from '../src/jobs.js';
import { subgraph } from '../src/server.js';

const hub = useTestSubgraph(subgraph, { seed: true });
const store = (): StoreSql => driverOf(hub.store.client);
const TENANT = 'acme';
const admin = viewerFor(TENANT);

interface Report {
  runId: string;
  checked: number;
  differing: number;
  repaired: number;
  score: number;
  target: number;
  repair: boolean;
  checks: { check: string; checked: number; differing: number; repaired: number }[];
  differences: { check: string; key: string; kind: string; fields: string[]; repaired: boolean }[];
}

async function reconcile(flags: string[] = []): Promise<Report> {
  const { run, res } = await runJobMutation(hub.url, 'health', 'reconcile', admin, undefined, flags);
  if (!run) throw new Error(JSON.stringify(res.errors));
  expect(run.flags).toEqual(flags);
  const done = await waitForRun(hub.url, 'health', run.id, admin, 120_000);
  expect(done.status).toBe('SUCCEEDED');
  const answer = await gql<{ sync: { health: { reconciliation: Report | null } } }>(
    hub.url,
    `query ($run: ID) { sync { health { reconciliation(runId: $run) {
       runId checked differing repaired score target repair
       checks { check checked differing repaired }
       differences { check key kind fields repaired } } } } }`,
    { run: run.id },
    admin,
  );
  const report = answer.data?.sync.health.reconciliation;
  if (!report) throw new Error(JSON.stringify(answer.errors));
  return report;
}

describe('reconcile in the health domain', () => {
  it('refuses a flag the job does not take', async () => {
    const { res } = await runJobMutation(hub.url, 'health', 'reconcile', admin, undefined, ['fast']);
    expect(res.errors?.[0]?.extensions?.['code']).toBe('BAD_USER_INPUT');
  });

  it('reports replica and health damage with the score, repairs it, and then finds nothing', async () => {
    // Health computed by the engine from stored inputs (10 customers), written through the pipeline.
    await seedInputRows(store(), TENANT, 10, new Date(Date.now() - 3_600_000), 'cust_r');
    await recomputeAll({
      runId: 'seed-run',
      tenantId: TENANT,
      resumeFrom: null,
      store: store(),
      signal: new AbortController().signal,
      checkpoint: async () => undefined,
    });
    const clean = await reconcile();
    expect(clean.differing).toBe(0);
    expect(clean.score).toBe(1);
    expect(clean.target).toBe(0.995);
    const replicaChecked = clean.checks.find((c) => c.check === 'replica')?.checked ?? 0;
    expect(replicaChecked).toBeGreaterThan(2);

    const [first, second] = await store().query<{ customer_id: string }>(
      `SELECT "customer_id" FROM "hub_customer_replica" WHERE "tenant_id" = $1 AND NOT "deleted" ORDER BY 1 LIMIT 2`,
      [TENANT],
    );
    if (!first || !second) throw new Error('the replica holds no customers');
    await store().query(`DELETE FROM "hub_customer_replica" WHERE "tenant_id" = $1 AND "customer_id" = $2`, [
      TENANT,
      first.customer_id,
    ]);
    await store().query(
      `UPDATE "hub_customer_replica" SET "owner_id" = 'nobody' WHERE "tenant_id" = $1 AND "customer_id" = $2`,
      [TENANT, second.customer_id],
    );
    await store().query(
      `UPDATE "HealthScore" SET "score" = "score" + 7 WHERE "tenantId" = $1 AND "customerId" IN ('cust_r000003', 'cust_r000007')`,
      [TENANT],
    );

    const found = await reconcile();
    const scoreRow = (id: string) => `HealthScore:["${id}"]`;
    expect(found.differences.map(({ check, key, kind, fields }) => ({ check, key, kind, fields }))).toEqual([
      { check: 'replica', key: `customer:${first.customer_id}`, kind: 'missing', fields: [] },
      { check: 'replica', key: `customer:${second.customer_id}`, kind: 'different', fields: ['ownerId'] },
      { check: 'log', key: scoreRow('cust_r000003'), kind: 'different', fields: ['score'] },
      { check: 'log', key: scoreRow('cust_r000007'), kind: 'different', fields: ['score'] },
      { check: 'health', key: 'health:cust_r000003', kind: 'different', fields: ['score'] },
      { check: 'health', key: 'health:cust_r000007', kind: 'different', fields: ['score'] },
    ]);
    expect(found.checked).toBe(clean.checked);
    expect(found.differing).toBe(6);
    expect(found.score).toBeCloseTo(1 - 6 / found.checked, 10);

    const repaired = await reconcile(['repair']);
    expect(repaired).toMatchObject({ repair: true, differing: 6, repaired: 6 });
    const scores = await store().query<{ customerId: string; score: number }>(
      `SELECT "customerId", "score" FROM "HealthScore" WHERE "tenantId" = $1 AND "customerId" IN ('cust_r000003', 'cust_r000007')`,
      [TENANT],
    );
    const scoreBefore = await store().query<{ customerId: string; score: number }>(
      `SELECT "customerId", "score" FROM "HealthSnapshot" WHERE "tenantId" = $1 AND "customerId" IN ('cust_r000003', 'cust_r000007')
        ORDER BY "recordedAt" LIMIT 2`,
      [TENANT],
    );
    expect(scores.map((s) => s.score).sort()).toEqual(scoreBefore.map((s) => s.score).sort());

    const after = await reconcile();
    expect(after).toMatchObject({ differing: 0, score: 1, differences: [] });
    // The repaired replica serves again: the deleted customer is known, the owner is the customers domain's.
    const replica = await store().query<{ customer_id: string; owner_id: string; deleted: boolean }>(
      `SELECT "customer_id", "owner_id", "deleted" FROM "hub_customer_replica" WHERE "tenant_id" = $1
          AND "customer_id" = ANY($2::text[]) ORDER BY 1`,
      [TENANT, [first.customer_id, second.customer_id]],
    );
    expect(replica).toHaveLength(2);
    expect(replica.every((row) => !row.deleted && row.owner_id !== 'nobody')).toBe(true);
  });
});
