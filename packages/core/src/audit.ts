/**
 * Audit trail (issue 11, item 1): every change a domain store records and every read of unmasked
 * contact PII, append-only in the store's `hub_audit` table and hash-chained per stream (tenant,
 * domain) — schema, chaining and the append-only trigger: prisma/hub_sync/migrations/
 * 20261203000800_audit_trail. Writers hand entries to `hub_audit_append` (one statement per batch,
 * in the writer's own transaction, so an entry commits exactly with the rows it describes):
 *
 * - the sync pipeline (engine.ts): one entry per event that changed rows — mutations, sync
 *   batches, bulk imports, consumers and jobs all write through it. An event that changed one row
 *   is an entry of that row (model, rowId, rowKey, changes); one that changed several lists them in
 *   `rows` (who, when, source, key and customers once), and `auditTrail` shows one node per row;
 * - the writes beside it (deleteCustomer, the erasure, API keys) through `appendAudit`;
 * - PII reads: the mask middleware (authz.ts) notes each customer whose contact PII it let through
 *   unmasked in the request's `PiiReadLog`; the subgraph kit appends one entry per request.
 *
 * No personal value is stored: before/after of a field classified PII or CONFIDENTIAL
 * (classification.ts, `Model.field` of the hub's schema), and of an unclassified column whose name is
 * classified PII elsewhere in the hub, is a marker (`[PII]`, `[CONFIDENTIAL]`). A marker rather than a
 * keyed hash: a hash of an email is still personal data (it confirms a guess), would need a key to
 * manage and survive an erasure, and the entry already says that the field changed, when and by whom.
 */
import { createHash } from 'node:crypto';
import type { SqlTx, StoreSql } from '@hub/store';
import { hubClassification } from './schemaFiles.js';
import { piiNames, type Classification } from './classification.js';
import { badUserInput, ErrorCode, hubError } from './errors.js';
import { decodeCursor, encodeCursor, lazy, pageWindow, type Connection, type PageArgs } from './pagination.js';
import type { Viewer } from './viewer.js';

export type AuditActorType = 'user' | 'partner' | 'integration' | 'service' | 'system' | 'consumer' | 'job';

/** Who made a change or read: the viewer, or the consumer or job acting for the domain. */
export interface AuditActor {
  readonly type: AuditActorType;
  /** The user id, partner key id, integration account, `service:<subgraph>`, consumer name or `<job>/<run id>`. */
  readonly id: string;
  /** The viewer's roles (comma-separated); null for consumers and jobs. */
  readonly role: string | null;
}

/** The actor a viewer is: a partner key, an integration account, a service, the gateway or a person. */
export function viewerActor(viewer: Viewer): AuditActor {
  const role = viewer.roles.length > 0 ? viewer.roles.join(',') : null;
  const type: AuditActorType = viewer.roles.includes('partner')
    ? 'partner'
    : viewer.roles.includes('integration')
      ? 'integration'
      : viewer.roles.includes('service')
        ? 'service'
        : viewer.roles.includes('system')
          ? 'system'
          : 'user';
  return { type, id: viewer.userId, role };
}

export const consumerActor = (name: string): AuditActor => ({ type: 'consumer', id: name, role: null });
export const jobActor = (job: string, runId?: string): AuditActor => ({
  type: 'job',
  id: runId ? `${job}/${runId}` : job,
  role: null,
});

export type AuditAction = 'create' | 'update' | 'delete' | 'erase' | 'pii_read';

/** One row's change inside an entry of an event that changed several rows (`AuditEntry.rows`). */
export interface AuditRowChange {
  readonly action: AuditAction;
  readonly model: string;
  readonly rowId: string;
  readonly rowKey: Readonly<Record<string, unknown>>;
  /** field -> [before, after], already redacted. */
  readonly changes: Readonly<Record<string, unknown>>;
}

