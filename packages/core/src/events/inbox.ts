/**
 * The consuming store's event bookkeeping (prisma/hub_sync/migrations/20261203000100_event_consumers):
 * the inbox (what a consumer applied), its cursor per stream and bus, and its dead letters. Plain
 * SQL on the store's driver, inside the consumer's own transaction.
 */
import type { SqlTx, StoreSql } from '@hub/store';
import { uuidv7 } from '../sync/ids.js';
import type { EventEnvelope } from './types.js';

type Db = SqlTx | Pick<StoreSql, 'query'>;

/** Where a consumer's position moves with a claim (`claimInboxBatch`). */
export interface CursorMove {
  readonly stream: string;
  readonly bus: string;
  readonly cursor: string;
}

/** `hub_event_cursor`'s upsert of (consumer, stream, bus, cursor) from parameters `$n`..`$n+3`: forward only. */
const cursorUpsert = (n: number) => `INSERT INTO "hub_event_cursor" ("consumer", "stream", "bus", "cursor")
     VALUES ($${n}, $${n + 1}, $${n + 2}, $${n + 3})
     ON CONFLICT ("consumer", "stream", "bus") DO UPDATE
       SET "cursor" = CASE WHEN EXCLUDED."cursor"::numeric > "hub_event_cursor"."cursor"::numeric
                           THEN EXCLUDED."cursor" ELSE "hub_event_cursor"."cursor" END,
           "updated_at" = now()`;

/**
 * Records a batch of events as applied by `consumer` in one statement, and with `move` moves its
 * position in the same statement (one round trip of the consumer's transaction, not two); returns
 * the ids that were new (the others were applied before: a redelivery, skipped).
 */
export async function claimInboxBatch(
  tx: SqlTx,
  consumer: string,
  events: readonly EventEnvelope[],
  move?: CursorMove,
): Promise<Set<string>> {
  if (events.length === 0) {
    if (move) await advanceCursor(tx, consumer, move.stream, move.bus, move.cursor);
    return new Set();
  }
  const params = [consumer, events.map((e) => e.id), events.map((e) => e.domain), events.map((e) => e.cursor)];
  // A data-modifying WITH runs whether or not the statement reads it.
  const rows = await tx.query<{ event_id: string }>(
    `${move ? `WITH moved AS (${cursorUpsert(5)})` : ''}
     INSERT INTO "hub_event_inbox" ("consumer", "event_id", "stream", "cursor")
     SELECT $1, e.id, e.stream, e.cursor FROM unnest($2::uuid[], $3::text[], $4::text[]) AS e(id, stream, cursor)
     ON CONFLICT DO NOTHING RETURNING "event_id"::text`,
    move ? [...params, consumer, move.stream, move.bus, move.cursor] : params,
  );
  return new Set(rows.map((row) => row.event_id));
}

/**
 * Moves `consumer`'s position in `stream` on `bus` forward to `cursor`, never back (a replay
 * re-drives old events without rewinding the live position). Cursors of both buses are integers.
 */
export async function advanceCursor(
  db: Db,
  consumer: string,
  stream: string,
  bus: string,
  cursor: string,
): Promise<void> {
  await db.query(cursorUpsert(1), [consumer, stream, bus, cursor]);
}

export async function storedCursor(db: Db, consumer: string, stream: string, bus: string): Promise<string | null> {
  const [row] = await db.query<{ cursor: string }>(
    `SELECT "cursor" FROM "hub_event_cursor" WHERE "consumer" = $1 AND "stream" = $2 AND "bus" = $3`,
    [consumer, stream, bus],
  );
  return row?.cursor ?? null;
}

export interface DeadLetterInput {
  readonly consumer: string;
  readonly event: EventEnvelope;
  readonly reason: string;
  readonly attempts: number;
  readonly firstFailedAt: Date;
}

/**
 * Stores (or, for one already waiting, updates) the dead letter of `consumer` for the event. The
 * inbox is not written: a dead-lettered event is not applied, so a replay may still apply it.
 */
export async function writeDeadLetter(db: Db, input: DeadLetterInput): Promise<void> {
  const { event } = input;
  await db.query(
    `INSERT INTO "hub_event_dead_letter" ("id", "consumer", "event_id", "stream", "tenant_id", "type", "envelope",
        "reason", "attempts", "first_failed_at", "last_failed_at")
     VALUES ($1::uuid, $2, $3::uuid, $4, $5, $6, $7::jsonb, $8, $9, $10, now())
     ON CONFLICT ("consumer", "event_id") WHERE "replayed_at" IS NULL DO UPDATE
       SET "reason" = EXCLUDED."reason", "attempts" = "hub_event_dead_letter"."attempts" + EXCLUDED."attempts",
           "last_failed_at" = now()`,
    [
      uuidv7(),
      input.consumer,
      event.id,
      event.domain,
      event.tenantId,
      event.type,
      JSON.stringify(event),
      input.reason.slice(0, 2000),
      input.attempts,
      input.firstFailedAt.toISOString(),
    ],
  );
}
