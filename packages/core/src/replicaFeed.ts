/**
 * What keeps the local customer replica (replica.ts) current, defined once and registered by the
 * subgraph kit in every domain but customers:
 *   - `replicaConsumer(domain)`: a consumer of the customers stream (events/consumer.ts: inbox dedupe,
 *     in-order retries) applying customer rows (create, update, record sync, CSM reassignment),
 *     deletions and grant events to the replica tables, in the consumer's transaction;
 *   - `bootstrapReplica`: a store that has never been filled takes a snapshot of the customers store
 *     first (`_replicaSnapshot`), because the stream does not hold rows written without events (the
 *     demo seed, anything older than the stream's retention); the consumer then reads the stream
 *     from its beginning, so every change after the snapshot is applied in order;
 *   - `waitCaughtUp`: the subgraph says it is ready only once the replica reached the stream's head.
 */
import { randomUUID } from 'node:crypto';
import type { SqlTx, StoreSql } from '@hub/store';
import { consumerActor, type AuditActor } from './audit.js';
import type { Domain } from './domains.js';
import { CUSTOMER_ERASED, eraseInStore, type ErasurePlan } from './erasure.js';
import { defineConsumer, type ConsumerDefinition, type EventBus, type EventEnvelope } from './events/types.js';
import { STREAM_TENANT } from './events/remote.js';
import type { Logger } from './logger.js';
import { REQUEST_ID_HEADER, VIEWER_HEADER, servicePrincipal, type ViewerSigner } from './viewer.js';

/** Customers-stream events the replica applies: every kind that writes a Customer row, deletions, grants. */
export const REPLICA_EVENT_TYPES = [
  'customers.customer_record_sync',
  'customers.create_customer',
  'customers.update_customer',
  'customers.assign_owner',
  'customers.customer_deleted',
  CUSTOMER_ERASED,
  'customers.api_key_granted',
  'customers.api_key_revoked',
] as const;

/** Payload of `customers.api_key_granted` / `customers.api_key_revoked` (never the secret or its hash). */
export interface GrantEventPayload {
  readonly id: string;
  readonly tenantId: string;
  readonly customerIds: readonly string[];
  readonly fields: readonly string[];
  readonly revoked: boolean;
}

export const replicaConsumerName = (domain: Domain) => `${domain}.customer-replica`;

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const strings = (value: unknown): string[] =>
  Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];

async function upsertCustomer(tx: SqlTx, tenantId: string, customerId: string, ownerId: unknown, cursor: string) {
  // An event that does not change the owner keeps the stored one; a row written again is live again.
  await tx.execute(
    // ... except an erased one: an older event replayed from the bus (JetStream keeps payloads the
    // stores scrubbed) must not bring it back.
    `INSERT INTO "hub_customer_replica" ("tenant_id", "customer_id", "owner_id", "deleted", "cursor", "updated_at")
     VALUES ($1, $2, $3,
             EXISTS (SELECT 1 FROM "hub_erased_customer" WHERE "tenant_id" = $1 AND "customer_id" = $2), $4, now())
     ON CONFLICT ("tenant_id", "customer_id") DO UPDATE SET
       "owner_id" = coalesce(EXCLUDED."owner_id", "hub_customer_replica"."owner_id"),
       "deleted" = EXCLUDED."deleted", "cursor" = EXCLUDED."cursor", "updated_at" = now()`,
    [tenantId, customerId, typeof ownerId === 'string' ? ownerId : null, cursor],
  );
}

export async function upsertGrant(tx: SqlTx, grant: GrantEventPayload, cursor: string) {
  await tx.execute(
    `INSERT INTO "hub_grant_replica" ("id", "tenant_id", "customer_ids", "fields", "revoked", "cursor", "updated_at")
     VALUES ($1, $2, $3::text[], $4::text[], $5, $6, now())
     ON CONFLICT ("id") DO UPDATE SET "tenant_id" = EXCLUDED."tenant_id", "customer_ids" = EXCLUDED."customer_ids",
       "fields" = EXCLUDED."fields", "revoked" = EXCLUDED."revoked", "cursor" = EXCLUDED."cursor", "updated_at" = now()`,
    [grant.id, grant.tenantId, [...grant.customerIds], [...grant.fields], grant.revoked, cursor],
  );
}