/** One entry as a writer gives it; the store adds tenant, domain, position, time and hashes. */
export interface AuditEntry {
  /** With `rows`: `create` when the event created every row, else `update` (each row keeps its own). */
  readonly action: AuditAction;
  readonly actor: AuditActor;
  readonly source?: string | null;
  readonly idempotencyKey?: string | null;
  readonly operation?: string | null;
  readonly customerIds: readonly string[];
  readonly model?: string | null;
  readonly rowId?: string | null;
  readonly rowKey?: Readonly<Record<string, unknown>> | null;
  /** Writes: field -> [before, after] (already redacted); reads: `{ fields }`; erasure: counts. */
  readonly changes: Readonly<Record<string, unknown>>;
  /**
   * The rows of an event that changed more than one (then `model`, `rowId`, `rowKey` and `changes`
   * are not stored): one stored entry, hashed once, instead of one per row with who, when, source,
   * key and customers repeated in each — a fifth of the rows and about half the bytes for the
   * usage payload's five rows (docs/design/sync-pipeline.md, "Throughput, fifth pass").
   */
  readonly rows?: readonly AuditRowChange[] | undefined;
}

/**
 * The statement every writer sends: `$1` tenant, `$2` domain, then `auditParams(entries)` — the
 * entries as one JSON array of their texts (hub_sync migration audit_append_json).
 */
export const AUDIT_APPEND_SQL = `SELECT "hub_audit_append"($1, $2, $3::json, $4::text[])`;

/** Separates the customer ids of one entry in `hub_audit_append`'s `p_customers`. */
const CUSTOMER_SEPARATOR = '\u001f';

// The actor's JSON, once per actor object: a pipeline hands every entry of its life the same one.
const actorTexts = new WeakMap<AuditActor, string>();

function actorText(actor: AuditActor): string {
  let text = actorTexts.get(actor);
  if (text === undefined)
    actorTexts.set(actor, (text = JSON.stringify({ type: actor.type, id: actor.id, role: actor.role })));
  return text;
}

/**
 * The entry as stored (`hub_audit.entry`) and hashed: its JSON text, fields in this order. Written
 * piece by piece, exactly the text `JSON.stringify` gives of the entry object in that order (the
 * stored texts and their hashes must not change): building that object by spreading a head into
 * it made the stringify take the slow path, ~2x the cost, the largest single cost per event of
 * the sync engine in bench:sync.
 */
export function entryText(e: AuditEntry): string {
  const head =
    `{"action":${JSON.stringify(e.action)},"actor":${actorText(e.actor)},"source":${JSON.stringify(e.source ?? null)}` +
    `,"idempotencyKey":${JSON.stringify(e.idempotencyKey ?? null)},"operation":${JSON.stringify(e.operation ?? null)}` +
    `,"customerIds":${JSON.stringify(e.customerIds)}`;
  // An event of several rows lists them; a single row's fields sit in the entry itself (as before rows).
  if (e.rows !== undefined && e.rows.length > 0) {
    let rows = '';
    for (const r of e.rows)
      rows +=
        `${rows === '' ? '[' : ','}{"action":${JSON.stringify(r.action)},"model":${JSON.stringify(r.model)}` +
        `,"rowId":${JSON.stringify(r.rowId)},"rowKey":${JSON.stringify(r.rowKey)},"changes":${JSON.stringify(r.changes)}}`;
    return `${head},"rows":${rows}]}`;
  }
  return (
    `${head},"model":${JSON.stringify(e.model ?? null)},"rowId":${JSON.stringify(e.rowId ?? null)}` +
    `,"rowKey":${JSON.stringify(e.rowKey ?? null)},"changes":${JSON.stringify(e.changes)}}`
  );
}

/**
 * `hub_audit_append`'s `$3` (the entry texts joined into one JSON array: the store takes each
 * element back as the exact text, so nothing is escaped for an array literal) and `$4` (each
 * entry's customer ids).
 */
export function auditParams(entries: readonly AuditEntry[]): [string, string[]] {
  let texts = '';
  const customers: string[] = [];
  for (const e of entries) {
    texts += `${texts === '' ? '[' : ','}${entryText(e)}`;
    customers.push(e.customerIds.join(CUSTOMER_SEPARATOR));
  }
  return [texts === '' ? '[]' : `${texts}]`, customers];
}

