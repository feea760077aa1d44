/**
 * The one place an outbox row becomes an `EventEnvelope`, and where the embedded log (the outbox
 * itself) is read in stream order. Used by the relay (what it publishes), the embedded bus and the
 * `_events` field (what other processes read), and replay.
 */
import type { SqlTx, StoreSql } from '@hub/store';
import type { Domain } from '../domains.js';
import type { EventEnvelope, StartPosition } from './types.js';

/** A `hub_sync_outbox` row as selected by OUTBOX_COLUMNS. */
export interface OutboxRow {
  readonly seq: string | number | bigint;
  readonly id: string;
  readonly tenant_id: string;
  readonly customer_id: string | null;
  readonly type: string;
  readonly source: string;
  readonly payload: unknown;
  readonly occurred_at: Date | string;
  readonly committed_at: Date | string;
  readonly schema_version: number | null;
}

/** Selected as text (a BIGINT seq overflows JS numbers); order by the table's column, not this alias. */
export const OUTBOX_COLUMNS = `"seq"::text AS seq, "id"::text AS id, "tenant_id", "customer_id", "type", "source",
  "payload", "occurred_at", "committed_at", "schema_version"`;

const iso = (value: Date | string) => (value instanceof Date ? value : new Date(value)).toISOString();

/** Envelope of one outbox row of `domain`'s store; the cursor is the row's seq (embedded log). */
export function envelopeFromOutboxRow(domain: Domain, row: OutboxRow): EventEnvelope {
  const payload = typeof row.payload === 'string' ? (JSON.parse(row.payload) as unknown) : row.payload;
  return {
    id: row.id,
    type: row.type,
    tenantId: row.tenant_id,
    customerId: row.customer_id,
    domain,
    source: row.source,
    occurredAt: iso(row.occurred_at),
    committedAt: iso(row.committed_at),
    schemaVersion: row.schema_version ?? 1,
    cursor: String(row.seq),
    payload: (payload ?? {}) as Record<string, unknown>,
  };
}

type Reader = Pick<StoreSql, 'query'> | SqlTx;

/**
 * Outbox rows of the store with seq > `after`, in seq order (= commit order, see the engine's
 * OUTBOX_LOCK_SQL), optionally only `types`. Returns the envelopes and the seq read up to, so a
 * filtered reader still moves past the rows it was not interested in.
 */
export async function readOutbox(
  db: Reader,
  domain: Domain,
  options: { after: string; limit: number; types?: readonly string[] | undefined },
): Promise<{ events: EventEnvelope[]; position: string }> {
  const limit = Math.max(1, Math.min(options.limit, 5000));
  // Scan a window of seqs, then filter: the position advances over the whole window.
  const rows = await db.query<OutboxRow & { matches: boolean }>(
    `SELECT ${OUTBOX_COLUMNS}, ($3::text[] IS NULL OR "type" = ANY($3::text[])) AS matches
       FROM "hub_sync_outbox" WHERE "seq" > $1::bigint ORDER BY "hub_sync_outbox"."seq" LIMIT $2`,
    [options.after, limit, options.types ? [...options.types] : null],
  );
  const last = rows.at(-1);
  return {
    events: rows.filter((r) => r.matches).map((r) => envelopeFromOutboxRow(domain, r)),
    position: last ? String(last.seq) : options.after,
  };
}

/** The seq just before `start` in the store's outbox (`0` = the beginning). */
export async function outboxPositionOf(db: Reader, start: StartPosition): Promise<string> {
  switch (start.from) {
    case 'beginning':
      return '0';
    case 'cursor':
      if (!/^\d+$/.test(start.cursor)) throw new Error(`not an embedded-log cursor: ${start.cursor}`);
      // A cursor names the last event seen: reading resumes after it.
      return start.cursor;
    case 'now': {
      const [row] = await db.query<{ seq: string | null }>(`SELECT max("seq")::text AS seq FROM "hub_sync_outbox"`);
      return row?.seq ?? '0';
    }
    case 'time': {
      const [row] = await db.query<{ seq: string | null }>(
        `SELECT max("seq")::text AS seq FROM "hub_sync_outbox" WHERE "committed_at" < $1`,
        [start.time.toISOString()],
      );
      return row?.seq ?? '0';
    }
  }
}

/** Parses a `--from`/`from` value: digits are a cursor, anything else an ISO time. */
export function parseStartPosition(from: string): StartPosition {
  if (from === 'beginning' || from === 'now') return { from };
  if (/^\d+$/.test(from)) return { from: 'cursor', cursor: from };
  const time = new Date(from);
  if (Number.isNaN(time.getTime())) throw new Error(`--from must be a cursor (digits) or an ISO time, got ${from}`);
  return { from: 'time', time };
}
