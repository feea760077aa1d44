/**
 * The one write pipeline (issue 7). Every sync batch and every domain mutation hands its events to
 * `createSyncPipeline(...).apply`. Per batch of at most 1,000 events:
 *
 * 1. before any SQL: kind, idempotency key, source time, `map` (validation), the viewer's write
 *    row scope (raw SQL bypasses `scopeToViewer`, so the engine enforces it), and one
 *    `verifyCustomers` call for every customer id of the batch;
 * 2. in ONE transaction: claim the idempotency keys, lock the touched rows (sorted advisory
 *    locks), read the stored rows and their field sources, decide every field in memory in event
 *    order, then write the domain rows (one upsert per model), row sources, conflicts, quality,
 *    outbox, dead letters and the idempotency outcomes.
 *
 * A failure inside the transaction rolls the whole batch back: nothing partial. When the store
 * refused one event's values (a constraint of a domain table), the batch is retried in halves
 * until that event is alone and REJECTED (`runBatch`); any other failure makes the call throw and
 * the caller retries, which the idempotency keys make safe.
 */
import { randomUUID } from 'node:crypto';
import {
  driverErrorOf,
  storeSqlOf,
  type CustomerKeys,
  type CustomerVerifier,
  type RowScope,
  type SqlTx,
} from '@hub/store';
import {
  AUDIT_APPEND_SQL,
  auditParams,
  defaultAuditRedactor,
  type AuditActor,
  type AuditEntry,
  type AuditRedactor,
  type AuditRowChange,
} from '../audit.js';
import { BOOKKEEPING, bookkeepingCryptoOf, fieldCryptoOf } from '../crypto/index.js';
import { BLIND_INDEX_SUFFIX } from '../crypto/fields.js';
import type { TenantKeys } from '../crypto/keyring.js';
import { ErrorCode, hubError, isGraphQLError } from '../errors.js';
import type { Logger } from '../logger.js';
import { canonicalJson } from '../canonicalJson.js';
import { decideField, OVERRIDE_KIND, type FieldSource } from './conflicts.js';
import { deriveIdempotencyKey, jsonReady, keyLockKey, plainValue, rowKeyText, rowLockKey, uuidv7 } from './ids.js';
import { completeness, passed, qualityScore, timeliness } from './quality.js';
import { inSpan } from '../tracing.js';
import {
  insertOutcomes,
  insertRecords,
  jsonParam,
  lockRows,
  orderedExecutor,
  readOutcomes,
  readRowSources,
  readRows,
  tableInfo,
  upsertRows,
  writeRowSources,
  type ColumnType,
  type StoredOutcome,
  type OrderedExecutor,
  type TableInfo,
} from './sql.js';
import type {
  AppliedEvent,
  FieldConflict,
  QualityScore,
  RowChange,
  RowRef,
  SqlExecutor,
  SyncDefinition,
  SyncEvent,
  SyncKind,
  SyncOutcome,
  SyncResult,
} from './types.js';

export const MAX_BATCH = 1000;
/** Source times later than arrival + this are refused: they would win every later conflict. */
const FUTURE_SKEW_MS = 5 * 60_000;
const MAX_KEY_LENGTH = 200;
const MAX_SOURCE_LENGTH = 100;
/**
 * The lock every outbox writer of a store takes before its INSERT, held to COMMIT (see
 * writeBookkeeping). Two-key form, (this class, hash of the store's schema), like the relay's
 * leader lock: advisory locks are per database, and one database may hold all seven stores as
 * schemas (`DATABASE_URL`), whose writers must not queue behind one another. The class is 'hubo'
 * as an int4. The audit append (hub_sync migration audit_append_json) takes the same lock.
 */
export const OUTBOX_LOCK_CLASS = 0x6875626f;
export const OUTBOX_LOCK_SQL = `SELECT pg_advisory_xact_lock(${OUTBOX_LOCK_CLASS}, hashtext(current_schema()))`;

/** Points between the engine's steps where a test can inject a failure (see `SyncPipelineOptions.hooks`). */
export type SyncStep = 'claimed' | 'locked' | 'rows-written' | 'bookkeeping-written' | 'committed';

export interface SyncPipelineOptions {
  readonly definition: SyncDefinition;
  /**
   * The unscoped store client (opened by `openStore`): the engine runs its transaction on the
   * same store's own driver (`storeSqlOf(client)`, no Prisma in the hot path) and confines every
   * statement to `scope` itself.
   */
  readonly client: unknown;
  /** The viewer's write row scope: `requestScopes(viewer, domain, true).write`. */
  readonly scope: RowScope;
  readonly customerKeys: CustomerKeys;
  /** Which customer ids exist in the tenant; called once per batch. Absent: not checked (customers checks its own). */
  readonly verifyCustomers?: CustomerVerifier | undefined;
  /** Source of events that name none (the caller's principal, e.g. `admin:u1`). */
  readonly defaultSource: string;
  /**
   * The system-of-record sources (`SyncModel.owners`) this caller may write as: an owner's value wins
   * whatever the time, so claiming to be `finance` must be earned by the credential, not typed into an
   * event. The kit passes what the viewer's credential vouches for (an integration account's own name);
   * `'all'` is for trusted in-process callers (tests, benchmarks). Required, so a new caller cannot
   * forget it and silently let any writer win as an owner.
   */
  readonly claimableSources: ReadonlySet<string> | 'all';
  /**
   * Who writes, for the audit trail (audit.ts): the viewer (`viewerActor`), a consumer or a job.
   * Required, like `claimableSources`: no write goes unattributed.
   */
  readonly actor: AuditActor;
  /** How the audit stores a field's before/after; default: the hub's classification (`auditRedactor()`). */
  readonly redact?: AuditRedactor | undefined;
  readonly log?: Logger | undefined;
  readonly now?: () => Date;
  /** Failure injection for tests: runs after each step; throwing there fails the batch (before `committed`: rolled back). */
  readonly hooks?: { afterStep?(step: SyncStep, batch: { readonly size: number }): void | Promise<void> };
  /**
   * Run inside this open transaction instead of one per batch (event consumers: their inbox row and
   * the pipeline's writes commit together). Events the store refuses are then not isolated by
   * bisection: the error propagates and the caller's whole transaction rolls back.
   */
  readonly transaction?: SqlTx | undefined;
  /**
   * Called after a transaction of this pipeline committed (not with `transaction`: its owner
   * commits). The kit wakes the store's outbox relay with it, so an event leaves on commit rather
   * than on the relay's next poll.
   */
  readonly onCommitted?: (() => void) | undefined;
}

export interface SyncPipeline {
  readonly domain: string;
  /** Every event's result, in order; batches of at most 1,000 events, one transaction each. */
  apply(events: readonly SyncEvent[]): Promise<SyncResult[]>;
  /** One event; a REJECTED one throws its coded GraphQL error (BAD_USER_INPUT with `field`, NOT_FOUND, ...). */
  applyOne(event: SyncEvent): Promise<SyncResult>;
}

interface Rejection {
  code: string;
  reason: string;
  field: string | null;
  /** Stored for repair (not for refusals of the viewer's rights, nor for a mutation's own kinds). */
  deadLetter: boolean;
}

interface Prepared {
  index: number;
  event: SyncEvent;
  kind: SyncKind<Record<string, unknown>> | undefined;
  key: string;
  source: string;
  rejection: Rejection | null;
  /** Index (in the batch) of an earlier event with the same key. */
  dupOf: number | null;
  /** Its key held no outcome when this batch's transaction locked it (so this batch records one, unless refused inside). */
  claimed: boolean;
  sourceTime: Date | null;
  rows: readonly RowChange[];
  customerId: string | null;
  completeness: number;
  validity: number;
  consistency: number;
  outcome: SyncOutcome | null;
  firstOutcome: SyncResult['firstOutcome'];
  conflicts: FieldConflict[];
  refs: RowRef[];
  quality: QualityScore | null;
  deadLetterId: string | null;
  changes: {
    model: string;
    id: string;
    key: Readonly<Record<string, unknown>>;
    changed: Readonly<Record<string, unknown>>;
    /** The stored values of the changed fields (the audit's before); null for a row this event created. */
    before: Readonly<Record<string, unknown>> | null;
    customerId: string | null;
  }[];
}

