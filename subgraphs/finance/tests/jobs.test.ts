import { describe, expect, it } from 'vitest';
import { acme, gql, useTestSubgraph, viewerFor } from '@hub/core/testing';
import { runJobMutation, waitForRun } from '@hub/core/events/testing';
import { subgraph } from '../src/server.js';

const hub = useTestSubgraph(subgraph);
const cents = (value: unknown) => Math.round(Number(value ?? 0) * 100);

/** The rollup, computed independently in JS from the rows Prisma reads back. */
async function expectedRollup(tenantId: string, asOf: Date) {
  const db = hub.store.client;
  const [revenue, value, health, invoices] = await Promise.all([
    db.revenueAttribution.findMany({ where: { tenantId } }),
    db.valueRealization.findMany({ where: { tenantId } }),
    db.financialHealth.findMany({ where: { tenantId } }),
    db.invoice.findMany({ where: { tenantId } }),
  ]);
  const ids = new Set([...revenue, ...value, ...health, ...invoices].map((r) => r.customerId));
  const out = new Map<string, Record<string, unknown>>();
  for (const id of ids) {
    const own = invoices.filter((i) => i.customerId === id && i.issuedAt <= asOf);
    const outstanding = own.filter((i) => i.status === 'OPEN' || i.status === 'OVERDUE');
    const overdue = outstanding.filter((i) => i.dueAt < asOf);
    const sum = (rows: typeof own) => rows.reduce((acc, i) => acc + cents(i.amount), 0);
    out.set(id, {
      currentArr: cents(revenue.find((r) => r.customerId === id)?.currentArr),
      realizedValue: cents(value.find((r) => r.customerId === id)?.realizedValue),
      invoicedTotal: sum(own.filter((i) => i.status !== 'VOID')),
      paidTotal: sum(own.filter((i) => i.status === 'PAID')),
      outstandingTotal: sum(outstanding),
      overdueTotal: sum(overdue),
      overdueInvoices: overdue.length,
      paymentStatus: health.find((r) => r.customerId === id)?.paymentStatus ?? null,
    });
  }
  return out;
}

describe('finance-rollup job', () => {
  it('rolls up every customer of the tenant through the sync pipeline, once per customer', async () => {
    const { run } = await runJobMutation(hub.url, 'finance', 'finance-rollup', acme);
    expect(run).toMatchObject({ job: 'finance-rollup', tenantId: 'acme', status: 'QUEUED', trigger: 'MANUAL' });
    const done = await waitForRun(hub.url, 'finance', run?.id ?? '', acme);
    expect(done).toMatchObject({ status: 'SUCCEEDED', failed: 0, attempts: 1 });
    const [queued] = await hub.store.sql.query<{ queued_at: Date }>(
      `SELECT "queued_at" FROM "hub_job_run" WHERE "id" = $1`,
      [done.id],
    );
    const asOf = new Date(queued?.queued_at ?? 0);
    const expected = await expectedRollup('acme', asOf);
    expect(done.processed).toBe(expected.size);
    expect(done.total).toBe(expected.size);
    const rows = await hub.store.client.financeDailyRollup.findMany({ where: { tenantId: 'acme' } });
    expect(rows).toHaveLength(expected.size);
    for (const row of rows) {
      expect(row.day.toISOString().slice(0, 10)).toBe(asOf.toISOString().slice(0, 10));
      expect(
        {
          currentArr: cents(row.currentArr),
          realizedValue: cents(row.realizedValue),
          invoicedTotal: cents(row.invoicedTotal),
          paidTotal: cents(row.paidTotal),
          outstandingTotal: cents(row.outstandingTotal),
          overdueTotal: cents(row.overdueTotal),
          overdueInvoices: row.overdueInvoices,
          paymentStatus: row.paymentStatus,
        },
        row.customerId,
      ).toEqual(expected.get(row.customerId));
    }
    // Another tenant's data is untouched, and every rollup row produced exactly one outbox event.
    expect(await hub.store.client.financeDailyRollup.count({ where: { tenantId: 'globex' } })).toBe(0);
    const [outbox] = await hub.store.sql.query<{ n: number; keys: number }>(
      `SELECT count(*)::int AS n, count(DISTINCT "payload"->>'idempotencyKey')::int AS keys FROM "hub_sync_outbox"
       WHERE "type" = 'finance.finance_daily_rollup' AND "source" = 'job:finance-rollup'
         AND "payload"->>'idempotencyKey' LIKE $1`,
      [`job:${done.id}:%`],
    );
    expect(outbox).toEqual({ n: expected.size, keys: expected.size });
  });

  it('lists the runs and the jobs to admins, and refuses others', async () => {
    const res = await gql<{
      sync: {
        finance: {
          jobs: { name: string; schedule: string }[];
          jobRuns: { totalCount: number; edges: { node: { job: string; status: string } }[] };
        };
      };
    }>(
      hub.url,
      `{ sync { finance { jobs { name schedule } jobRuns(first: 5, job: "finance-rollup") { totalCount edges { node { job status } } } } } }`,
      {},
      acme,
    );
    expect(res.errors).toBeUndefined();
    expect(res.data?.sync.finance.jobs.map((j) => j.name).sort()).toEqual([
      'anomaly-scan',
      'finance-rollup',
      'integration-health',
      'reconcile',
      'retention-archive',
    ]);
    expect(res.data?.sync.finance.jobs.find((j) => j.name === 'finance-rollup')?.schedule).toBe('0 1 * * *');
    expect(res.data?.sync.finance.jobRuns.totalCount).toBeGreaterThanOrEqual(1);
    // Globex's admin sees none of acme's runs.
    const other = await gql<{ sync: { finance: { jobRuns: { totalCount: number } } } }>(
      hub.url,
      `{ sync { finance { jobRuns { totalCount } } } }`,
      {},
      viewerFor('globex'),
    );
    expect(other.data?.sync.finance.jobRuns.totalCount).toBe(0);
    const rep = await runJobMutation(hub.url, 'finance', 'finance-rollup', viewerFor('acme', { roles: ['finance'] }));
    expect(rep.res.errors?.[0]?.extensions?.['code']).toBe('FORBIDDEN');
    const unknown = await runJobMutation(hub.url, 'finance', 'no-such-job', acme);
    expect(unknown.res.errors?.[0]?.extensions?.['code']).toBe('NOT_FOUND');
    const foreign = await runJobMutation(hub.url, 'finance', 'finance-rollup', acme, 'globex');
    expect(foreign.res.errors?.[0]?.extensions?.['code']).toBe('FORBIDDEN');
  });
});
