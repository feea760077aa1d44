/**
 * One outbox row written outside the sync pipeline, in the caller's own transaction: for the few
 * writes that deliberately bypass the engine (createApiKey / revokeApiKey, whose secrets must never
 * land in idempotency records, and deleteCustomer). Same table, same ordering lock as the engine's
 * own outbox writes (engine.ts): the lock is taken right before the insert, as the transaction's
 * last statements, so the row's `seq` order is its commit order and the relay never steps over it.
 */
import { OUTBOX_LOCK_SQL } from './engine.js';
import { uuidv7 } from './ids.js';

/** A Prisma client or interactive transaction (the raw statement form both have). */
export interface RawExecutor {
  $executeRawUnsafe(sql: string, ...values: unknown[]): Promise<number>;
}

export interface OutboxRow {
  readonly tenantId: string;
  /** The customer the change is about; null for tenant-wide changes (grants). */
  readonly customerId: string | null;
  /** `<domain>.<kind>`, e.g. `customers.api_key_granted`. */
  readonly type: string;
  readonly source: string;
  readonly payload: Readonly<Record<string, unknown>>;
  /** Source time; now by default. */
  readonly occurredAt?: Date;
}

/** Appends `row` to the store's outbox inside `tx`; the relay publishes it after the commit. Returns its id. */
export async function appendOutbox(tx: RawExecutor, row: OutboxRow): Promise<string> {
  const id = uuidv7();
  await tx.$executeRawUnsafe(OUTBOX_LOCK_SQL);
  await tx.$executeRawUnsafe(
    `INSERT INTO "hub_sync_outbox" ("id", "tenant_id", "customer_id", "type", "source", "occurred_at", "payload")
     VALUES ($1::uuid, $2, $3, $4, $5, $6::timestamptz, $7::jsonb)`,
    id,
    row.tenantId,
    row.customerId,
    row.type,
    row.source,
    (row.occurredAt ?? new Date()).toISOString(),
    JSON.stringify(row.payload),
  );
  return id;
}