/** A batch after step 1: prepared events, checked customers; `tenantId` null when the viewer has none. */
interface Staged {
  arrival: Date;
  batch: Prepared[];
  tenantId: string | null;
}

/** What `apply` hands a batch: the batch staged ahead, and the hook that stages the next one. */
interface Pipelined {
  staged?: Staged | undefined;
  whileCommitting?: (() => void) | undefined;
}

interface RowState {
  model: string;
  rowKey: string;
  values: Record<string, unknown>;
  sources: Record<string, { s: string | null; t: string | null }>;
  /** Values written by this batch (for the upsert); false for rows only read. */
  dirty: boolean;
  sourcesDirty: boolean;
  customerId: string | null;
  /** A `hub_sync_row_source` record exists for the row (so a changed one must be rewritten, never skipped). */
  sourcesStored: boolean;
  /**
   * The row-level provenance (`sourceSystem`, `sourceUpdatedAt`) as read from the store: the source
   * of every field the record does not name. Null for a row new in this batch (not in the store).
   */
  inherited: { s: string | null; t: string | null } | null;
}

type ConflictRecord = {
  id: string;
  model: string;
  row_key: string;
  customer_id: string | null;
  field: string;
  stored_value: unknown;
  stored_source: string | null;
  stored_at: string | null;
  incoming_value: unknown;
  incoming_source: string;
  incoming_at: string;
  rule: string;
  winner: string;
  idempotency_key: string;
};

function rejectionOf(error: unknown): Omit<Rejection, 'deadLetter'> {
  if (isGraphQLError(error)) {
    const code = String(error.extensions['code'] ?? '');
    if (code === ErrorCode.BadUserInput || code === ErrorCode.NotFound || code === ErrorCode.Conflict) {
      const field = error.extensions['field'];
      return { code, reason: error.message, field: typeof field === 'string' ? field : null };
    }
  }
  throw error;
}

/** The columns of a constraint failure's detail (`Key ("tenantId", domain)=(…) already exists.`), without tenantId. */
function constraintColumns(detail: string | undefined): string[] {
  const list = detail === undefined ? undefined : /^Key \((.+?)\)=/.exec(detail)?.[1];
  if (list === undefined) return [];
  return list
    .split(',')
    .map((c) => c.trim().replace(/^"(.*)"$/, '$1'))
    .filter((c) => c !== 'tenantId');
}

/** The engine's executor as the `(sql, params[])` shape the keyring reads through. */
function queryVia(db: SqlExecutor): { query<T>(sql: string, params?: readonly unknown[]): Promise<T[]> } {
  return { query: <T>(sql: string, params: readonly unknown[] = []) => db.query<T>(sql, ...params) };
}

/** `record` with its values as `plainValue` gives them (Dates as ISO strings, Decimals as numbers). */
function plainRecord(record: Readonly<Record<string, unknown>>): Readonly<Record<string, unknown>> {
  // Copied when it holds a Decimal (JSON writes it as a string) or a Date (JSON would write the
  // same text, but the Date's text is made once per batch: `jsonReady`); else sent as it is.
  let convert = false;
  for (const key in record) {
    const value = record[key];
    if (value !== null && typeof value === 'object' && (value instanceof Date || 'toFixed' in value)) convert = true;
  }
  if (!convert) return record;
  const out: Record<string, unknown> = {};
  for (const key in record) out[key] = plainValue(record[key]);
  return out;
}

/** A copy of `record` with its Dates as their ISO text (`jsonReady`): what JSON would write, made once. */
function jsonRecord(record: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key in record) out[key] = jsonReady(record[key]);
  return out;
}

/**
 * A shallow copy of a record the caller then adds fields to. A loop rather than `{ ...record }`:
 * V8 builds properties added to a spread copy the slow way, ~10x the cost of this copy in
 * bench:sync (where each new row's values were the largest allocation of `decide`).
 */
function copy<T>(record: Readonly<Record<string, T>>): Record<string, T> {
  const out: Record<string, T> = {};
  for (const key in record) out[key] = record[key] as T;
  return out;
}

function fail(code: ErrorCode, reason: string, field: string | null = null): Omit<Rejection, 'deadLetter'> {
  return { code, reason, field };
}

/** Columns that are a row's identity or provenance, never a field with a source of its own. */
const PROVENANCE_COLUMNS = new Set(['id', 'tenantId', 'createdAt', 'updatedAt', 'sourceSystem', 'sourceUpdatedAt']);

/** Stored field source of a row without a row-source record: its row-level provenance columns. */
function legacySource(values: Record<string, unknown>): { s: string | null; t: string | null } {
  const s = typeof values['sourceSystem'] === 'string' ? values['sourceSystem'] : null;
  const time = values['sourceUpdatedAt'] ?? values['updatedAt'];
  return { s, t: time instanceof Date ? time.toISOString() : typeof time === 'string' ? time : null };
}

function toFieldSource(entry: { s: string | null; t: string | null }): FieldSource {
  return { s: entry.s, t: entry.t === null ? null : Date.parse(entry.t) };
}

function same(a: unknown, b: unknown, type: ColumnType | undefined): boolean {
  const x = plainValue(a, type) ?? null;
  const y = plainValue(b, type) ?? null;
  // Scalars compare directly; only lists and JSON objects need the canonical form.
  if (x === null || y === null || typeof x !== 'object' || typeof y !== 'object') return x === y;
  return canonicalJson(x) === canonicalJson(y);
}

/** Milliseconds of a stored or incoming instant (Date or JSON text), null when there is none. */
function millis(value: unknown): number | null {
  if (value instanceof Date) return value.getTime();
  if (typeof value === 'string') {
    const time = Date.parse(value);
    return Number.isNaN(time) ? null : time;
  }
  return null;
}

interface OverridePayload {
  model: string;
  rowKey: string;
  field: string;
  value: unknown;
}

/**
 * The kind `resolve<Domain>Conflict` applies: one field of one existing row, keyed by the
 * conflict's row key (the JSON array of the natural key's values), at the time of the override.
 */
function overrideKind(definition: SyncDefinition, now: () => Date): SyncKind<Record<string, unknown>> {
  const kind: SyncKind<OverridePayload> = {
    name: OVERRIDE_KIND,
    mutationOnly: true,
    mode: 'update',
    sourceTime: () => now(),
    map(p) {
      const model = definition.models[p.model];
      const values = JSON.parse(p.rowKey) as unknown[];
      if (!model || !Array.isArray(values) || values.length !== model.key.length)
        throw new Error(`sync: an override names an unknown row (${p.model} ${p.rowKey})`);
      const key = Object.fromEntries(model.key.map((column, i) => [column, values[i]]));
      return [{ model: p.model, key, fields: { [p.field]: p.value } }];
    },
    quality: { required: [], optional: [] },
  };
  return kind as unknown as SyncKind<Record<string, unknown>>;
}