/**
 * An entry's hash as `hub_audit_hash` computes it: sha256 (hex) of the previous hash, the stream,
 * the position, the time in ms and the entry text, one per line. Verification recomputes it here,
 * in Node, so a store whose function was replaced cannot vouch for itself.
 */
export function auditHash(
  prev: string,
  tenantId: string,
  domain: string,
  position: number | string,
  atMs: number | string,
  entry: string,
): string {
  return createHash('sha256')
    .update(`${prev}\n${tenantId}\n${domain}\n${String(position)}\n${String(atMs)}\n${entry}`, 'utf8')
    .digest('hex');
}

/** Appends `entries` to the stream (tenant, domain) inside `tx`; nothing when there are none. */
export async function appendAudit(
  tx: Pick<SqlTx, 'query'>,
  tenantId: string,
  domain: string,
  entries: readonly AuditEntry[],
): Promise<void> {
  if (entries.length === 0) return;
  await tx.query(AUDIT_APPEND_SQL, [tenantId, domain, ...auditParams(entries)]);
}

/** `appendAudit` in a Prisma interactive transaction (the few writes beside the pipeline that use Prisma). */
export async function appendAuditRaw(
  tx: { $executeRawUnsafe(sql: string, ...values: unknown[]): Promise<number> },
  tenantId: string,
  domain: string,
  entries: readonly AuditEntry[],
): Promise<void> {
  if (entries.length === 0) return;
  await tx.$executeRawUnsafe(AUDIT_APPEND_SQL, tenantId, domain, ...auditParams(entries));
}

export const AUDIT_MARKERS = { PII: '[PII]', CONFIDENTIAL: '[CONFIDENTIAL]' } as const;

/** `(model, field, value)` -> what the audit stores for it: the value, or a marker for personal data. */
export type AuditRedactor = (model: string, field: string, value: unknown) => unknown;

/**
 * The redaction rule, derived from the classification (default: the hub's, from the schema files):
 * `Model.field` classified PII or CONFIDENTIAL -> its marker; classified PUBLIC or INTERNAL -> the
 * value; not classified (a column the graph does not serve under that name) -> `[PII]` when a field
 * of that name is PII anywhere in the hub (fail closed for contact data), else the value. Null stays
 * null (whether a field was set is no personal data).
 */
export function auditRedactor(classification: Classification = hubClassification()): AuditRedactor {
  const names = piiNames(classification);
  const decided = new Map<string, string | null>();
  const markerOf = (model: string, field: string): string | null => {
    const coordinate = `${model}.${field}`;
    let marker = decided.get(coordinate);
    if (marker === undefined) {
      const level = classification.fields.get(coordinate)?.level;
      marker =
        level === 'PII' || level === 'CONFIDENTIAL'
          ? AUDIT_MARKERS[level]
          : level === undefined && names.has(field)
            ? AUDIT_MARKERS.PII
            : null;
      decided.set(coordinate, marker);
    }
    return marker;
  };
  return (model, field, value) => {
    if (value === null || value === undefined) return null;
    return markerOf(model, field) ?? value;
  };
}

let hubRedactor: AuditRedactor | undefined;

/** `auditRedactor()` of the hub's classification, built once per process. */
export function defaultAuditRedactor(): AuditRedactor {
  return (hubRedactor ??= auditRedactor());
}

/**
 * The customers (and PII fields) a request let through unmasked, noted by the mask middleware
 * (authz.ts) and appended as one `pii_read` entry when the request ends (subgraph kit).
 */
export class PiiReadLog {
  private readonly customers = new Set<string>();
  private readonly fields = new Set<string>();
  add(customerId: string, coordinate: string): void {
    this.customers.add(customerId);
    this.fields.add(coordinate);
  }
  get size(): number {
    return this.customers.size;
  }
  /** The entry for what was noted, or null when nothing was. */
  entry(actor: AuditActor, operation: string | null): AuditEntry | null {
    if (this.customers.size === 0) return null;
    return {
      action: 'pii_read',
      actor,
      operation,
      customerIds: [...this.customers].sort(),
      changes: { fields: [...this.fields].sort() },
    };
  }
}

