/**
 * The two checks every domain's `reconcile` job runs (reconcile.ts; README "Reconciliation").
 *
 * `replica` — the local customer replica and grant replica (replica.ts) against the customers
 * domain, read as replicaFeed fills a new replica: its `_replicaSnapshot` (signed as this domain's
 * service principal), never SQL into the customers store. Per customer of the tenant: `missing` (no
 * live replica row), `different` (`ownerId`), `extra` (a live replica row the customers domain does
 * not have); per grant the same, with `customerIds`, `fields`, `revoked`. Repair writes the
 * snapshot's values into the replica (an erased customer's row stays deleted: the tombstone wins, as
 * in replicaFeed), marks extra rows deleted and extra grants revoked.
 *
 * `log` — the domain's rows against its event log, over the replay window (the outbox keeps
 * REPLAY_WINDOW_DAYS). "Matches" means, per row that an event of the window wrote (its sync payload's
 * `rows`: model, natural key, changed fields):
 *   - the row exists, unless its customer was deleted or erased after (a `*.customer_deleted` event,
 *     `hub_erased_customer`) or the domain's retention removes it by now;
 *   - for each field the window's events changed, the stored value equals the value of the latest
 *     such event (in commit order), compared as the engine compares (numerics as numbers, instants as
 *     instants, lists and objects canonically);
 *   - its provenance (`hub_sync_row_source`, else the row's own `sourceSystem`/`sourceUpdatedAt`, as the
 *     engine reads it: source and source time) is that event's source and source
 *     time, or a later source time (a later event from another source may vouch for the same value
 *     without changing it, which writes no event).
 * A row failing the first is `missing`; the others `different` with the fields. A row the pipeline
 * wrote in the window (its provenance record was updated then) that no event and no idempotency
 * record of the window names is `extra`: written behind the pipeline's back. Events older than the
 * window are gone (retention), so a field last changed before it is not checked.
 *
 * Repair of `log` differences re-applies the window's events of each differing row, in commit order,
 * through the domain's pipeline (writing as the events' own sources, as they were accepted). Two
 * records would make that re-drive a no-op where the row is wrong, and are stepped around on purpose:
 *   - the idempotency record of the event's key answers DUPLICATE: the re-drive uses its own keys
 *     (`reconcile:<run>:<event id>`), so the events are applied, and a repair retried is a DUPLICATE;
 *   - the stored provenance ties the event's own source time, and a tie keeps the stored value
 *     (conflicts.ts): the differing fields' provenance is cleared first, so the logged values win
 *     again under the rule, then later events win over earlier ones by their source times. A row
 *     missing is re-created by the first re-applied event.
 * Kinds re-apply as upserts (an `insert` kind would refuse the existing row, an `update` one the
 * missing row) and without their `afterApply` (e.g. demoting other primaries: the stored rows kept
 * that invariant; an old event must not re-impose it on rows it no longer concerns).
 * Consumer replays (`npm run sync:replay`) go the other way: the inbox skips what a consumer applied
 * (`hub_event_inbox`), which is right for a lost delivery and useless for a corrupted row — hence
 * fresh keys here, not a replay.
 */
import { attachStoreSql, type CustomerKeys, type StoreSql } from '@hub/store';
import { bookkeepingCryptoOf, fieldCryptoOf } from './crypto/index.js';
import { jobActor } from './audit.js';
import { canonicalJson } from './canonicalJson.js';
import type { Domain } from './domains.js';
import type { Difference, ReconcileCheck, ReconcileContext } from './reconcile.js';
import { upsertGrant, type ReplicaSnapshot } from './replicaFeed.js';
import { REPLAY_WINDOW_DAYS, retentionPolicies } from './retention.js';
import { createSyncPipeline } from './sync/engine.js';
import { plainValue, rowKeyText } from './sync/ids.js';
import { fieldSources, groupSources, tableInfo, type ColumnType, type FieldSources } from './sync/sql.js';
import type { SyncEventPayload } from './events/types.js';
import type { SyncDefinition, SyncEvent } from './sync/types.js';

const sortedText = (values: readonly string[]) => JSON.stringify([...values].sort());