export function createSyncPipeline(options: SyncPipelineOptions): SyncPipeline {
  const { definition, scope, customerKeys, verifyCustomers, log, actor } = options;
  const redact = options.redact ?? defaultAuditRedactor();
  const driver = storeSqlOf(options.client as object);
  if (!driver) throw new Error('sync: the store client has no driver (open it with openStore or attachStoreSql)');
  const client = driver;
  // Encrypted columns (issue 11 item 3): rows are decrypted as read and encrypted as written, so
  // the decisions, conflicts and audit compare plaintext and the table holds only ciphertext.
  const crypto = fieldCryptoOf(driver);
  // ... and the PII values the bookkeeping repeats (outbox payloads, dead letters, conflicts) are
  // stored encrypted too (crypto/bookkeeping.ts): no store holds them in plaintext.
  const books = bookkeepingCryptoOf(driver);
  const outer = options.transaction;
  const transact = <T>(fn: (tx: SqlTx) => Promise<T>): Promise<T> => (outer ? fn(outer) : client.transaction(fn));
  const now = options.now ?? (() => new Date());
  const kinds = new Map(definition.kinds.map((k) => [k.name, k as unknown as SyncKind<Record<string, unknown>>]));
  const ownerSources = new Set(
    Object.values(definition.models).flatMap((model) => Object.values(model.owners ?? {}).flat()),
  );
  const claimable = options.claimableSources;
  kinds.set(OVERRIDE_KIND, overrideKind(definition, now));
  const domain = definition.domain;
  const scopedCustomers = scope.customerIds === null ? null : new Set(scope.customerIds);
  const modelIndex = new Map(Object.keys(definition.models).map((model, i) => [model, i]));
  const modelOrder = (model: string) => modelIndex.get(model) ?? modelIndex.size;

  /** The customer column value of a row change, or undefined when the change does not set it. */
  function customerOf(change: RowChange): string | undefined {
    const column = customerKeys[change.model];
    if (!column) return undefined;
    const value = change.key[column] ?? change.fields[column];
    return typeof value === 'string' ? value : undefined;
  }

  // The row key of each change, computed once per batch (it was computed three times per row).
  const changeKeys = new WeakMap<RowChange, string>();
  function changeKey(change: RowChange, key: readonly string[], columns: TableInfo['columns'] | undefined): string {
    let text = changeKeys.get(change);
    if (text === undefined) changeKeys.set(change, (text = rowKeyText(key, change.key, columns)));
    return text;
  }

  /** Step 1 for one event: everything decided without SQL. */
  function prepare(event: SyncEvent, index: number, arrival: Date): Prepared {
    const kind = kinds.get(event.kind);
    const p: Prepared = {
      index,
      event,
      kind,
      key: '',
      source: '',
      rejection: null,
      dupOf: null,
      claimed: false,
      sourceTime: null,
      rows: [],
      customerId: null,
      // Written out, not spread in: a spread inside the literal builds every event's record field by field.
      completeness: 0,
      validity: 0,
      consistency: 1,
      outcome: null,
      firstOutcome: null,
      conflicts: [],
      refs: [],
      quality: null,
      deadLetterId: null,
      changes: [],
    };
    const reject = (r: Omit<Rejection, 'deadLetter'>, deadLetter = true) => {
      p.rejection = { ...r, deadLetter: deadLetter && kind?.mutationOnly !== true };
      p.validity = 0;
      return p;
    };
    const givenKey = event.idempotencyKey?.trim();
    p.key = givenKey ? givenKey : deriveIdempotencyKey(domain, event.kind, event.payload);
    p.source = event.source?.trim() || options.defaultSource;
    if (!kind)
      return reject(fail(ErrorCode.BadUserInput, `kind: unknown sync kind ${JSON.stringify(event.kind)}`, 'kind'));
    p.completeness = completeness(event.payload, kind.quality.required, kind.quality.optional);
    if (p.key.length > MAX_KEY_LENGTH)
      return reject(
        fail(ErrorCode.BadUserInput, `idempotencyKey: must be at most ${MAX_KEY_LENGTH} characters`, 'idempotencyKey'),
      );
    if (p.source.length > MAX_SOURCE_LENGTH)
      return reject(fail(ErrorCode.BadUserInput, `source: must be at most ${MAX_SOURCE_LENGTH} characters`, 'source'));
    if (ownerSources.has(p.source) && claimable !== 'all' && !claimable.has(p.source))
      return reject(
        fail(
          ErrorCode.Forbidden,
          `source: ${JSON.stringify(p.source)} is a system of record in ${domain}; only a credential issued for it may write as it`,
          'source',
        ),
        false,
      );
    try {
      const time = kind.sourceTime(event.payload);
      const field = kind.sourceTimeField ?? 'syncTimestamp';
      if (!(time instanceof Date) || Number.isNaN(time.getTime()))
        return reject(fail(ErrorCode.BadUserInput, `${field}: must be a valid timestamp`, field));
      if (time.getTime() > arrival.getTime() + FUTURE_SKEW_MS)
        return reject(fail(ErrorCode.BadUserInput, `${field}: must not be in the future`, field));
      p.sourceTime = time;
      p.rows = kind.map(event.payload);
    } catch (error) {
      return reject(rejectionOf(error));
    }
    for (const change of p.rows) {
      const model = definition.models[change.model];
      if (!model) throw new Error(`${domain}: sync kind ${kind.name} maps to undeclared model ${change.model}`);
      const keys = Object.keys(change.key);
      if (keys.length !== model.key.length || !model.key.every((k) => change.key[k] !== undefined))
        throw new Error(
          `${domain}: ${kind.name} gave ${change.model} the key {${keys.join(', ')}}, not {${model.key.join(', ')}}`,
        );
      if (scopedCustomers !== null) {
        if (!(change.model in customerKeys) || customerKeys[change.model] === null)
          return reject(
            fail(ErrorCode.Forbidden, `${change.model}: your role may not write rows outside a customer scope`),
            false,
          );
        const customer = customerOf(change);
        if (customer !== undefined && !scopedCustomers.has(customer))
          return reject(
            fail(ErrorCode.Forbidden, `${change.model}: cannot write a row of a customer outside your scope`),
            false,
          );
      }
      p.customerId ??= customerOf(change) ?? null;
    }
    const checks = kind.quality.validity?.(event.payload) ?? [];
    p.validity = passed(checks);
    return p;
  }

  // Customers already confirmed during this pipeline's life (one request): a later batch of the same
  // call, or the halves a constraint failure is retried in, do not ask again.
  const confirmedCustomers = new Set<string>();

  /** Step 1b: one verifyCustomers call for the whole batch (none when every id is already confirmed). */
  async function checkCustomers(batch: Prepared[]): Promise<void> {
    if (!verifyCustomers) return;
    const created = new Set<string>();
    const wanted = new Set<string>();
    for (const p of batch) {
      if (p.rejection) continue;
      for (const change of p.rows) {
        const column = customerKeys[change.model];
        const id = customerOf(change);
        if (id === undefined) continue;
        // A customer created in the same batch (customers domain) is known by then.
        if (column === 'id') created.add(id);
        else wanted.add(id);
      }
    }
    const ids = [...wanted].filter((id) => !created.has(id) && !confirmedCustomers.has(id));
    if (ids.length === 0) return;
    const answered = await verifyCustomers(ids);
    for (const id of answered) confirmedCustomers.add(id);
    const known = confirmedCustomers;
    for (const p of batch) {
      if (p.rejection) continue;
      const change = p.rows.find((r) => {
        const id = customerOf(r);
        return id !== undefined && wanted.has(id) && !created.has(id) && !known.has(id);
      });
      const unknown = change ? customerOf(change) : undefined;
      if (unknown !== undefined) {
        p.rejection = {
          ...// The field is the row's customer column, which is the payload's `customerId` in every domain.
          fail(
            ErrorCode.NotFound,
            `Customer ${JSON.stringify(unknown)} was not found`,
            change ? (customerKeys[change.model] ?? null) : null,
          ),
          deadLetter: p.kind?.mutationOnly !== true,
        };
        p.validity = 0;
      }
    }
  }

  /**
   * One batch, isolating events whose values the database refuses. The set-based statements fail
   * as a whole when one row breaks a constraint the engine cannot see in advance (a unique key
   * other than the natural key, a foreign key, a check): the transaction is rolled back and the
   * batch retried in halves, each its own transaction, until the event at fault is alone; it is
   * then REJECTED (dead-lettered) and the rest applied. k such events cost O(k log n) retried
   * transactions; a batch without one costs nothing extra. Every other error (serialization,
   * deadlock, connection, the engine's own tables) still fails the call, for the caller to retry.
   */
  async function runBatch(
    events: readonly SyncEvent[],
    offset: number,
    pipelined: Pipelined,
    forced?: Omit<Rejection, 'deadLetter'>,
  ): Promise<SyncResult[]> {
    try {
      return await runOnce(events, offset, forced, pipelined);
    } catch (error) {
      const fault = forced || outer ? null : eventFault(error);
      if (!fault) throw error;
      if (events.length === 1) {
        log?.warn({ domain, index: offset, code: fault.code, reason: fault.reason }, 'sync event refused by the store');
        return runBatch(events, offset, pipelined, fault);
      }
      const half = Math.ceil(events.length / 2);
      const first = await runBatch(events.slice(0, half), offset, pipelined);
      return [...first, ...(await runBatch(events.slice(half), offset + half, pipelined))];
    }
  }

  /** The store's refusal of one event's values as its rejection; null when it is no such error. */
  function eventFault(error: unknown): Omit<Rejection, 'deadLetter'> | null {
    const e = driverErrorOf(error);
    if (!e) return null;
    // Only the domain's own tables: a constraint failing on a bookkeeping table is the engine's bug.
    const table = e.table !== undefined && e.table in definition.models ? e.table : null;
    // A blind index column is named as the field it indexes (what the caller sent).
    const columns = constraintColumns(e.detail).map((column) =>
      table !== null &&
      column.endsWith(BLIND_INDEX_SUFFIX) &&
      crypto?.blindIndexColumn(table, column.slice(0, -BLIND_INDEX_SUFFIX.length))
        ? column.slice(0, -BLIND_INDEX_SUFFIX.length)
        : column,
    );
    const field = columns.length > 0 ? columns.join(',') : (e.column ?? null);
    if (table !== null) {
      if (e.code === '23505' || e.code === '23P01')
        return fail(
          ErrorCode.Conflict,
          `${table}: another row has the same ${columns.join(', ') || 'unique key'}`,
          field,
        );
      if (e.code === '23503')
        return fail(
          ErrorCode.BadUserInput,
          `${table}: ${columns.join(', ') || 'a reference'} refers to a row that does not exist`,
          field,
        );
      // A rule one of the store's own triggers enforces raises a message written for people (e.g.
      // "customer c1 was erased"); the constraint machinery's messages name internals instead.
      if (e.code === '23514' && e.where?.includes('PL/pgSQL') === true)
        return fail(ErrorCode.BadUserInput, `${table}: ${e.message}`, field);
      if (e.code === '23514' || e.code === '23502')
        return fail(
          ErrorCode.BadUserInput,
          `${table}: ${e.column ?? e.constraint ?? 'a value'} breaks the table's rules`,
          field,
        );
    }
    // Class 22 (data exception: out of range, bad date, too long) is a value of some event's.
    if (e.code.startsWith('22')) return fail(ErrorCode.BadUserInput, `a value cannot be stored: ${e.message}`, null);
    return null;
  }

  /** Step 1 for a batch: every event prepared, then one customer check (no SQL, no transaction). */
  async function stage(
    events: readonly SyncEvent[],
    offset: number,
    forced: Omit<Rejection, 'deadLetter'> | undefined,
  ): Promise<Staged> {
    const arrival = now();
    const batch = events.map((event, i) => prepare(event, offset + i, arrival));
    if (forced) {
      for (const p of batch) {
        p.rejection = { ...forced, deadLetter: p.kind?.mutationOnly !== true };
        p.validity = 0;
      }
    }
    if (scope.tenantId === null || scope.tenantId === '') {
      for (const p of batch)
        p.rejection = { ...fail(ErrorCode.Forbidden, 'This operation needs a tenant'), deadLetter: false };
      return { arrival, batch, tenantId: null };
    }
    await checkCustomers(batch);
    return { arrival, batch, tenantId: scope.tenantId };
  }

  async function runOnce(
    events: readonly SyncEvent[],
    offset: number,
    forced: Omit<Rejection, 'deadLetter'> | undefined,
    pipelined: Pipelined,
  ): Promise<SyncResult[]> {
    // A batch staged ahead (see `apply`) is used once: a retried half is staged again.
    const staged = pipelined.staged ?? (await stage(events, offset, forced));
    pipelined.staged = undefined;
    const { arrival, batch, tenantId } = staged;
    if (tenantId === null) return batch.map(toResult);
    // Within the batch, a repeated key answers the first valid event's outcome: a refused event
    // claims no key, so a later valid event with its key is applied, wherever the batch boundaries
    // fall; a refused event after a valid one with its key is that one's duplicate.
    const firstByKey = new Map<string, number>();
    for (const p of batch) {
      if (p.rejection) continue;
      const first = firstByKey.get(p.key);
      if (first === undefined) firstByKey.set(p.key, p.index - offset);
      else p.dupOf = first;
    }
    for (const p of batch) {
      if (!p.rejection || p.rejection.code === ErrorCode.Forbidden) continue;
      const first = firstByKey.get(p.key);
      if (first !== undefined && first < p.index - offset) {
        p.dupOf = first;
        p.rejection = null;
      }
    }
    const tableInfos = new Map<string, TableInfo>();
    for (const model of new Set(batch.flatMap((p) => p.rows.map((r) => r.model))))
      tableInfos.set(model, await tableInfo(client, model, outer));

    // Before the transaction (a tenant's first keys commit on their own), or in the caller's. Only
    // for batches that write an encrypted column or carry PII (a refused contact event writes no
    // row but a dead letter): a store without PII (every domain but customers) has no codec at all.
    const keys =
      crypto &&
      ([...tableInfos.keys()].some((model) => crypto.encrypts(model)) ||
        (books !== undefined && batch.some((p) => books.holdsPii(p.event.kind, p.event.payload))))
        ? await crypto.writeKeys(tenantId, outer)
        : undefined;

    await transact(async (tx) => {
      const db = orderedExecutor(tx);
      try {
        await runInTransaction(db, tenantId, batch, tableInfos, arrival, pipelined, keys);
      } catch (error) {
        throw await db.abort(error);
      }
    });
    if (!outer) options.onCommitted?.();
    await options.hooks?.afterStep?.('committed', { size: batch.length });
    for (const p of batch) {
      if (p.dupOf === null) continue;
      const first = batch[p.dupOf];
      if (!first) continue;
      p.outcome = 'DUPLICATE';
      p.firstOutcome =
        first.outcome === 'DUPLICATE' ? first.firstOutcome : first.rejection ? 'REJECTED' : first.outcome;
      p.conflicts = first.conflicts;
      p.quality = first.quality;
      p.refs = first.refs;
    }
    log?.debug({ domain, events: batch.length }, 'sync batch applied');
    return batch.map(toResult);
  }

  /** Step 2, inside the batch's transaction: locks, stored outcomes and rows, decisions, writes. */
  async function runInTransaction(
    db: OrderedExecutor,
    tenantId: string,
    batch: Prepared[],
    tableInfos: Map<string, TableInfo>,
    arrival: Date,
    pipelined: Pipelined,
    keys: TenantKeys | undefined,
  ): Promise<void> {
    const live = batch.filter((p) => p.dupOf === null && p.rejection === null);
    const rowKeys = new Map<string, { model: string; rowKey: string; key: Record<string, unknown> }>();
    for (const p of live) {
      for (const change of p.rows) {
        const model = definition.models[change.model];
        if (!model) continue;
        const rowKey = changeKey(change, model.key, tableInfos.get(change.model)?.columns);
        rowKeys.set(`${change.model}\u0000${rowKey}`, { model: change.model, rowKey, key: jsonRecord(change.key) });
      }
    }
    // One sorted statement for the idempotency keys' and the rows' advisory locks (no deadlock
    // between batches): a concurrent batch with one of these keys or rows waits for our commit.
    db.track(
      lockRows(db, [
        ...live.map((p) => keyLockKey(domain, tenantId, p.key)),
        ...[...rowKeys.values()].map((r) => rowLockKey(domain, tenantId, r.model, r.rowKey)),
      ]),
    );
    // A refused event whose key already holds an outcome is that key's duplicate (a re-sent
    // line after its letter was fixed and replayed), not a new dead letter.
    const refused = batch.filter(
      (p) => p.dupOf === null && p.rejection !== null && p.rejection.code !== ErrorCode.Forbidden,
    );
    // After the locks, in a statement of its own (a fresh snapshot: see readOutcomes).
    const outcomesRead = readOutcomes(
      db,
      tenantId,
      [...live, ...refused].map((p) => p.key),
    );
    // The stored rows are read right behind, without waiting for the outcomes: one round trip
    // less, and the store reads while Node sorts the outcomes out. Rows of events that turn out
    // to be duplicates are read too; they are only read, never decided or written.
    const stateRead = readState(db, tenantId, [...rowKeys.values()], tableInfos);
    stateRead.catch(() => undefined); // reported by the statement queue (db.settle / db.abort)
    const earlier = new Map<string, StoredOutcome>();
    for (const stored of await outcomesRead) earlier.set(stored.key, stored);
    for (const p of live) {
      const stored = earlier.get(p.key);
      if (stored) answerFromStore(p, stored);
    }
    for (const p of refused) {
      const stored = earlier.get(p.key);
      if (!stored) continue;
      p.rejection = null;
      answerFromStore(p, stored);
    }
    const fresh = live.filter((p) => !earlier.has(p.key));
    for (const p of fresh) p.claimed = true;
    await afterStep(db, 'claimed', batch.length);
    await scoreConsistency(db, tenantId, fresh);
    await afterStep(db, 'locked', batch.length);
    const state = await stateRead;
    for (const p of fresh) decide(p, state, tableInfos, arrival);
    writeRows(db, tenantId, state, keys);
    await runAfterApply(db, tenantId, fresh);
    await afterStep(db, 'rows-written', batch.length);
    await writeBookkeeping(db, tenantId, batch, arrival, keys);
    await afterStep(db, 'bookkeeping-written', batch.length);
    // Everything is sent: while the store writes the outbox and commits, Node stages the next batch.
    pipelined.whileCommitting?.();
    await db.settle();
  }

  /** A test's hook after a step: the step's statements have run by then (they are sent without waiting). */
  async function afterStep(db: OrderedExecutor, step: SyncStep, size: number): Promise<void> {
    if (!options.hooks?.afterStep) return;
    await db.settle();
    await options.hooks.afterStep(step, { size });
  }

  function answerFromStore(p: Prepared, stored: StoredOutcome | undefined): void {
    const result = (stored?.result ?? {}) as { conflicts?: FieldConflict[]; quality?: QualityScore; rows?: RowRef[] };
    p.outcome = 'DUPLICATE';
    p.firstOutcome = (stored?.outcome ?? 'APPLIED') as SyncResult['firstOutcome'];
    p.conflicts = result.conflicts ?? [];
    // Records written before quality moved into the record's columns carry it in `result`.
    p.quality = stored?.quality ?? result.quality ?? null;
    p.refs = result.rows ?? [];
  }

  /** Each kind's `afterApply` (types.ts), once per batch, with its events that changed rows, in batch order. */
  async function runAfterApply(db: SqlExecutor, tenantId: string, fresh: Prepared[]): Promise<void> {
    const byKind = new Map<SyncKind<Record<string, unknown>>, AppliedEvent<Record<string, unknown>>[]>();
    for (const p of fresh) {
      if (!p.kind?.afterApply || p.rejection || (p.outcome !== 'APPLIED' && p.outcome !== 'MERGED')) continue;
      const list = byKind.get(p.kind) ?? [];
      list.push({ payload: p.event.payload as Record<string, unknown>, rows: p.refs });
      byKind.set(p.kind, list);
    }
    for (const [kind, applied] of byKind) await kind.afterApply?.(db, tenantId, applied);
  }

  async function scoreConsistency(db: SqlExecutor, tenantId: string, fresh: Prepared[]): Promise<void> {
    const byKind = new Map<SyncKind<Record<string, unknown>>, Prepared[]>();
    for (const p of fresh) {
      if (!p.kind?.quality.consistency) continue;
      const list = byKind.get(p.kind) ?? [];
      list.push(p);
      byKind.set(p.kind, list);
    }
    for (const [kind, list] of byKind) {
      const facts = kind.quality.loadFacts
        ? await kind.quality.loadFacts(
            db,
            tenantId,
            list.map((p) => p.event.payload),
          )
        : undefined;
      for (const p of list) p.consistency = passed(kind.quality.consistency?.(p.event.payload, facts) ?? []);
    }
  }

  async function readState(
    db: SqlExecutor,
    tenantId: string,
    rows: { model: string; rowKey: string; key: Record<string, unknown> }[],
    infos: Map<string, TableInfo>,
  ): Promise<Map<string, RowState | null>> {
    const state = new Map<string, RowState | null>();
    for (const r of rows) state.set(`${r.model}\u0000${r.rowKey}`, null);
    const byModel = new Map<string, Record<string, unknown>[]>();
    for (const r of rows) {
      // push, not a spread copy per row: that was quadratic (10 MB of garbage per batch of 1,000).
      const keys = byModel.get(r.model);
      if (keys) keys.push(r.key);
      else byModel.set(r.model, [r.key]);
    }
    for (const [model, keys] of byModel) {
      const declared = definition.models[model];
      if (!declared) continue;
      const stored = await readRows(db, model, declared.key, tenantId, keys);
      if (crypto?.encrypts(model)) await crypto.decodeRows(model, stored, queryVia(db));
      for (const values of stored) {
        const rowKey = rowKeyText(declared.key, values, infos.get(model)?.columns);
        const column = customerKeys[model];
        const customer = column ? values[column] : undefined;
        state.set(`${model}\u0000${rowKey}`, {
          model,
          rowKey,
          values,
          sources: {},
          dirty: false,
          sourcesDirty: false,
          customerId: typeof customer === 'string' ? customer : null,
          sourcesStored: false,
          inherited: legacySource(values),
        });
      }
    }
    const existing = [...state.values()].filter((s): s is RowState => s !== null);
    if (existing.length > 0) {
      const sources = await readRowSources(
        db,
        tenantId,
        existing.map((s) => ({ model: s.model, row_key: s.rowKey })),
      );
      for (const row of sources) {
        const s = state.get(`${row.model}\u0000${row.row_key}`);
        if (s) {
          s.sources = row.sources;
          s.sourcesStored = true;
        }
      }
    }
    return state;
  }

  /** Step 2 in memory: the conflict rule for every field of one event, against the working state. */
  function decide(
    p: Prepared,
    state: Map<string, RowState | null>,
    infos: Map<string, TableInfo>,
    arrival: Date,
  ): void {
    const kind = p.kind;
    const sourceTime = p.sourceTime;
    if (!kind || !sourceTime) return;
    const incoming = { s: p.source, t: sourceTime.getTime() };
    const iso = sourceTime.toISOString();
    const staged = new Map<string, RowState>();
    let written = 0;
    let kept = 0;
    const conflicts: ConflictRecord[] = [];
    const changes: Prepared['changes'] = [];
    const reject = (r: Omit<Rejection, 'deadLetter'>, deadLetter: boolean) => {
      p.rejection = { ...r, deadLetter: deadLetter && kind.mutationOnly !== true };
      p.validity = 0;
    };
    for (const change of p.rows) {
      const model = definition.models[change.model];
      const info = infos.get(change.model);
      if (!model || !info) continue;
      const rowKey = changeKey(change, model.key, info.columns);
      const id = `${change.model}\u0000${rowKey}`;
      const current = staged.get(id) ?? state.get(id) ?? null;
      const mode = kind.mode ?? 'upsert';
      if (mode === 'update' && current === null)
        return reject(fail(ErrorCode.NotFound, `${change.model} was not found`), true);
      if (mode === 'insert' && current !== null)
        return reject(
          fail(ErrorCode.Conflict, `${change.model} with the same ${model.key.join(', ')} already exists`),
          true,
        );
      const column = customerKeys[change.model];
      const customer = customerOf(change) ?? current?.customerId ?? null;
      // Both the row as stored and as written must be the viewer's: no moving another customer's row in.
      const outside = (id: string | null | undefined) => id === null || id === undefined || !scopedCustomers?.has(id);
      if (
        scopedCustomers !== null &&
        column &&
        (outside(customer) || (current !== null && outside(current.customerId)))
      )
        return reject(
          fail(ErrorCode.Forbidden, `${change.model}: cannot write a row of a customer outside your scope`),
          false,
        );
      // Between two customers of its own book either: a scoped role edits a customer's rows, it
      // does not re-file them (that is an admin's or an unscoped integration's change).
      if (scopedCustomers !== null && column && current !== null && customer !== current.customerId)
        return reject(
          fail(ErrorCode.Forbidden, `${change.model}: your role may not move a row to another customer`),
          false,
        );
      let changed: Readonly<Record<string, unknown>>;
      let before: Record<string, unknown> | null = null;
      let next: RowState;
      if (current === null) {
        // Key and fields copied by a loop, not `{ ...key, ...fields }` (id, times and provenance are
        // added below: see `copy`), with Dates as their text (`jsonReady`): the row goes out as JSON,
        // and stored rows are read back as text too.
        const values = jsonRecord(change.key);
        for (const field in change.fields) values[field] = jsonReady(change.fields[field]);
        values['tenantId'] = scope.tenantId;
        if (info.columns.has('id') && values['id'] === undefined) values['id'] = randomUUID();
        if (info.columns.has('createdAt')) values['createdAt'] = arrival;
        // One source object for the row's fields: entries are replaced, never changed in place.
        const source = { s: incoming.s, t: iso };
        const sources: RowState['sources'] = {};
        for (const field in change.fields) sources[field] = source;
        changed = change.fields;
        next = {
          model: change.model,
          rowKey,
          values,
          sources,
          dirty: true,
          sourcesDirty: true,
          customerId: customer,
          sourcesStored: false,
          inherited: null,
        };
        written += Object.keys(change.fields).length;
      } else {
        const edited: Record<string, unknown> = {};
        changed = edited;
        const was: Record<string, unknown> = {};
        before = was;
        // Copies by loops (`copy`), not spreads: fields are assigned to them below (see the new row above).
        next = {
          model: current.model,
          rowKey: current.rowKey,
          values: copy(current.values),
          sources: copy(current.sources),
          dirty: current.dirty,
          sourcesDirty: current.sourcesDirty,
          customerId: customer,
          sourcesStored: current.sourcesStored,
          inherited: current.inherited,
        };
        // A field the record does not name has the row's provenance as stored, not as an earlier
        // event of this batch may have moved it.
        const legacy = current.inherited ?? legacySource(current.values);
        for (const [field, value] of Object.entries(change.fields)) {
          const storedSource = next.sources[field] ?? legacy;
          const decision = decideField(model.owners?.[field], incoming, toFieldSource(storedSource));
          const storedValue = next.values[field];
          const type = info.columns.get(field);
          const equal = same(storedValue, value, type);
          if (equal) {
            // Same value: nothing to decide, but a winning newer source becomes the field's provenance.
            if (decision.winner === 'INCOMING') {
              next.sources[field] = { s: incoming.s, t: iso };
              next.sourcesDirty = true;
            }
            continue;
          }
          const older = storedSource.t !== null && incoming.t < Date.parse(storedSource.t);
          if (decision.winner === 'INCOMING') {
            next.values[field] = jsonReady(value);
            next.sources[field] = { s: incoming.s, t: iso };
            next.dirty = true;
            next.sourcesDirty = true;
            edited[field] = value;
            was[field] = storedValue;
            written++;
          } else {
            kept++;
          }
          if (storedSource.s !== incoming.s || older || decision.rule === 'OVERRIDE') {
            conflicts.push({
              id: uuidv7(arrival.getTime()),
              model: change.model,
              row_key: rowKey,
              customer_id: customer,
              field,
              stored_value: plainValue(storedValue, type) ?? null,
              stored_source: storedSource.s,
              stored_at: storedSource.t,
              incoming_value: plainValue(value) ?? null,
              incoming_source: incoming.s,
              incoming_at: iso,
              rule: decision.rule,
              winner: decision.winner,
              idempotency_key: p.key,
            });
          }
        }
      }
      if (Object.keys(changed).length > 0) {
        if (info.columns.has('updatedAt')) next.values['updatedAt'] = arrival;
        const storedTime = millis(next.values['sourceUpdatedAt']);
        if (info.columns.has('sourceUpdatedAt') && (storedTime === null || storedTime <= sourceTime.getTime())) {
          next.values['sourceUpdatedAt'] = iso;
          if (info.columns.has('sourceSystem')) next.values['sourceSystem'] = incoming.s;
        }
      } else if (current === null && info.columns.has('updatedAt')) {
        next.values['updatedAt'] = arrival;
      } else if (current !== null && info.columns.has('sourceSystem') && next.values['sourceSystem'] !== incoming.s) {
        // No value differs, but a newer source vouches for the row (e.g. updateTicket naming only its
        // sourceSystem): the row-level provenance moves to it, as it would with a changed value.
        const storedTime = millis(next.values['sourceUpdatedAt']);
        if (storedTime === null || storedTime < sourceTime.getTime()) {
          next.values['sourceSystem'] = incoming.s;
          if (info.columns.has('sourceUpdatedAt')) next.values['sourceUpdatedAt'] = iso;
          if (info.columns.has('updatedAt')) next.values['updatedAt'] = arrival;
          next.dirty = true;
        }
      }
      staged.set(id, next);
      const rowId = typeof next.values['id'] === 'string' ? next.values['id'] : rowKey;
      changes.push({ model: change.model, id: rowId, key: change.key, changed, before, customerId: customer });
    }
    for (const [id, next] of staged) state.set(id, next);
    p.outcome = kept === 0 ? 'APPLIED' : written === 0 ? 'STALE' : 'MERGED';
    p.refs = changes.map((c) => ({ model: c.model, id: c.id }));
    p.changes = changes.filter((c) => Object.keys(c.changed).length > 0);
    p.conflicts = conflicts.map((c) => ({
      id: c.id,
      model: c.model,
      field: c.field,
      rule: c.rule as FieldConflict['rule'],
      winner: c.winner as FieldConflict['winner'],
    }));
    conflictRecords.set(p, conflicts);
  }

  // Conflicts of the batch being written, by event (kept off Prepared: the answer carries only the summary).
  const conflictRecords = new WeakMap<Prepared, ConflictRecord[]>();

  function writeRows(
    db: OrderedExecutor,
    tenantId: string,
    state: Map<string, RowState | null>,
    keys: TenantKeys | undefined,
  ): void {
    const groups = new Map<
      string,
      { model: string; columns: string[]; rows: Record<string, unknown>[]; created: boolean }
    >();
    const shapes = new Map<string, { columns: string[]; signature: string }>();
    for (const s of state.values()) {
      if (!s?.dirty) continue;
      s.values['tenantId'] = tenantId;
      // The working state stays plaintext (later events of the batch decide against it); the row sent is encrypted.
      const values = keys && crypto ? crypto.encodeRow(keys, s.model, s.values) : s.values;
      // Rows built alike list their columns in the same order: sort each distinct order once.
      const order = `${s.model}\u0000${Object.keys(values).join(',')}`;
      let shape = shapes.get(order);
      if (!shape) {
        const sorted = Object.keys(values).sort();
        shapes.set(order, (shape = { columns: sorted, signature: `${s.model}\u0000${sorted.join(',')}` }));
      }
      const { columns } = shape;
      // New rows apart from stored ones: a new row is a plain INSERT (see below).
      const created = s.inherited === null;
      const signature = `${shape.signature}\u0000${created ? 'new' : 'stored'}`;
      const group = groups.get(signature) ?? { model: s.model, columns, rows: [], created };
      group.rows.push(values);
      groups.set(signature, group);
    }
    // In the order the declaration lists its models (parents before children), not first seen:
    // a child row's foreign key needs its parent written first.
    const ordered = [...groups.values()].sort((a, b) => modelOrder(a.model) - modelOrder(b.model));
    for (const group of ordered) {
      const declared = definition.models[group.model];
      // A row this batch read as absent, under its row lock, is inserted without ON CONFLICT: no
      // engine writer can create it before our commit, and a plain insert costs less than the
      // speculative one. Should a writer outside the engine have created it meanwhile, the unique
      // key refuses the event (CONFLICT, isolated by bisection) instead of overwriting unseen values.
      if (declared)
        db.track(upsertRows(db, group.model, declared.key, group.columns, group.rows, { insertOnly: group.created }));
    }
    const records: { model: string; row_key: string; customer_id: string | null; sources: RowState['sources'] }[] = [];
    for (const s of state.values()) {
      const sources = s === null ? null : recordToWrite(s);
      if (s !== null && sources !== null)
        records.push({ model: s.model, row_key: s.rowKey, customer_id: s.customerId, sources });
    }
    db.track(writeRowSources(db, tenantId, records));
  }

  /**
   * The row-source record to write for a row after the batch, or null when none is needed: a row
   * without a record reads every field's source from its own `sourceSystem`/`sourceUpdatedAt`, so
   * a row whose fields all have exactly that provenance (every new row written by one event) needs
   * no record — one heap row and one index entry less per new row. A row already without a record
   * whose fields now differ gets one naming every field (those not written by this batch keep the
   * provenance they had), since its row-level provenance no longer speaks for them.
   */
  function recordToWrite(s: RowState): RowState['sources'] | null {
    if (s.sourcesStored) return s.sourcesDirty ? s.sources : null;
    if (!s.dirty && !s.sourcesDirty) return null;
    let sources = s.sources;
    if (s.inherited) {
      const declared = definition.models[s.model];
      sources = copy(s.sources);
      for (const field in s.values)
        if (!(field in sources) && !PROVENANCE_COLUMNS.has(field) && !declared?.key.includes(field))
          sources[field] = s.inherited;
    }
    const own = legacySource(s.values);
    const ownTime = own.t === null ? null : Date.parse(own.t);
    if (!('sourceSystem' in s.values) || s.values['sourceUpdatedAt'] == null) return sources;
    if (ownTime === null || Number.isNaN(ownTime)) return sources;
    // The fields of a row written by one event share one source object (decide): compare each
    // distinct entry once, and its ISO text before parsing it.
    let checked: { s: string | null; t: string | null } | undefined;
    for (const field in sources) {
      const e = sources[field] as { s: string | null; t: string | null };
      if (e === checked) continue;
      if (e.s !== own.s || e.t === null || (e.t !== own.t && Date.parse(e.t) !== ownTime)) return sources;
      checked = e;
    }
    return null;
  }

  async function writeBookkeeping(
    db: OrderedExecutor,
    tenantId: string,
    batch: Prepared[],
    arrival: Date,
    keys: TenantKeys | undefined,
  ): Promise<void> {
    // The bookkeeping's PII values, encrypted under the tenant's key (`keys` is there whenever the
    // batch holds any: runOnce); everything else is written as it is.
    const sealing = keys && books ? { keys, books } : undefined;
    const scored = batch.filter(
      (p) =>
        p.dupOf === null &&
        p.outcome !== 'DUPLICATE' &&
        (p.rejection === null || p.rejection.code !== ErrorCode.Forbidden),
    );
    for (const p of scored) {
      if (p.rejection === null && p.sourceTime)
        p.quality = qualityScore({
          completeness: p.completeness,
          validity: p.validity,
          consistency: p.consistency,
          timeliness: timeliness(p.sourceTime, arrival),
        });
    }
    // An accepted event's quality is kept with its idempotency record (insertOutcomes below); a
    // rejected one has no record (its key stays free), so its quality row goes to a table of its own.
    const rejected = scored
      .filter((p) => p.rejection !== null)
      .map((p) => ({
        key: p.key,
        kind: p.event.kind,
        customer_id: p.customerId,
        completeness: p.completeness,
        validity: 0,
        consistency: null,
        timeliness: null,
        score: null,
        rejected: true,
        received_at: arrival,
      }));
    db.track(
      insertRecords(
        db,
        'hub_sync_quality_rejected',
        [
          'key',
          'kind',
          'customer_id',
          'completeness',
          'validity',
          'consistency',
          'timeliness',
          'score',
          'rejected',
          'received_at',
        ],
        tenantId,
        rejected,
      ),
    );
    const conflicts = batch.flatMap((p) => {
      const records = p.rejection ? [] : (conflictRecords.get(p) ?? []);
      if (!sealing) return records;
      return records.map((c) => ({
        ...c,
        stored_value: sealing.books.sealValue(sealing.keys, BOOKKEEPING.storedValue, c.field, c.stored_value),
        incoming_value: sealing.books.sealValue(sealing.keys, BOOKKEEPING.incomingValue, c.field, c.incoming_value),
      }));
    });
    db.track(
      insertRecords(
        db,
        'hub_sync_conflict',
        [
          'id',
          'model',
          'row_key',
          'customer_id',
          'field',
          'stored_value',
          'stored_source',
          'stored_at',
          'incoming_value',
          'incoming_source',
          'incoming_at',
          'rule',
          'winner',
          'idempotency_key',
        ],
        tenantId,
        conflicts,
      ),
    );
    const lettered = batch.filter((p) => p.dupOf === null && p.rejection?.deadLetter === true);
    // One letter per key and statement (ON CONFLICT cannot touch a row twice): the last one sent wins.
    const letters = [...new Map(lettered.map((p) => [p.key, p])).values()].map((p) => {
      p.deadLetterId = uuidv7(arrival.getTime());
      return {
        id: p.deadLetterId,
        kind: p.event.kind,
        key: p.key,
        source: p.source,
        payload: sealing
          ? sealing.books.sealPayload(sealing.keys, BOOKKEEPING.deadLetter, p.event.kind, p.event.payload)
          : p.event.payload,
        code: p.rejection?.code,
        reason: p.rejection?.reason,
        field: p.rejection?.field ?? null,
        line: p.event.line ?? null,
        received_at: arrival,
      };
    });
    if (letters.length > 0) {
      // One waiting letter per key: a re-sent bad event refreshes it instead of piling up copies.
      const stored = await db.query<{ id: string; key: string }>(
        `INSERT INTO "hub_sync_dead_letter" ("tenant_id", "id", "kind", "key", "source", "payload", "code", "reason",
                                             "field", "line", "received_at")
         SELECT $1, x.id, x.kind, x.key, x.source, x.payload, x.code, x.reason, x.field, x.line, x.received_at
           FROM jsonb_to_recordset($2::jsonb) AS x(id uuid, kind text, key text, source text, payload jsonb, code text,
                                                   reason text, field text, line int, received_at timestamptz)
         ON CONFLICT ("tenant_id", "key") WHERE "replayed_at" IS NULL
         DO UPDATE SET "payload" = EXCLUDED."payload", "code" = EXCLUDED."code", "reason" = EXCLUDED."reason",
                       "field" = EXCLUDED."field", "line" = EXCLUDED."line", "source" = EXCLUDED."source",
                       "received_at" = EXCLUDED."received_at"
         RETURNING "id", "key"`,
        tenantId,
        jsonParam(letters),
      );
      const ids = new Map(stored.map((r) => [r.key, r.id]));
      for (const p of lettered) p.deadLetterId = ids.get(p.key) ?? p.deadLetterId;
    }
    // Keys of events refused inside the transaction (mode checks) get no record: their key stays free.
    db.track(
      insertOutcomes(
        db,
        tenantId,
        batch
          .filter((p) => p.claimed && p.rejection === null && p.outcome !== null)
          .map((p) => ({
            key: p.key,
            kind: p.event.kind,
            outcome: p.outcome as string,
            customerId: p.customerId,
            quality: p.quality,
            // What a DUPLICATE answers again besides the quality; no conflicts (the usual case) is stored as none.
            result: p.conflicts.length > 0 ? { conflicts: p.conflicts, rows: p.refs } : { rows: p.refs },
          })),
        arrival,
      ),
    );
    const outbox = batch
      .filter((p) => p.rejection === null && p.dupOf === null && p.changes.length > 0)
      .map((p) => {
        // Domain and kind (type), source and source time (occurred_at) are the record's columns.
        const payload = {
          idempotencyKey: p.key,
          outcome: p.outcome,
          // The event as received, so consumers of other domains keep what they derive from it
          // without asking this domain back (event-carried state; docs/design/change-events.md).
          data: p.event.payload,
          rows: p.changes.map((c) => ({
            model: c.model,
            id: c.id,
            key: plainRecord(c.key),
            changed: plainRecord(c.changed),
          })),
        };
        return {
          id: uuidv7(arrival.getTime()),
          customer_id: p.customerId,
          type: `${domain}.${p.event.kind}`,
          source: p.source,
          occurred_at: p.sourceTime,
          // The bus carries the PII values encrypted: no other domain reads them.
          payload: sealing ? sealing.books.sealOutbox(sealing.keys, p.event.kind, payload) : payload,
        };
      });
    if (outbox.length === 0) return;
    // Outbox rows must become visible in `seq` order, or a relay reading `seq > cursor` could pass a
    // lower seq still uncommitted and never publish it. This lock, held to COMMIT and taken as the
    // transaction's last statement, serializes the stores' outbox writers from seq assignment to
    // commit: seq order is commit order (per store, so per customer). Cost: the commit tail only.
    db.track(db.query(OUTBOX_LOCK_SQL));
    db.track(
      insertRecords(
        db,
        'hub_sync_outbox',
        ['id', 'customer_id', 'type', 'source', 'occurred_at', 'payload'],
        tenantId,
        outbox,
      ),
    );
    // The audit trail: one entry per event that changed rows, chained to the stream (tenant,
    // domain) in one statement. Its head's row lock is taken under the outbox lock above, so it adds
    // no wait of its own: the writers of a store are serialized from here to COMMIT already.
    db.track(db.query(AUDIT_APPEND_SQL, tenantId, domain, ...auditParams(auditEntries(batch))));
  }

  /**
   * The audit entries of a batch: one per event that changed rows, before/after of each changed
   * field as `redact` stores it. An event of one row is an entry of that row; an event of several
   * lists them in `rows` (audit.ts), so who, source, key and customers are written and hashed once.
   */
  function auditEntries(batch: readonly Prepared[]): AuditEntry[] {
    const entries: AuditEntry[] = [];
    for (const p of batch) {
      if (p.rejection !== null || p.dupOf !== null || p.changes.length === 0) continue;
      const rows: AuditRowChange[] = [];
      const customers: string[] = [];
      let created = true;
      for (const c of p.changes) {
        const changes: Record<string, unknown> = {};
        for (const field in c.changed)
          changes[field] = [
            c.before === null ? null : jsonReady(redact(c.model, field, c.before[field])),
            jsonReady(redact(c.model, field, c.changed[field])),
          ];
        const rowKey: Record<string, unknown> = {};
        for (const column in c.key) rowKey[column] = jsonReady(redact(c.model, column, c.key[column]));
        if (c.before !== null) created = false;
        if (c.customerId !== null && !customers.includes(c.customerId)) customers.push(c.customerId);
        rows.push({ action: c.before === null ? 'create' : 'update', model: c.model, rowId: c.id, rowKey, changes });
      }
      const [only] = rows;
      const customerIds = customers.length > 1 ? customers.sort() : customers;
      // Literals, not a common head spread into each: the spread copies cost more than the fields.
      entries.push(
        rows.length === 1 && only
          ? {
              action: only.action,
              actor,
              source: p.source,
              idempotencyKey: p.key,
              operation: p.event.kind,
              customerIds,
              model: only.model,
              rowId: only.rowId,
              rowKey: only.rowKey,
              changes: only.changes,
            }
          : {
              action: created ? 'create' : 'update',
              actor,
              source: p.source,
              idempotencyKey: p.key,
              operation: p.event.kind,
              customerIds,
              changes: {},
              rows,
            },
      );
    }
    return entries;
  }

  function toResult(p: Prepared): SyncResult {
    const rejected = p.rejection !== null && p.outcome !== 'DUPLICATE';
    return {
      index: p.index,
      line: p.event.line ?? null,
      idempotencyKey: p.key,
      kind: p.event.kind,
      outcome: rejected ? 'REJECTED' : (p.outcome ?? 'REJECTED'),
      firstOutcome: p.outcome === 'DUPLICATE' ? p.firstOutcome : null,
      code: rejected ? (p.rejection?.code ?? null) : null,
      reason: rejected ? (p.rejection?.reason ?? null) : null,
      field: rejected ? (p.rejection?.field ?? null) : null,
      deadLetterId: rejected ? p.deadLetterId : null,
      conflicts: p.conflicts,
      quality: rejected ? null : p.quality,
      rows: p.refs,
    };
  }

  /**
   * Batches one after another, each its own transaction, and the next one's step 1 (mapping,
   * validation, the customer check: Node's work and an HTTP call) done while the store commits the
   * one before. Only step 1 runs ahead — no SQL, no locks — so the batches' effects and outcomes
   * are exactly those of running them in turn (a staged batch's arrival time is when it was staged).
   */
  async function apply(events: readonly SyncEvent[]): Promise<SyncResult[]> {
    const results: SyncResult[] = [];
    let ahead: Promise<Staged> | undefined;
    for (let start = 0; start < events.length; start += MAX_BATCH) {
      const chunk = events.slice(start, start + MAX_BATCH);
      const nextStart = start + MAX_BATCH;
      const pipelined: Pipelined = { staged: ahead ? await ahead : undefined };
      ahead = undefined;
      if (nextStart < events.length)
        pipelined.whileCommitting = () => {
          pipelined.whileCommitting = undefined;
          ahead = stage(events.slice(nextStart, nextStart + MAX_BATCH), nextStart, undefined);
          // Awaited by the next round; a failure of this batch drops it unawaited.
          ahead.catch(() => undefined);
        };
      // A span per batch (tracing.ts), its statements under it; the events' values are not recorded.
      const batch = await inSpan(
        'sync batch',
        { attributes: { 'hub.sync.domain': domain, 'hub.sync.events': chunk.length } },
        async (span) => {
          const outcomes = await runBatch(chunk, start, pipelined);
          span?.setAttribute('hub.sync.rejected', outcomes.filter((r) => r.outcome === 'REJECTED').length);
          return outcomes;
        },
      );
      results.push(...batch);
      // Not reached while committing (e.g. the batch's events were all refused before any SQL).
      pipelined.whileCommitting?.();
    }
    return results;
  }

  return {
    domain,
    apply,
    async applyOne(event) {
      const [result] = await apply([event]);
      if (!result) throw new Error('sync: no result for the event');
      if (result.outcome === 'REJECTED') {
        throw hubError(
          (result.code as ErrorCode | null) ?? ErrorCode.BadUserInput,
          result.reason ?? 'rejected',
          result.field ? { field: result.field } : {},
        );
      }
      return result;
    },
  };
}
