/**
 * The engine's SQL: a handful of set-based statements per batch, each taking its rows as one JSON
 * parameter (`json_populate_recordset(NULL::"Model", $n::json)` types them by the table's own row
 * type), so a batch of 1,000 events costs about a dozen statements, never one per event.
 * Table and column names come from the domain's declaration and the catalog, never from payloads;
 * they are still checked to be plain identifiers before being quoted into SQL.
 */
import type { SqlTx, StoreSql } from '@hub/store';
import type { QualityScore, SqlExecutor } from './types.js';

/** The part of a generated PrismaClient the engine uses (raw SQL and interactive transactions). */
export interface RawSqlClient {
  $queryRawUnsafe<T = unknown>(query: string, ...values: unknown[]): Promise<T>;
  $executeRawUnsafe(query: string, ...values: unknown[]): Promise<number>;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function ident(name: string): string {
  if (!IDENTIFIER.test(name)) throw new Error(`sync: ${JSON.stringify(name)} is not a plain SQL identifier`);
  return `"${name}"`;
}

/** SqlExecutor plus `execute` (affected row count) for statements whose rows nobody reads. */
export interface Executor extends SqlExecutor {
  execute(sql: string, ...params: unknown[]): Promise<number>;
}

export function executor(client: RawSqlClient): Executor {
  return {
    query: <T>(sql: string, ...params: unknown[]) => client.$queryRawUnsafe<T[]>(sql, ...params),
    // Prisma decodes every returned row column by column, which costs more than the statement
    // itself for a 1,000-row answer: writes return nothing, reads return one JSON value.
    execute: (sql: string, ...params: unknown[]) => client.$executeRawUnsafe(sql, ...params),
  };
}

/** The engine's statements on the store's own driver (`@hub/store` sql.ts), inside its transaction. */
export function driverExecutor(tx: SqlTx): Executor {
  return {
    query: <T>(sql: string, ...params: unknown[]) => tx.query<T>(sql, params),
    execute: (sql: string, ...params: unknown[]) => tx.execute(sql, params),
  };
}

/** An executor whose writes the engine sends without waiting for their answers (`orderedExecutor`). */
export interface OrderedExecutor extends Executor {
  /** Let a statement (or a function sending some) run on while the engine goes on; `settle` reports its failure. */
  track(sent: Promise<unknown>): void;
  /** Waits for every statement sent so far; throws the first failure, in the order they were sent. */
  settle(): Promise<void>;
  /**
   * After `error` broke off the work: sends nothing more and waits for the statement in flight, so
   * the driver's ROLLBACK cannot overtake a queued write (which would then run outside the
   * transaction). Returns the error to report: the store's earlier failure if there was one.
   */
  abort(error: unknown): Promise<unknown>;
}

/**
 * The transaction's statements, one at a time and in the order sent (both drivers need that on
 * one connection), without the engine waiting for the answer of each write: the JSON of the next
 * statement is built while the store runs the previous one, so Node and Postgres — the two cores
 * of a small machine — work at the same time instead of taking turns. After a failure nothing
 * more is sent and every later statement, read or write, fails with that first error, so the
 * caller sees the store's own refusal (what `runBatch` isolates), not "transaction is aborted".
 */
export function orderedExecutor(tx: SqlTx): OrderedExecutor {
  let tail: Promise<unknown> = Promise.resolve();
  let failure: { error: unknown } | null = null;
  const enqueue = <T>(run: () => Promise<T>): Promise<T> => {
    const result = tail.then(() => {
      if (failure) throw failure.error;
      return run();
    });
    tail = result.then(
      () => undefined,
      (error: unknown) => {
        failure ??= { error };
      },
    );
    return result;
  };
  return {
    query: <T>(sql: string, ...params: unknown[]) => enqueue(() => tx.query<T>(sql, params)),
    execute: (sql: string, ...params: unknown[]) => enqueue(() => tx.execute(sql, params)),
    track(sent) {
      sent.catch((error: unknown) => {
        failure ??= { error };
      });
    },
    async settle() {
      // A tracked function may send its statement after an await of its own: wait until the queue is still.
      for (let seen: Promise<unknown> | null = null; seen !== tail;) {
        seen = tail;
        await seen;
        await Promise.resolve();
      }
      if (failure) throw failure.error;
    },
    async abort(error) {
      failure ??= { error };
      await tail;
      return failure.error;
    },
  };
}

/** The rows of `sql` aggregated into one JSON value (see `executor`), as plain JSON values. */
async function queryJson<T>(db: SqlExecutor, sql: string, ...params: unknown[]): Promise<T[]> {
  const [row] = await db.query<{ rows: unknown }>(
    `SELECT coalesce(json_agg(r), '[]'::json) AS rows FROM (${sql}) r`,
    ...params,
  );
  const rows = row?.rows ?? [];
  return (typeof rows === 'string' ? JSON.parse(rows) : rows) as T[];
}

/**
 * JSON for a statement parameter. Plain JSON.stringify: a replacer function runs for every value
 * and was the engine's top CPU cost; Prisma Decimals and Dates serialize themselves.
 */
export function jsonParam(value: unknown): string {
  return JSON.stringify(value);
}

/** What the engine needs to know of a domain table, read from the catalog once per client. */
export interface TableInfo {
  /** Column name -> how its values compare: as numbers, as instants, or as they are. */
  readonly columns: ReadonlyMap<string, ColumnType>;
}

/** numeric: a Money string vs a stored JSON number; time: a Date vs `2025-11-01` or `…+00:00` text. */
export type ColumnType = 'numeric' | 'time' | 'other';

function columnType(dataType: string): ColumnType {
  if (dataType === 'numeric') return 'numeric';
  if (dataType === 'date' || dataType.startsWith('timestamp')) return 'time';
  return 'other';
}

const tableCache = new WeakMap<object, Map<string, Promise<TableInfo>>>();

/** Columns of `model`'s table in the store's current schema (cached per client). */
/** `via`: run the lookup there (the caller's open transaction, which a single-connection store needs); cached per `store`. */
export function tableInfo(store: StoreSql, model: string, via: Pick<StoreSql, 'query'> = store): Promise<TableInfo> {
  let perClient = tableCache.get(store);
  if (!perClient) tableCache.set(store, (perClient = new Map()));
  let info = perClient.get(model);
  if (!info) {
    info = via
      .query<{ column_name: string; data_type: string }>(
        `SELECT column_name, data_type FROM information_schema.columns
          WHERE table_schema = current_schema() AND table_name = $1`,
        [model],
      )
      .then((rows) => {
        if (rows.length === 0) throw new Error(`sync: table "${model}" does not exist in the store`);
        return { columns: new Map(rows.map((r) => [r.column_name, columnType(r.data_type)])) };
      });
    info.catch(() => perClient?.delete(model));
    perClient.set(model, info);
  }
  return info;
}

/**
 * Ends the LATERAL subquery of a lookup by a list of keys, so the plan is one index probe per key
 * whatever the statistics say: `OFFSET 0` keeps the planner from flattening the subquery into a
 * join it may order the other way. With `col IN (SELECT ... FROM json_...)` a tenant that is new
 * to the statistics (estimated 1 row) got a nested loop re-reading the whole key list per stored
 * row: 3.9 s per batch of 1,000 usage events in bench:sync, 23.8 s for 4,000 keys against 20,000
 * rows in EXPLAIN ANALYZE, against 71 ms this way.
 */
const KEY_DRIVEN = 'OFFSET 0';

/** Stored rows of `model` whose natural keys are among `keys` (tenant-confined), as JSON values. */
export async function readRows(
  db: SqlExecutor,
  model: string,
  key: readonly string[],
  tenantId: string,
  keys: readonly Record<string, unknown>[],
): Promise<Record<string, unknown>[]> {
  const cols = key.map(ident);
  return queryJson(
    db,
    `SELECT t.* FROM json_populate_recordset(NULL::${ident(model)}, $2::json) k
      CROSS JOIN LATERAL (SELECT * FROM ${ident(model)} t
                           WHERE t."tenantId" = $1 AND ${cols.map((c) => `t.${c} = k.${c}`).join(' AND ')} ${KEY_DRIVEN}) t`,
    tenantId,
    jsonParam(keys),
  );
}

/**
 * One multi-row upsert; `columns` is every column the rows carry (the same set for all of them).
 * `insertOnly`: rows known to be absent (read under their row locks), inserted without ON CONFLICT.
 */
export async function upsertRows(
  db: Executor,
  model: string,
  key: readonly string[],
  columns: readonly string[],
  rows: readonly Record<string, unknown>[],
  options: { insertOnly?: boolean } = {},
): Promise<void> {
  const list = columns.map(ident).join(', ');
  const conflictKey = ['tenantId', ...key];
  // Never rewritten on an existing row: its identity, natural key and creation time.
  const updatable = columns.filter((c) => !conflictKey.includes(c) && c !== 'id' && c !== 'createdAt');
  const action =
    updatable.length === 0
      ? 'DO NOTHING'
      : `DO UPDATE SET ${updatable.map((c) => `${ident(c)} = EXCLUDED.${ident(c)}`).join(', ')}`;
  const sent = rowsParams(columns, rows);
  await db.execute(
    `INSERT INTO ${ident(model)} (${list})
     SELECT ${list} FROM ${populated(model, 1)}${
       options.insertOnly ? '' : `\n     ON CONFLICT (${conflictKey.map(ident).join(', ')}) ${action}`
     }`,
    sent.base,
    sent.rows,
  );
}

export interface StoredOutcome {
  key: string;
  outcome: string;
  result: unknown;
  /** The event's quality (null for records written before it was kept in the record). */
  quality: QualityScore | null;
}

/**
 * Stored outcomes of `keys`. Read after `lockRows` took the keys' advisory locks, in a statement
 * of its own: under READ COMMITTED each statement takes a new snapshot, so a batch that waited
 * for another holding one of its keys sees that batch's committed outcome and answers DUPLICATE.
 */
export function readOutcomes(db: SqlExecutor, tenantId: string, keys: readonly string[]): Promise<StoredOutcome[]> {
  if (keys.length === 0) return Promise.resolve([]);
  return queryJson<StoredOutcome>(
    db,
    `SELECT i."key", i."outcome", i."result",
            CASE WHEN i."score" IS NULL THEN NULL
                 ELSE json_build_object('completeness', i."completeness", 'validity', i."validity",
                                        'consistency', i."consistency", 'timeliness', i."timeliness",
                                        'score', i."score") END AS quality
       FROM json_array_elements_text($2::json) AS k(key)
      CROSS JOIN LATERAL (SELECT * FROM "hub_sync_idempotency" i
                           WHERE i."tenant_id" = $1 AND i."key" = k.key ${KEY_DRIVEN}) i`,
    tenantId,
    jsonParam(keys),
  );
}

/** Transaction-scoped advisory locks on the touched rows, taken in sorted order. */
export async function lockRows(db: SqlExecutor, lockKeys: readonly bigint[]): Promise<void> {
  if (lockKeys.length === 0) return;
  const sorted = [...new Set(lockKeys)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).map(String);
  await db.query(
    `SELECT count(pg_advisory_xact_lock(k)) AS locked
       FROM (SELECT value::bigint AS k FROM json_array_elements_text($1::json) ORDER BY 1) AS keys`,
    jsonParam(sorted),
  );
}

export type FieldSources = Record<string, { s: string | null; t: string | null }>;

/**
 * `hub_sync_row_source.sources` as stored: the row's fields grouped by their source and source
 * time, `[[source, time, [field, ...]], ...]`. A row's fields mostly share one source and time
 * (always so for a new row): the per-field object `{field: {s, t}}` was the largest parameter and
 * the most expensive statement of a batch (430 KB of JSON per 1,000 single-row events).
 */
export type StoredSources = [string | null, string | null, string[]][];

export function groupSources(sources: Readonly<FieldSources>): StoredSources {
  // The usual case, a new row: every field holds the same source object (engine.ts `decide`).
  let only: { s: string | null; t: string | null } | undefined;
  let one = true;
  for (const field in sources) {
    const entry = sources[field];
    if (only === undefined) only = entry;
    else if (entry !== only) {
      one = false;
      break;
    }
  }
  if (only === undefined) return [];
  if (one) return [[only.s, only.t, Object.keys(sources)]];
  const groups = new Map<string, [string | null, string | null, string[]]>();
  for (const field in sources) {
    const { s, t } = sources[field] as { s: string | null; t: string | null };
    const id = `${s}\u0000${t}`;
    const group = groups.get(id);
    if (group) group[2].push(field);
    else groups.set(id, [s, t, [field]]);
  }
  return [...groups.values()];
}

/** The per-field form of stored sources (rows written before the grouped form are per-field objects). */
export function fieldSources(stored: unknown): FieldSources {
  if (!Array.isArray(stored)) return (stored ?? {}) as FieldSources;
  const out: FieldSources = {};
  for (const [s, t, fields] of stored as StoredSources) for (const field of fields) out[field] = { s, t };
  return out;
}

export interface RowSourceRow {
  model: string;
  row_key: string;
  sources: FieldSources;
}

export async function readRowSources(
  db: SqlExecutor,
  tenantId: string,
  rows: readonly { model: string; row_key: string }[],
): Promise<RowSourceRow[]> {
  const stored = await queryJson<{ model: string; row_key: string; sources: unknown }>(
    db,
    `SELECT r."model", r."row_key", r."sources" FROM json_to_recordset($2::json) AS x(model text, row_key text)
      CROSS JOIN LATERAL (SELECT * FROM "hub_sync_row_source" r
                           WHERE r."tenant_id" = $1 AND r."model" = x.model AND r."row_key" = x.row_key ${KEY_DRIVEN}) r`,
    tenantId,
    jsonParam(rows),
  );
  return stored.map((r) => ({ model: r.model, row_key: r.row_key, sources: fieldSources(r.sources) }));
}

/** One upsert of the batch's row sources, each row `[model, row_key, customer_id, grouped sources]`. */
export async function writeRowSources(
  db: Executor,
  tenantId: string,
  rows: readonly { model: string; row_key: string; customer_id: string | null; sources: Readonly<FieldSources> }[],
): Promise<void> {
  if (rows.length === 0) return;
  const sent = rows.map((row) => [row.model, row.row_key, row.customer_id, groupSources(row.sources)]);
  await db.execute(
    `INSERT INTO "hub_sync_row_source" ("tenant_id", "model", "row_key", "customer_id", "sources", "updated_at")
     SELECT $1, x->>0, x->>1, x->>2, x->3, now() FROM jsonb_array_elements($2::jsonb) x
     ON CONFLICT ("tenant_id", "model", "row_key")
     DO UPDATE SET "sources" = EXCLUDED."sources", "customer_id" = EXCLUDED."customer_id", "updated_at" = now()`,
    tenantId,
    jsonParam(sent),
  );
}

/** Inserts `rows` (objects keyed by `columns`) into a bookkeeping table of the tenant. */
export async function insertRecords(
  db: Executor,
  table: string,
  columns: readonly string[],
  tenantId: string,
  rows: readonly Record<string, unknown>[],
): Promise<void> {
  if (rows.length === 0) return;
  const list = columns.map(ident).join(', ');
  const sent = rowsParams(columns, rows);
  await db.execute(
    `INSERT INTO ${ident(table)} ("tenant_id", ${list}) SELECT $1, ${list} FROM ${populated(table, 2)}`,
    tenantId,
    sent.base,
    sent.rows,
  );
}

/**
 * `rows` as the two parameters of `populated`: every column holding one value in all rows (the
 * tenant, the arrival time, the source, a kind, a constant field) goes once into the base record,
 * the rows carry only the columns that vary. The JSON of a batch of 1,000 new rows shrank to a
 * third, and JSON was the engine's largest cost on both sides of the connection.
 */
function rowsParams(
  columns: readonly string[],
  rows: readonly Record<string, unknown>[],
): { base: string; rows: string } {
  const first = rows[0] ?? {};
  const base: Record<string, unknown> = {};
  const varying: string[] = [];
  for (const column of columns) {
    const value = first[column];
    if (rows.every((row) => sameScalar(row[column], value))) base[column] = value;
    else varying.push(column);
  }
  const sent = rows.map((row) => {
    const out: Record<string, unknown> = {};
    for (const column of varying) out[column] = row[column];
    return out;
  });
  return { base: jsonParam(base), rows: jsonParam(sent) };
}

function sameScalar(a: unknown, b: unknown): boolean {
  return a === b || (a instanceof Date && b instanceof Date && a.getTime() === b.getTime());
}

/**
 * The rows of parameters `$n` (base record) and `$n+1` (rows) typed by `table`'s own row type:
 * a column a row does not carry takes the base record's value.
 */
function populated(table: string, n: number): string {
  return `json_populate_recordset(json_populate_record(NULL::${ident(table)}, $${n}::json), $${n + 1}::json)`;
}

/**
 * The batch's idempotency records, written once with their outcome. There is no PENDING claim
 * row to update: the keys' advisory locks (taken with the row locks) keep a concurrent batch
 * with the same key waiting until this one commits, and it then reads the outcome.
 */
export async function insertOutcomes(
  db: Executor,
  tenantId: string,
  done: readonly {
    key: string;
    kind: string;
    outcome: string;
    customerId: string | null;
    quality: QualityScore | null;
    result: unknown;
  }[],
  at: Date,
): Promise<void> {
  if (done.length === 0) return;
  // The quality as the five numbers of the record's own columns (what hub_sync_quality shows).
  // json_populate_recordset reads each record's text once; `e->>n` on a json element re-scans it
  // per column (jsonb would parse it once, but rebuilds the result).
  await insertRecords(
    db,
    'hub_sync_idempotency',
    [
      'key',
      'kind',
      'outcome',
      'result',
      'customer_id',
      'completeness',
      'validity',
      'consistency',
      'timeliness',
      'score',
      'created_at',
    ],
    tenantId,
    done.map((d) => ({
      key: d.key,
      kind: d.kind,
      outcome: d.outcome,
      result: d.result,
      customer_id: d.customerId,
      completeness: d.quality?.completeness ?? null,
      validity: d.quality?.validity ?? null,
      consistency: d.quality?.consistency ?? null,
      timeliness: d.quality?.timeliness ?? null,
      score: d.quality?.score ?? null,
      created_at: at,
    })),
  );
}