// ---------------------------------------------------------------------------------------------
// Reading the trail (admins, `sync { <domain> { auditTrail } }`).

export interface AuditTrailArgs extends PageArgs {
  customerId: string;
  from?: Date | null;
  to?: Date | null;
  /** Newest first (the console's order); `after` then pages to older entries. */
  newestFirst?: boolean | null;
}

/** What an entry says of the change, stored (`hub_audit.entry`) and shown (`AuditEntry`) alike. */
interface EntryFacts {
  action: string;
  source: string | null;
  idempotencyKey: string | null;
  operation: string | null;
  customerIds: string[];
  model: string | null;
  rowId: string | null;
}

/** One entry as `AuditEntry` of the graph shows it. */
export interface AuditEntryNode extends EntryFacts {
  id: string;
  domain: string;
  position: number;
  at: Date;
  actorType: string;
  actorId: string;
  actorRole: string | null;
  rowKey: string | null;
  changes: string;
  hash: string;
  prevHash: string;
}

const json = (value: unknown) => (value === null || value === undefined ? null : JSON.stringify(value));

/** `hub_audit.entry` parsed (what `entryText` wrote). */
interface StoredEntry extends EntryFacts {
  actor: { type: string; id: string; role: string | null };
  rowKey: unknown;
  changes: unknown;
}

/** One of an entry's `rows`, as the trail's query hands it (null: the entry names one row or none). */
interface StoredRow {
  action: string;
  model: string;
  rowId: string;
  rowKey: unknown;
  changes: unknown;
}

/**
 * A node's cursor: its entry's position, and `.<n>` for the n-th row (from 2) of an entry that
 * lists several (`AuditEntry.rows`), so a page can end inside such an entry.
 */
function decodeTrailCursor(cursor: string): [number, number] {
  const [position, row, extra] = decodeCursor(cursor).split('.');
  const at = [Number(position), row === undefined ? 1 : Number(row)] as [number, number];
  if (extra !== undefined || !at.every((n) => Number.isSafeInteger(n) && n >= 0) || (row !== undefined && at[1] < 2))
    throw badUserInput('after', 'is not a cursor returned by this API');
  return at;
}

/**
 * A page of the entries of `tenantId` in this store's `domain` stream that name `customerId`, in
 * chain order (oldest first, or newest first with `newestFirst`), within [from, to], one node per
 * row an entry names (an entry listing several `rows` is several nodes with its position, hash and
 * who/when). The cursor is the node's position (`<position>.<n>` for an entry's n-th row from the
 * second): the next page holds the nodes after it in the chosen order.
 */
