/**
 * The shape the daily rollups share (finance, product, support): walk a tenant's customers in
 * chunks, derive one payload per item (a customer, or a customer and feature) from the store, and
 * write them through the domain's sync pipeline as one mutation-only kind. A domain contributes only
 * its SQL and its payload (`subgraphs/<domain>/src/jobs.ts`); the resumable walk lives here once.
 *
 * Resume: the checkpoint after each chunk holds the period (`asOf`, from the run's queue time), the
 * tenant and the last customer done. Every item's idempotency key is `job:<run>:<chunk>:<item>`, so
 * a chunk redone after a kill (written, but killed before its checkpoint) comes back DUPLICATE and
 * changes nothing, and each item's change reaches the outbox once.
 */
import type { StoreSql } from '@hub/store';
import type { Domain } from '../domains.js';
import type { SyncEvent } from '../sync/types.js';
import { defineJob, type JobContext, type JobDefinition } from './types.js';

export interface ChunkItem {
  /** Stable within the run: the customer id, or `customer:feature`. */
  readonly key: string;
  readonly payload: Readonly<Record<string, unknown>>;
}

export interface CustomerChunkJobSpec {
  readonly name: string;
  readonly domain: Domain;
  readonly schedule: string | null;
  readonly description: string;
  /** The sync kind the items are written as (a `mutationOnly` kind of the domain's declaration). */
  readonly kind: string;
  /**
   * The domain's tables (with `"tenantId"` and `"customerId"` columns) whose customers the job rolls
   * up: the tenants, the customers walked and the run's `total` are derived from them here, once.
   */
  readonly customerTables: readonly string[];
  /** The payloads of one chunk of customers, as of `asOf`: one statement (or a few) for the chunk. */
  items(store: StoreSql, tenantId: string, customerIds: readonly string[], asOf: Date): Promise<readonly ChunkItem[]>;
  /** Customers per chunk. @default 500 */
  readonly chunkSize?: number;
}

interface Checkpoint {
  readonly asOf: string;
  readonly tenant: string | null;
  readonly after: string | null;
  readonly chunk: number;
  readonly processed: number;
  readonly failed: number;
}

function isCheckpoint(value: unknown): value is Checkpoint {
  return typeof value === 'object' && value !== null && typeof (value as Checkpoint).asOf === 'string';
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The walk over a job's customer tables: tenants, customers in id order, and their count. */
function customerWalk(tables: readonly string[]) {
  if (tables.length === 0 || !tables.every((table) => IDENTIFIER.test(table)))
    throw new Error(`customerTables must be table names: ${tables.join(', ')}`);
  const union = (column: string, where: string) =>
    tables.map((table) => `SELECT DISTINCT "${column}" FROM "${table}"${where}`).join(' UNION ');
  const customersOf = union('customerId', ` WHERE "tenantId" = $1`);
  return {
    async tenants(store: StoreSql): Promise<string[]> {
      const rows = await store.query<{ tenantId: string }>(`${union('tenantId', '')} ORDER BY 1`);
      return rows.map((r) => r.tenantId);
    },
    async customers(store: StoreSql, tenantId: string, after: string | null, limit: number): Promise<string[]> {
      const rows = await store.query<{ customerId: string }>(
        `SELECT "customerId" FROM (${customersOf}) c WHERE $2::text IS NULL OR "customerId" > $2
         ORDER BY "customerId" LIMIT ${Number(limit)}`,
        [tenantId, after],
      );
      return rows.map((r) => r.customerId);
    },
    async count(store: StoreSql, tenantId: string): Promise<number> {
      const [row] = await store.query<{ n: number }>(`SELECT count(*)::int AS n FROM (${customersOf}) c`, [tenantId]);
      return row?.n ?? 0;
    },
  };
}

export function defineCustomerChunkJob(spec: CustomerChunkJobSpec): JobDefinition {
  const chunkSize = spec.chunkSize ?? 500;
  const walk = customerWalk(spec.customerTables);
  return defineJob({
    name: spec.name,
    domain: spec.domain,
    schedule: spec.schedule,
    description: spec.description,
    tenants: walk.tenants,
    async run(ctx: JobContext) {
      const resume = isCheckpoint(ctx.resumeFrom) ? ctx.resumeFrom : null;
      const asOf = new Date(resume?.asOf ?? ctx.queuedAt.toISOString());
      const tenants = ctx.tenantId !== null ? [ctx.tenantId] : await walk.tenants(ctx.store);
      let processed = resume?.processed ?? 0;
      let failed = resume?.failed ?? 0;
      let chunk = resume?.chunk ?? 0;
      let total = 0;
      for (const tenantId of tenants) total += await walk.count(ctx.store, tenantId);
      // Tenants before the checkpoint's are done; the checkpoint's resumes after its last customer.
      const startAt = resume?.tenant ? Math.max(0, tenants.indexOf(resume.tenant)) : 0;
      for (const tenantId of tenants.slice(startAt)) {
        let after = resume && resume.tenant === tenantId ? resume.after : null;
        for (;;) {
          ctx.signal.throwIfAborted();
          const customers = await walk.customers(ctx.store, tenantId, after, chunkSize);
          if (customers.length === 0) break;
          const items = await spec.items(ctx.store, tenantId, customers, asOf);
          const events: SyncEvent[] = items.map((item) => ({
            kind: spec.kind,
            payload: item.payload,
            idempotencyKey: `job:${ctx.runId}:${chunk}:${item.key}`,
          }));
          const results = events.length > 0 ? await ctx.sync(tenantId).apply(events) : [];
          const rejected = results.filter((r) => r.outcome === 'REJECTED').length;
          processed += customers.length;
          failed += rejected;
          chunk += 1;
          after = customers[customers.length - 1] ?? after;
          const state: Checkpoint = { asOf: asOf.toISOString(), tenant: tenantId, after, chunk, processed, failed };
          await ctx.checkpoint(state, { processed, failed, total });
        }
      }
      return { processed, failed, details: { asOf: asOf.toISOString(), chunks: chunk, tenants: tenants.length } };
    },
  });
}