/** The `replica` check of `domain`: `snapshot` reads the customers domain's customers and grants. */
export function replicaCheck(options: {
  snapshot: () => Promise<ReplicaSnapshot>;
  /** Waits until the replica applied the customers stream (so the comparison is not of a lagging replica). */
  caughtUp?: () => Promise<void>;
}): ReconcileCheck {
  return {
    name: 'replica',
    async check({ store, tenantId }) {
      await options.caughtUp?.();
      const snapshot = await options.snapshot();
      const customers = await store.query<{ customer_id: string; owner_id: string | null; deleted: boolean }>(
        `SELECT "customer_id", "owner_id", "deleted" FROM "hub_customer_replica" WHERE "tenant_id" = $1`,
        [tenantId],
      );
      const grants = await store.query<{ id: string; customer_ids: string[]; fields: string[]; revoked: boolean }>(
        `SELECT "id", "customer_ids", "fields", "revoked" FROM "hub_grant_replica" WHERE "tenant_id" = $1`,
        [tenantId],
      );
      const differences: Difference[] = [];
      let checked = 0;
      const replica = new Map(customers.map((row) => [row.customer_id, row]));
      const reference = snapshot.customers.filter((c) => c.tenantId === tenantId);
      const known = new Set(reference.map((c) => c.id));
      for (const customer of reference) {
        checked++;
        const row = replica.get(customer.id);
        const key = `customer:${customer.id}`;
        if (!row || row.deleted) differences.push({ check: 'replica', key, kind: 'missing', fields: [] });
        else if (row.owner_id !== customer.ownerId)
          differences.push({ check: 'replica', key, kind: 'different', fields: ['ownerId'] });
      }
      for (const row of customers) {
        if (row.deleted || known.has(row.customer_id)) continue;
        checked++;
        differences.push({ check: 'replica', key: `customer:${row.customer_id}`, kind: 'extra', fields: [] });
      }
      const replicaGrants = new Map(grants.map((row) => [row.id, row]));
      const referenceGrants = snapshot.grants.filter((g) => g.tenantId === tenantId);
      const knownGrants = new Set(referenceGrants.map((g) => g.id));
      for (const grant of referenceGrants) {
        checked++;
        const row = replicaGrants.get(grant.id);
        const key = `grant:${grant.id}`;
        if (!row) {
          differences.push({ check: 'replica', key, kind: 'missing', fields: [] });
          continue;
        }
        const fields: string[] = [];
        if (sortedText(row.customer_ids) !== sortedText(grant.customerIds)) fields.push('customerIds');
        if (sortedText(row.fields) !== sortedText(grant.fields)) fields.push('fields');
        if (row.revoked !== grant.revoked) fields.push('revoked');
        if (fields.length > 0) differences.push({ check: 'replica', key, kind: 'different', fields });
      }
      for (const row of grants) {
        if (row.revoked || knownGrants.has(row.id)) continue;
        checked++;
        differences.push({ check: 'replica', key: `grant:${row.id}`, kind: 'extra', fields: [] });
      }
      return { checked, differences };
    },
    async repair({ store, tenantId }, differences) {
      const snapshot = await options.snapshot();
      const customers = new Map(snapshot.customers.filter((c) => c.tenantId === tenantId).map((c) => [c.id, c]));
      const grants = new Map(snapshot.grants.filter((g) => g.tenantId === tenantId).map((g) => [g.id, g]));
      await store.transaction(async (tx) => {
        for (const difference of differences) {
          const [type, ...rest] = difference.key.split(':');
          const id = rest.join(':');
          if (type === 'customer') {
            const customer = customers.get(id);
            if (customer)
              // Never brings back an erased customer: the tombstone keeps the row deleted (replicaFeed).
              await tx.execute(
                `INSERT INTO "hub_customer_replica" ("tenant_id", "customer_id", "owner_id", "deleted")
                 VALUES ($1, $2, $3, EXISTS (SELECT 1 FROM "hub_erased_customer" WHERE "tenant_id" = $1 AND "customer_id" = $2))
                 ON CONFLICT ("tenant_id", "customer_id") DO UPDATE SET "owner_id" = EXCLUDED."owner_id",
                   "deleted" = EXCLUDED."deleted", "updated_at" = now()`,
                [tenantId, id, customer.ownerId],
              );
            else
              await tx.execute(
                `UPDATE "hub_customer_replica" SET "deleted" = true, "updated_at" = now()
                  WHERE "tenant_id" = $1 AND "customer_id" = $2`,
                [tenantId, id],
              );
          } else if (type === 'grant') {
            const grant = grants.get(id);
            if (grant) await upsertGrant(tx, grant, '');
            else
              await tx.execute(
                `UPDATE "hub_grant_replica" SET "revoked" = true, "updated_at" = now() WHERE "id" = $1 AND "tenant_id" = $2`,
                [id, tenantId],
              );
          }
        }
      });
    },
  };
}