export async function auditTrail(
  sql: Pick<StoreSql, 'query'>,
  tenantId: string | null,
  domain: string,
  args: AuditTrailArgs,
): Promise<Connection<AuditEntryNode>> {
  if (tenantId === null) throw hubError(ErrorCode.Forbidden, 'This operation needs a tenant');
  if (!args.customerId) throw badUserInput('customerId', 'is required');
  const { take } = pageWindow(args);
  const [after, afterRow] = args.after ? decodeTrailCursor(args.after) : [0, 1];
  const newestFirst = args.newestFirst === true;
  const where = [`a."tenant_id" = $1`, `a."domain" = $2`, `a."customer_ids" @> ARRAY[$3]::text[]`];
  const params: unknown[] = [tenantId, domain, args.customerId];
  if (args.from) where.push(`a."at" >= $${params.push(args.from)}`);
  if (args.to) where.push(`a."at" <= $${params.push(args.to)}`);
  const base = [...where];
  const baseParams = [...params];
  // One node per row: an entry listing several rows (`AuditEntry.rows`) is expanded, in its order.
  const expanded = `"hub_audit" a CROSS JOIN LATERAL json_array_elements(
      CASE WHEN json_typeof(a."entry"::json -> 'rows') = 'array' THEN a."entry"::json -> 'rows' ELSE '[null]'::json END
    ) WITH ORDINALITY AS r("row", "n")`;
  if (args.after) {
    const p = params.push(after);
    const n = params.push(afterRow);
    where.push(`(a."position", r."n") ${newestFirst ? '<' : '>'} ($${p}::bigint, $${n}::bigint)`);
  }
  const order = newestFirst ? 'DESC' : 'ASC';
  const rows = await sql.query<Record<string, unknown>>(
    `SELECT a."position", a."at", a."entry", a."prev_hash", a."hash", r."n", r."row"::text AS "row" FROM ${expanded}
      WHERE ${where.join(' AND ')} ORDER BY a."position" ${order}, r."n" ${order} LIMIT $${params.push(take)}`,
    params,
  );
  const nodes = rows.map((row): AuditEntryNode & { cursor: string } => {
    const entry = JSON.parse(String(row['entry'])) as StoredEntry;
    const n = Number(row['n']);
    const one = row['row'] === null || row['row'] === 'null' ? null : (JSON.parse(String(row['row'])) as StoredRow);
    const position = Number(row['position']);
    const at = n > 1 ? `${position}.${n}` : String(position);
    return {
      cursor: at,
      id: `${domain}:${at}`,
      domain,
      position,
      at: row['at'] as Date,
      action: one?.action ?? entry.action,
      actorType: entry.actor.type,
      actorId: entry.actor.id,
      actorRole: entry.actor.role,
      source: entry.source,
      idempotencyKey: entry.idempotencyKey,
      operation: entry.operation,
      customerIds: entry.customerIds,
      model: one?.model ?? entry.model,
      rowId: one?.rowId ?? entry.rowId,
      rowKey: json(one ? one.rowKey : entry.rowKey),
      changes: json(one ? one.changes : entry.changes) ?? '{}',
      hash: String(row['hash']),
      prevHash: String(row['prev_hash']),
    };
  });
  const page = nodes.slice(0, take - 1);
  const edges = page.map(({ cursor, ...node }) => ({ cursor: encodeCursor(cursor), node }));
  return {
    edges,
    pageInfo: {
      hasNextPage: nodes.length > take - 1,
      hasPreviousPage: after > 0,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges.at(-1)?.cursor ?? null,
    },
    totalCount: lazy(
      async () =>
        (
          await sql.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM ${expanded} WHERE ${base.join(' AND ')}`,
            baseParams,
          )
        )[0]?.n ?? 0,
    ) as unknown as number,
  };
}

// ---------------------------------------------------------------------------------------------
// Verification (`npm run audit:verify`).

/** The first broken link of a stream. */
export interface AuditBreak {
  readonly tenantId: string;
  readonly domain: string;
  readonly position: number;
  /**
   * `hash`: the entry's content does not give its hash; `link`: its prev_hash is not the entry
   * before's hash; `gap`: positions missing; `head`: the stream's head disagrees with its last entry;
   * `customers`: the row's customer column (what auditTrail filters on) is not what the entry names.
   */
  readonly kind: 'hash' | 'link' | 'gap' | 'head' | 'customers';
  readonly expected: string;
  readonly found: string;
}

export interface AuditStreamReport {
  readonly tenantId: string;
  readonly domain: string;
  /** Entries checked (those archived by retention are not in the store). */
  readonly entries: number;
  readonly firstPosition: number | null;
  readonly lastPosition: number;
  /** The head's hash: note it somewhere else (a ticket, a log) to detect a rewrite of the whole chain later. */
  readonly headHash: string;
  readonly broken: AuditBreak | null;
}

const VERIFY_PAGE = 5_000;

interface VerifyRow {
  position: string | number;
  at_ms: string | number;
  customer_ids: string[];
  entry: string;
  prev_hash: string;
  hash: string;
}

/** Whether the row's customer column says what its entry says (auditTrail filters on the column). */
function customersMatch(row: VerifyRow): boolean {
  try {
    const named = (JSON.parse(row.entry) as { customerIds?: unknown }).customerIds;
    return (
      Array.isArray(named) &&
      named.length === row.customer_ids.length &&
      named.every((id, i) => id === row.customer_ids[i])
    );
  } catch {
    return false;
  }
}

/**
 * Walks every stream of the store (or of `tenantId`) from its first stored entry: each entry's hash
 * recomputed from its content and its previous hash, each link checked against the entry before,
 * positions contiguous from the last archived one, and the head matching the last entry. Stops a
 * stream at its first broken link.
 */
export async function verifyAudit(
  sql: Pick<StoreSql, 'query'>,
  options: { tenantId?: string } = {},
): Promise<AuditStreamReport[]> {
  const heads = await sql.query<{
    tenant_id: string;
    domain: string;
    position: string | number;
    hash: string;
    archived_position: string | number;
    archived_hash: string;
  }>(
    `SELECT h.* FROM (
       SELECT "tenant_id", "domain", "position", "hash", "archived_position", "archived_hash" FROM "hub_audit_head"
       UNION ALL
       -- a stream with entries but no head (the head row removed) still gets walked
       SELECT DISTINCT a."tenant_id", a."domain", 0, repeat('0', 64), 0, repeat('0', 64) FROM "hub_audit" a
        WHERE NOT EXISTS (SELECT 1 FROM "hub_audit_head" x WHERE x."tenant_id" = a."tenant_id" AND x."domain" = a."domain")
     ) h ${options.tenantId === undefined ? '' : 'WHERE h."tenant_id" = $1'}
     ORDER BY 1, 2`,
    options.tenantId === undefined ? [] : [options.tenantId],
  );
  const reports: AuditStreamReport[] = [];
  for (const head of heads) {
    const stream = { tenantId: head.tenant_id, domain: head.domain };
    let position: number = Number(head.archived_position);
    let hash: string = head.archived_hash;
    let entries = 0;
    let first: number | null = null;
    let broken: AuditBreak | null = null;
    const breakAt = (at: number, kind: AuditBreak['kind'], expected: string, found: string): AuditBreak => ({
      ...stream,
      position: at,
      kind,
      expected,
      found,
    });
    // From the first stored entry (-1: an entry at or before the archived position shows as a gap too).
    let from = -1;
    while (broken === null) {
      const rows: VerifyRow[] = await sql.query<VerifyRow>(
        `SELECT "position", (extract(epoch FROM "at") * 1000)::bigint::text AS at_ms, "customer_ids", "entry",
                "prev_hash", "hash"
           FROM "hub_audit" WHERE "tenant_id" = $1 AND "domain" = $2 AND "position" > $3
          ORDER BY "position" LIMIT ${VERIFY_PAGE}`,
        [stream.tenantId, stream.domain, from],
      );
      for (const row of rows) {
        const at = Number(row.position);
        first ??= at;
        if (at !== position + 1) broken = breakAt(position + 1, 'gap', `position ${position + 1}`, `position ${at}`);
        else if (row.prev_hash !== hash) broken = breakAt(at, 'link', hash, row.prev_hash);
        else {
          const computed = auditHash(row.prev_hash, stream.tenantId, stream.domain, at, row.at_ms, row.entry);
          if (computed !== row.hash) broken = breakAt(at, 'hash', computed, row.hash);
          else if (!customersMatch(row))
            broken = breakAt(at, 'customers', 'the customerIds of the entry', JSON.stringify(row.customer_ids));
        }
        if (broken !== null) break;
        position = at;
        hash = row.hash;
        entries++;
      }
      if (rows.length < VERIFY_PAGE) break;
      from = position;
    }
    if (broken === null && (Number(head.position) !== position || head.hash !== hash))
      broken = breakAt(
        Number(head.position),
        'head',
        `position ${head.position} ${head.hash}`,
        `position ${position} ${hash}`,
      );
    reports.push({
      ...stream,
      entries,
      firstPosition: first,
      lastPosition: position,
      headHash: head.hash,
      broken,
    });
  }
  return reports;
}