/**
 * Applies one customers-stream event to the replica tables in `tx`; an erasure also erases the
 * customer's rows of this domain (`plan`) in the same transaction, so the tombstone and the
 * erasure commit together.
 */
export async function applyReplicaEvent(
  tx: SqlTx,
  event: EventEnvelope,
  plan?: ErasurePlan,
  actor: AuditActor = consumerActor(plan ? replicaConsumerName(plan.domain) : 'customer-replica'),
): Promise<void> {
  const { payload, tenantId, cursor } = event;
  if (event.type === CUSTOMER_ERASED) {
    if (event.customerId === null) return;
    await tx.execute(
      `INSERT INTO "hub_customer_replica" ("tenant_id", "customer_id", "deleted", "cursor") VALUES ($1, $2, true, $3)
       ON CONFLICT ("tenant_id", "customer_id") DO UPDATE SET "deleted" = true, "cursor" = EXCLUDED."cursor", "updated_at" = now()`,
      [tenantId, event.customerId, cursor],
    );
    if (!plan) throw new Error(`replica: ${CUSTOMER_ERASED} needs the domain's erasure plan`);
    const requestedBy = typeof payload['requestedBy'] === 'string' ? payload['requestedBy'] : event.source;
    await eraseInStore(tx, plan, tenantId, event.customerId, requestedBy, actor);
    return;
  }
  if (event.type === 'customers.customer_deleted') {
    if (event.customerId === null) return;
    await tx.execute(
      `INSERT INTO "hub_customer_replica" ("tenant_id", "customer_id", "deleted", "cursor") VALUES ($1, $2, true, $3)
       ON CONFLICT ("tenant_id", "customer_id") DO UPDATE SET "deleted" = true, "cursor" = EXCLUDED."cursor", "updated_at" = now()`,
      [tenantId, event.customerId, cursor],
    );
    return;
  }
  if (event.type === 'customers.api_key_granted' || event.type === 'customers.api_key_revoked') {
    const id = payload['id'];
    if (typeof id !== 'string') return;
    await upsertGrant(
      tx,
      {
        id,
        tenantId,
        customerIds: strings(payload['customerIds']),
        fields: strings(payload['fields']),
        revoked: event.type === 'customers.api_key_revoked' || payload['revoked'] === true,
      },
      cursor,
    );
    return;
  }
  // A sync event (SyncEventPayload): the Customer rows it changed, with their changed columns.
  const rows = Array.isArray(payload['rows']) ? payload['rows'] : [];
  for (const row of rows) {
    if (!isRecord(row) || row['model'] !== 'Customer') continue;
    const key = isRecord(row['key']) ? row['key'] : {};
    const customerId = typeof key['id'] === 'string' ? key['id'] : row['id'];
    if (typeof customerId !== 'string') continue;
    const changed = isRecord(row['changed']) ? row['changed'] : {};
    await upsertCustomer(tx, tenantId, customerId, changed['ownerId'], cursor);
  }
}

/** The replica's consumer in `domain` (the kit registers it beside the domain's own consumers). */
export function replicaConsumer(domain: Domain, erasure: ErasurePlan): ConsumerDefinition {
  return defineConsumer({
    name: replicaConsumerName(domain),
    from: 'customers',
    types: REPLICA_EVENT_TYPES,
    source: 'customer-replica',
    start: { from: 'beginning' },
    handle: ({ tx, event }) => applyReplicaEvent(tx, event, erasure),
    // Plain writes in the consumer's transaction (no sync pipeline, so no outbox lock held between
    // events): a batch of deliveries applies in one transaction, as a catch-up after an import needs.
    async handleBatch({ tx, events }) {
      for (const event of events) await applyReplicaEvent(tx, event, erasure);
    },
  });
}

export interface ReplicaSnapshot {
  readonly customers: readonly { tenantId: string; id: string; ownerId: string }[];
  readonly grants: readonly GrantEventPayload[];
}