interface LoggedField {
  readonly value: unknown;
  readonly source: string;
  readonly at: number;
}

interface LoggedRow {
  readonly model: string;
  readonly rowKey: string;
  readonly key: Record<string, unknown>;
  /** The ids (`model` + `id` of the payload) the events gave the row. */
  readonly ids: Set<string>;
  customerId: string | null;
  lastSeq: number;
  readonly fields: Map<string, LoggedField>;
  /** Outbox ids of the window's events that wrote the row, in commit order. */
  readonly events: string[];
}

interface LoggedEvent {
  readonly id: string;
  readonly seq: number;
  readonly type: string;
  readonly source: string;
  readonly occurredAt: string;
  readonly customerId: string | null;
  readonly payload: Partial<SyncEventPayload> & Record<string, unknown>;
}

const DAY_MS = 86_400_000;

function sameValue(stored: unknown, logged: unknown, type: ColumnType | undefined): boolean {
  const x = plainValue(stored, type) ?? null;
  const y = plainValue(logged, type) ?? null;
  if (x === null || y === null || typeof x !== 'object' || typeof y !== 'object') return x === y;
  return canonicalJson(x) === canonicalJson(y);
}

/** The `log` check of `domain` over its sync declaration's models. */
export function logCheck(options: {
  domain: Domain;
  definition: SyncDefinition;
  customerKeys: CustomerKeys;
  /** @default REPLAY_WINDOW_DAYS */
  windowDays?: number;
  /** After the re-drive committed (the kit wakes the relay, so its events leave at once). */
  onCommitted?: () => void;
}): ReconcileCheck {
  const { domain, definition, customerKeys } = options;
  const windowMs = (options.windowDays ?? REPLAY_WINDOW_DAYS) * DAY_MS;
  const models = Object.keys(definition.models);
  const retention = new Map(retentionPolicies(domain).map((policy) => [policy.table, policy]));

  /** The window's events and, per row they wrote, what the log says it holds. */
  async function readLog(store: StoreSql, tenantId: string, now: Date) {
    const since = new Date(now.getTime() - windowMs);
    const events = await store.query<{
      seq: string;
      id: string;
      type: string;
      source: string;
      occurred_at: Date | string;
      customer_id: string | null;
      payload: unknown;
    }>(
      `SELECT "seq"::text AS "seq", "id"::text AS "id", "type", "source", "occurred_at", "customer_id", "payload"
         FROM "hub_sync_outbox" WHERE "tenant_id" = $1 AND "committed_at" >= $2 ORDER BY "seq"`,
      [tenantId, since],
    );
    const byId = new Map<string, LoggedEvent>();
    const rows = new Map<string, LoggedRow>();
    /** Customer -> seq of its latest deletion event in the window. */
    const deleted = new Map<string, number>();
    const columns = new Map<string, ReadonlyMap<string, ColumnType>>();
    for (const model of models) columns.set(model, (await tableInfo(store, model)).columns);
    // The log's PII values are stored encrypted (crypto/bookkeeping.ts): compared and re-applied in plaintext.
    const books = bookkeepingCryptoOf(store);
    const prefix = `${domain}.`;
    for (const raw of events) {
      const parsed = (typeof raw.payload === 'string' ? JSON.parse(raw.payload) : raw.payload) as Record<
        string,
        unknown
      >;
      const kind = raw.type.startsWith(prefix) ? raw.type.slice(prefix.length) : raw.type;
      const payload = (books ? await books.openOutbox(tenantId, kind, parsed) : parsed) as LoggedEvent['payload'];
      const event: LoggedEvent = {
        id: raw.id,
        seq: Number(raw.seq),
        type: raw.type,
        source: raw.source,
        occurredAt: new Date(raw.occurred_at).toISOString(),
        customerId: raw.customer_id,
        payload,
      };
      byId.set(event.id, event);
      if (event.type.endsWith('.customer_deleted') && event.customerId) deleted.set(event.customerId, event.seq);
      if (!Array.isArray(payload.rows)) continue;
      for (const change of payload.rows) {
        const declared = definition.models[change.model];
        if (!declared) continue;
        const key = { ...change.key } as Record<string, unknown>;
        const rowKey = rowKeyText(declared.key, key, columns.get(change.model));
        const id = `${change.model}\u0000${rowKey}`;
        let row = rows.get(id);
        if (!row) {
          row = {
            model: change.model,
            rowKey,
            key,
            ids: new Set(),
            customerId: null,
            lastSeq: 0,
            fields: new Map(),
            events: [],
          };
          rows.set(id, row);
        }
        row.ids.add(`${change.model}\u0000${change.id}`);
        const column = customerKeys[change.model];
        const customer = column ? (key[column] ?? change.changed[column]) : undefined;
        if (typeof customer === 'string') row.customerId = customer;
        else if (row.customerId === null) row.customerId = event.customerId;
        row.lastSeq = event.seq;
        if (row.events.at(-1) !== event.id) row.events.push(event.id);
        const at = Date.parse(event.occurredAt);
        for (const [field, value] of Object.entries(change.changed))
          row.fields.set(field, { value, source: event.source, at });
      }
    }
    return { since, byId, rows, deleted, columns };
  }

  async function check(ctx: ReconcileContext) {
    const { store, tenantId, now } = ctx;
    const { since, rows, deleted, columns } = await readLog(store, tenantId, now);
    const erased = new Set(
      (
        await store.query<{ customer_id: string }>(
          `SELECT "customer_id" FROM "hub_erased_customer" WHERE "tenant_id" = $1`,
          [tenantId],
        )
      ).map((row) => row.customer_id),
    );
    const differences: Difference[] = [];
    let checked = 0;
    const expected = [...rows.values()].filter((row) => {
      if (row.customerId !== null && erased.has(row.customerId)) return false;
      if (row.customerId !== null && (deleted.get(row.customerId) ?? 0) > row.lastSeq) return false;
      // A row the domain's retention removes by now (e.g. raw usage past 13 months) is not expected.
      const policy = retention.get(row.model);
      const kept = policy ? (row.fields.get(policy.column)?.value ?? row.key[policy.column]) : undefined;
      if (policy && kept !== undefined && kept !== null && !policy.onlyWhen) {
        const time = Date.parse(String(plainValue(kept, 'time')));
        if (!Number.isNaN(time) && time < now.getTime() - policy.keepDays * DAY_MS) return false;
      }
      return true;
    });
    const named = new Set<string>();
    for (const row of rows.values()) named.add(`${row.model}\u0000${row.rowKey}`);
    const stored = new Map<string, Record<string, unknown>>();
    for (const model of models) {
      const declared = definition.models[model];
      const keys = expected.filter((row) => row.model === model).map((row) => row.key);
      if (!declared || keys.length === 0) continue;
      // One statement per model: the rows of the listed natural keys (as the engine reads them).
      const found = await store.query<{ row: Record<string, unknown> }>(
        `SELECT to_json(t) AS "row" FROM json_populate_recordset(NULL::"${model}", $2::json) k
           CROSS JOIN LATERAL (SELECT * FROM "${model}" t WHERE t."tenantId" = $1 AND ${declared.key
             .map((c) => `t."${c}" = k."${c}"`)
             .join(' AND ')} OFFSET 0) t`,
        [tenantId, JSON.stringify(keys)],
      );
      const rows = found.map(({ row }) =>
        typeof row === 'string' ? (JSON.parse(row) as Record<string, unknown>) : row,
      );
      // Encrypted columns compare as the engine compares them: decrypted (the log holds the values).
      await fieldCryptoOf(store)?.decodeRows(model, rows);
      for (const values of rows) {
        stored.set(`${model}\u0000${rowKeyText(declared.key, values, columns.get(model))}`, values);
      }
    }
    const provenance = new Map<string, FieldSources>();
    if (expected.length > 0) {
      const sources = await store.query<{ model: string; row_key: string; sources: unknown }>(
        `SELECT r."model", r."row_key", r."sources" FROM json_to_recordset($2::json) AS x(model text, row_key text)
           CROSS JOIN LATERAL (SELECT * FROM "hub_sync_row_source" r WHERE r."tenant_id" = $1
                                 AND r."model" = x.model AND r."row_key" = x.row_key OFFSET 0) r`,
        [tenantId, JSON.stringify(expected.map((row) => ({ model: row.model, row_key: row.rowKey })))],
      );
      for (const row of sources) provenance.set(`${row.model}\u0000${row.row_key}`, fieldSources(row.sources));
    }
    for (const row of expected) {
      checked++;
      const id = `${row.model}\u0000${row.rowKey}`;
      const key = `${row.model}:${row.rowKey}`;
      const values = stored.get(id);
      if (!values) {
        differences.push({ check: 'log', key, kind: 'missing', fields: [] });
        continue;
      }
      const sources = provenance.get(id) ?? {};
      // Without a record (or a field it does not name) the row's own columns speak for every field,
      // as the engine reads them (engine.ts legacySource): a new row written by one event has none.
      const time = values['sourceUpdatedAt'] ?? values['updatedAt'];
      const own = {
        s: typeof values['sourceSystem'] === 'string' ? values['sourceSystem'] : null,
        t: typeof time === 'string' ? time : null,
      };
      const fields: string[] = [];
      for (const [field, logged] of row.fields) {
        if (!sameValue(values[field], logged.value, columns.get(row.model)?.get(field))) {
          fields.push(field);
          continue;
        }
        const source = sources[field] ?? own;
        const at = source.t ? Date.parse(source.t) : NaN;
        if (Number.isNaN(at) || at < logged.at || (at === logged.at && source.s !== logged.source)) fields.push(field);
      }
      if (fields.length > 0) differences.push({ check: 'log', key, kind: 'different', fields: fields.sort() });
    }
    // Extra: provenance written in the window for a row that no event and no idempotency record names.
    const recent = await store.query<{ model: string; row_key: string }>(
      `SELECT "model", "row_key" FROM "hub_sync_row_source" WHERE "tenant_id" = $1 AND "updated_at" >= $2
         AND "model" = ANY($3::text[])`,
      [tenantId, since, models],
    );
    const unnamed = recent.filter((r) => !named.has(`${r.model}\u0000${r.row_key}`));
    if (unnamed.length > 0) {
      const refs = new Set<string>();
      const outcomes = await store.query<{ result: unknown }>(
        `SELECT "result" FROM "hub_sync_idempotency" WHERE "tenant_id" = $1 AND "created_at" >= $2`,
        [tenantId, since],
      );
      for (const { result } of outcomes) {
        const parsed = (typeof result === 'string' ? JSON.parse(result) : result) as {
          rows?: { model: string; id: string }[];
        };
        for (const ref of parsed?.rows ?? []) refs.add(`${ref.model}\u0000${ref.id}`);
      }
      for (const candidate of unnamed) {
        const declared = definition.models[candidate.model];
        if (!declared) continue;
        const keyValues = JSON.parse(candidate.row_key) as unknown[];
        const key = Object.fromEntries(declared.key.map((column, i) => [column, keyValues[i]]));
        const [found] = await store.query<{ row: Record<string, unknown> }>(
          `SELECT to_json(t) AS "row" FROM json_populate_record(NULL::"${candidate.model}", $2::json) k
             JOIN "${candidate.model}" t ON t."tenantId" = $1 AND ${declared.key.map((c) => `t."${c}" = k."${c}"`).join(' AND ')}`,
          [tenantId, JSON.stringify(key)],
        );
        if (!found) continue; // provenance of a row that is gone: nothing to compare
        const values = typeof found.row === 'string' ? (JSON.parse(found.row) as Record<string, unknown>) : found.row;
        const rowId = typeof values['id'] === 'string' ? values['id'] : candidate.row_key;
        if (refs.has(`${candidate.model}\u0000${rowId}`)) continue;
        checked++;
        differences.push({ check: 'log', key: `${candidate.model}:${candidate.row_key}`, kind: 'extra', fields: [] });
      }
    }
    return { checked, differences };
  }

  /** The declaration the re-drive applies with: every kind an upsert, without `afterApply` (see the module comment). */
  const redrive: SyncDefinition = {
    ...definition,
    kinds: definition.kinds.map((kind) => ({ ...kind, mode: 'upsert' as const, afterApply: undefined })),
  };

  return {
    name: 'log',
    check,
    async repair(ctx, differences) {
      const { store, tenantId, runId, now } = ctx;
      const { byId, rows } = await readLog(store, tenantId, now);
      const wanted = new Map(differences.filter((d) => d.kind !== 'extra').map((d) => [d.key, d]));
      const eventIds = new Set<string>();
      const resets: { model: string; rowKey: string; customerId: string | null; fields: readonly string[] }[] = [];
      for (const row of rows.values()) {
        const difference = wanted.get(`${row.model}:${row.rowKey}`);
        if (!difference) continue;
        for (const id of row.events) eventIds.add(id);
        if (difference.kind === 'different')
          resets.push({ model: row.model, rowKey: row.rowKey, customerId: row.customerId, fields: difference.fields });
      }
      if (eventIds.size === 0) return;
      // The differing fields' provenance, cleared: the logged values win again under the conflict rule.
      await store.transaction(async (tx) => {
        for (const reset of resets) {
          const [row] = await tx.query<{ sources: unknown }>(
            `SELECT "sources" FROM "hub_sync_row_source" WHERE "tenant_id" = $1 AND "model" = $2 AND "row_key" = $3 FOR UPDATE`,
            [tenantId, reset.model, reset.rowKey],
          );
          // No record: the row's own columns speak for its fields; a record naming the reset ones overrides them.
          const stored: unknown = row ? (typeof row.sources === 'string' ? JSON.parse(row.sources) : row.sources) : [];
          const sources = { ...fieldSources(stored) };
          for (const field of reset.fields) sources[field] = { s: null, t: null };
          await tx.execute(
            `INSERT INTO "hub_sync_row_source" ("tenant_id", "model", "row_key", "customer_id", "sources", "updated_at")
             VALUES ($1, $2, $3, $4, $5::jsonb, now())
             ON CONFLICT ("tenant_id", "model", "row_key") DO UPDATE SET "sources" = EXCLUDED."sources", "updated_at" = now()`,
            [tenantId, reset.model, reset.rowKey, reset.customerId, JSON.stringify(groupSources(sources))],
          );
        }
      });
      const prefix = `${domain}.`;
      const events: SyncEvent[] = [...eventIds]
        .map((id) => byId.get(id))
        .filter((event): event is LoggedEvent => event !== undefined && event.type.startsWith(prefix))
        .sort((a, b) => a.seq - b.seq)
        .map((event) => ({
          kind: event.type.slice(prefix.length),
          payload: (event.payload.data ?? {}) as Record<string, unknown>,
          source: event.source,
          idempotencyKey: `reconcile:${runId}:${event.id}`,
        }));
      const client = {};
      attachStoreSql(client, store);
      // As the events were accepted: their own sources, system-of-record ones included; tenant-wide.
      const pipeline = createSyncPipeline({
        definition: redrive,
        client,
        scope: { tenantId, customerIds: null },
        customerKeys,
        defaultSource: `job:reconcile`,
        claimableSources: 'all',
        // The audit trail records the re-drive as the reconcile run's own change.
        actor: jobActor('reconcile', runId),
        onCommitted: options.onCommitted,
      });
      await pipeline.apply(events);
    },
  };
}
