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
  /** Tenants with data to roll up, ordered. */
  tenants(store: StoreSql): Promise<readonly string[]>;
  /** The tenant's customers to roll up, in ascending id order, after `after` (null: from the first), at most `limit`. */
  customers(store: StoreSql, tenantId: string, after: string | null, limit: number): Promise<readonly string[]>;
  /** How many customers `customers` walks (the run's `total`). */
  countCustomers(store: StoreSql, tenantId: string): Promise<number>;
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

export function defineCustomerChunkJob(spec: CustomerChunkJobSpec): JobDefinition {
  const chunkSize = spec.chunkSize ?? 500;
  return defineJob({
    name: spec.name,
    domain: spec.domain,
    schedule: spec.schedule,
    description: spec.description,
    tenants: spec.tenants,
    async run(ctx: JobContext) {
      const resume = isCheckpoint(ctx.resumeFrom) ? ctx.resumeFrom : null;
      const asOf = new Date(resume?.asOf ?? ctx.queuedAt.toISOString());
      const tenants = ctx.tenantId !== null ? [ctx.tenantId] : await spec.tenants(ctx.store);
      let processed = resume?.processed ?? 0;
      let failed = resume?.failed ?? 0;
      let chunk = resume?.chunk ?? 0;
      let total = 0;
      for (const tenantId of tenants) total += await spec.countCustomers(ctx.store, tenantId);
      // Tenants before the checkpoint's are done; the checkpoint's resumes after its last customer.
      const startAt = resume?.tenant ? Math.max(0, tenants.indexOf(resume.tenant)) : 0;
      for (const tenantId of tenants.slice(startAt)) {
        let after = resume && resume.tenant === tenantId ? resume.after : null;
        for (;;) {
          ctx.signal.throwIfAborted();
          const customers = await spec.customers(ctx.store, tenantId, after, chunkSize);
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