const SNAPSHOT_QUERY = `query ReplicaSnapshot {
  _replicaSnapshot {
    customers { tenantId id ownerId }
    grants { id tenantId customerIds fields revoked }
  }
}`;

/** Reads the customers store's current customers and grants, as this domain's service principal. */
export function createSnapshotReader(options: { self: Domain; customersUrl: string; signer: ViewerSigner }) {
  return async (): Promise<ReplicaSnapshot> => {
    const request = { query: SNAPSHOT_QUERY };
    const requestId = randomUUID();
    const principal = servicePrincipal(options.self, STREAM_TENANT, requestId);
    const response = await fetch(options.customersUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        [VIEWER_HEADER]: options.signer.sign(principal, 'customers', request),
        [REQUEST_ID_HEADER]: requestId,
      },
      body: JSON.stringify(request),
      signal: AbortSignal.timeout(30_000),
    });
    const body = (await response.json()) as {
      data?: { _replicaSnapshot?: ReplicaSnapshot };
      errors?: { message: string }[];
    };
    const snapshot = body.data?._replicaSnapshot;
    if (!response.ok || body.errors || !snapshot)
      throw new Error(`customers _replicaSnapshot: ${body.errors?.[0]?.message ?? `HTTP ${response.status}`}`);
    return snapshot;
  };
}

const CHUNK = 1_000;

/**
 * Fills a never-filled replica from a snapshot, in one transaction with its `hub_replica_state` row
 * (so a crash halfway takes the snapshot again). Retries until the customers subgraph answers or
 * `signal` aborts. A store that has its state row is left alone: the consumer resumes from its cursor.
 */
export async function bootstrapReplica(options: {
  sql: StoreSql;
  read: () => Promise<ReplicaSnapshot>;
  log: Logger;
  signal?: AbortSignal;
  retryMs?: number;
}): Promise<'snapshot' | 'present'> {
  const { sql, log } = options;
  const [state] = await sql.query(`SELECT 1 FROM "hub_replica_state" WHERE "source" = 'customers'`);
  if (state) return 'present';
  let snapshot: ReplicaSnapshot | undefined;
  while (!snapshot) {
    try {
      snapshot = await options.read();
    } catch (error) {
      if (options.signal?.aborted) throw error;
      log.warn({ err: error }, 'customer replica snapshot failed; retrying');
      await new Promise((resolve) => setTimeout(resolve, options.retryMs ?? 500));
    }
  }
  const taken = snapshot;
  await sql.transaction(async (tx) => {
    for (let i = 0; i < taken.customers.length; i += CHUNK) {
      const chunk = taken.customers.slice(i, i + CHUNK);
      await tx.execute(
        `INSERT INTO "hub_customer_replica" ("tenant_id", "customer_id", "owner_id")
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[])
         ON CONFLICT ("tenant_id", "customer_id") DO UPDATE SET "owner_id" = EXCLUDED."owner_id", "deleted" = false`,
        [chunk.map((c) => c.tenantId), chunk.map((c) => c.id), chunk.map((c) => c.ownerId)],
      );
    }
    for (const grant of taken.grants) await upsertGrant(tx, grant, '');
    await tx.execute(`INSERT INTO "hub_replica_state" ("source", "customers", "grants") VALUES ('customers', $1, $2)`, [
      taken.customers.length,
      taken.grants.length,
    ]);
  });
  log.info({ customers: taken.customers.length, grants: taken.grants.length }, 'customer replica snapshot taken');
  return 'snapshot';
}

/** Whether `domain`'s replica consumer has customers-stream events it has not applied. */
export function replicaBehind(bus: EventBus, domain: Domain): () => Promise<boolean> {
  return async () => (await bus.lag('customers', replicaConsumerName(domain))).pending > 0;
}

/** Resolves once the replica reached the stream's head (or after `timeoutMs`, logged: it goes on catching up). */
export async function waitCaughtUp(behind: () => Promise<boolean>, log: Logger, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if (!(await behind())) return;
    } catch (error) {
      log.debug({ err: error }, 'customer replica lag unknown');
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  log.warn({ timeoutMs }, 'customer replica still behind the customers stream; serving while it catches up');
}
