/**
 * The health domain's batch job (the brief's daily "customer health score updates"): recompute every
 * customer of a tenant from the health inputs, in chunks of CHUNK customers in customer-id order.
 * Each chunk is one transaction through the health pipeline (recompute.ts: three reads, then the
 * pipeline's set-based batch) under the keys `health-recompute:<run id>:<customer>`; the checkpoint
 * after it is the last customer id (and tenant) done. A run killed between a chunk's commit and its
 * checkpoint redoes that chunk on resume, and its keys answer DUPLICATE: nothing is applied twice.
 *
 * Which customers: every customer the health store knows (an input row or a score). Issue 8's local
 * customer replica (`hub_customer_replica`) is the better list once it lands: customers with no
 * input at all would then get their neutral first score too.
 */
import type { SqlTx, StoreSql } from '@hub/store';
import { jobActor } from '@hub/core/audit';
import { defineJob, type JobContext, type JobSummary } from '@hub/core/events/types';
import { healthPipeline, recomputeHealth } from './recompute.js';

/** Customers per chunk: the pipeline's batch size, so one chunk is one engine batch. */
export const CHUNK = 1000;

export interface RecomputeCheckpoint {
  readonly tenantId: string;
  /** The last customer id whose chunk committed; the run goes on after it. */
  readonly lastCustomerId: string;
}

/** The next `limit` customers of `tenantId` after `after`, in id order (one statement). */
async function nextCustomers(
  sql: Pick<SqlTx, 'query'>,
  tenantId: string,
  after: string,
  limit: number,
): Promise<string[]> {
  const rows = await sql.query<{ customerId: string }>(
    `SELECT "customerId" FROM (
       SELECT "customerId" FROM "HealthInputRow" WHERE "tenantId" = $1 AND "customerId" > $2
       UNION SELECT "customerId" FROM "HealthScore" WHERE "tenantId" = $1 AND "customerId" > $2
     ) c ORDER BY "customerId" LIMIT $3`,
    [tenantId, after, limit],
  );
  return rows.map((row) => row.customerId);
}

async function tenantsOf(store: StoreSql, only: string | null): Promise<string[]> {
  if (only !== null) return [only];
  const rows = await store.query<{ tenantId: string }>(
    `SELECT "tenantId" FROM "HealthInputRow" UNION SELECT "tenantId" FROM "HealthScore" ORDER BY 1`,
  );
  return rows.map((row) => row.tenantId);
}

/**
 * Recomputes customers chunk by chunk from `resumeFrom`, calling `checkpoint` after each committed
 * chunk; stops between chunks when `signal` aborts. The job's body, exported for the benchmark.
 */
export async function recomputeAll(
  ctx: Pick<JobContext, 'runId' | 'tenantId' | 'resumeFrom' | 'checkpoint' | 'store' | 'signal'>,
  options: { chunk?: number; now?: () => Date } = {},
): Promise<JobSummary> {
  const chunk = options.chunk ?? CHUNK;
  const now = options.now ?? (() => new Date());
  const resume = (ctx.resumeFrom ?? null) as RecomputeCheckpoint | null;
  let processed = 0;
  let failed = 0;
  const outcomes: Record<string, number> = {};
  for (const tenantId of await tenantsOf(ctx.store, ctx.tenantId)) {
    if (resume && tenantId < resume.tenantId) continue;
    let after = resume && tenantId === resume.tenantId ? resume.lastCustomerId : '';
    for (;;) {
      if (ctx.signal.aborted) return { processed, failed, details: { outcomes, aborted: true } };
      const results = await ctx.store.transaction(async (tx) => {
        const customers = await nextCustomers(tx, tenantId, after, chunk);
        if (customers.length === 0) return null;
        const pipeline = healthPipeline(ctx.store, tenantId, jobActor('health-recompute', ctx.runId), tx);
        const written = await recomputeHealth(
          { sql: tx, sync: pipeline },
          tenantId,
          customers,
          (customerId) => `health-recompute:${ctx.runId}:${customerId}`,
          now(),
        );
        return { customers, written };
      });
      if (!results) break;
      for (const result of results.written) {
        outcomes[result.outcome] = (outcomes[result.outcome] ?? 0) + 1;
        if (result.outcome === 'REJECTED') failed++;
        else processed++;
      }
      after = results.customers.at(-1) as string;
      await ctx.checkpoint({ tenantId, lastCustomerId: after } satisfies RecomputeCheckpoint, { processed, failed });
    }
  }
  return { processed, failed, details: { outcomes } };
}

export const healthRecompute = defineJob({
  name: 'health-recompute',
  domain: 'health',
  schedule: '0 2 * * *',
  description: 'Daily: recompute every customer’s health from the health inputs (chunks of 1,000, resumable).',
  tenants: (store) => tenantsOf(store, null),
  run: (ctx) => recomputeAll(ctx),
});

export const jobs = [healthRecompute];
