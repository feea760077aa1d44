/**
 * Admin reads and repairs of one domain's sync bookkeeping: data quality over a window, conflicts
 * and dead letters (keyset pages by UUIDv7 id, i.e. in the order they were recorded), overriding a
 * conflict and replaying a dead letter. Repairs go through the same pipeline as any event.
 *
 * The PII values the bookkeeping keeps are stored encrypted (crypto/bookkeeping.ts): reads decrypt
 * them and show them as the graph shows a contact's (masked unless a PII role of the viewer covers
 * the row's customer); repairs re-apply the plaintext.
 */
import { bookkeepingCryptoOf, BOOKKEEPING } from '../crypto/index.js';
import { badUserInput, ErrorCode, hubError, notFound } from '../errors.js';
import { pageWindow, type Connection, type PageArgs, connectionFromRows } from '../pagination.js';
import { OVERRIDE_KIND, OVERRIDE_PREFIX } from './conflicts.js';
import type { SyncPipeline } from './engine.js';
import { executor, type RawSqlClient } from './sql.js';
import type { SyncEvent, SyncResult } from './types.js';

/** The brief's targets ("Data Quality and Governance"); timeliness has none. */
export const QUALITY_TARGETS = { accuracy: 0.999, completeness: 0.98, consistency: 0.995 } as const;
const MAX_WINDOW_HOURS = 2160;

export interface QualityDimension {
  value: number | null;
  target: number | null;
  meetsTarget: boolean | null;
}

export interface DataQualityReport {
  domain: string;
  since: Date;
  until: Date;
  records: number;
  rejected: number;
  accuracy: QualityDimension;
  completeness: QualityDimension;
  consistency: QualityDimension;
  timeliness: QualityDimension;
  score: number | null;
}

export interface ConflictFilter {
  model?: string | null;
  field?: string | null;
  customerId?: string | null;
  rule?: string | null;
  resolved?: boolean | null;
  since?: Date | null;
  until?: Date | null;
}

export interface DeadLetterFilter {
  kind?: string | null;
  replayed?: boolean | null;
  since?: Date | null;
}

export interface SyncAdmin {
  dataQuality(windowHours?: number | null): Promise<DataQualityReport>;
  syncConflicts(args: PageArgs & { filter?: ConflictFilter | null }): Promise<Connection<Record<string, unknown>>>;
  deadLetters(args: PageArgs & { filter?: DeadLetterFilter | null }): Promise<Connection<Record<string, unknown>>>;
  /** The tenant's change-event dead letters of this domain's consumers (events/consumer.ts). */
  eventDeadLetters(args: PageArgs): Promise<Connection<Record<string, unknown>>>;
  /** Re-applies the picked side as an event of source `override:<admin>`, then marks the conflict resolved. */
  resolveConflict(id: string, pick: 'STORED' | 'INCOMING'): Promise<SyncResult>;
  /** Re-runs the stored (or the corrected) event under the letter's idempotency key. */
  replayDeadLetter(id: string, event?: SyncEvent | null): Promise<SyncResult>;
}

function dimension(value: number | null, target: number | null): QualityDimension {
  const rounded = value === null ? null : Math.round(value * 10_000) / 10_000;
  return { value: rounded, target, meetsTarget: rounded === null || target === null ? null : rounded >= target };
}

/** AND-ed SQL conditions with their parameters, numbered after the fixed ones. */
class Where {
  readonly parts: string[] = [];
  constructor(readonly params: unknown[]) {}
  add(condition: (n: string) => string, value: unknown): void {
    if (value === undefined || value === null) return;
    this.params.push(value);
    this.parts.push(condition(`$${this.params.length}`));
  }
  raw(condition: string): void {
    this.parts.push(condition);
  }
  get sql(): string {
    return this.parts.join(' AND ');
  }
}

/**
 * The customer a dead letter's payload names: the first `customerId` key, at any depth (a letter has
 * no customer column). None found: null, and only a tenant-wide PII role (an admin) reads the
 * letter unmasked (authz.ts `coversRow`).
 */
function customerOfPayload(value: unknown): string | null {
  if (typeof value !== 'object' || value === null) return null;
  const own = (value as Record<string, unknown>)['customerId'];
  if (typeof own === 'string') return own;
  for (const item of Object.values(value)) {
    const found = customerOfPayload(item);
    if (found !== null) return found;
  }
  return null;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function uuidArg(field: string, value: string): string {
  if (!UUID_RE.test(value)) throw badUserInput(field, 'is not an id returned by this API');
  return value;
}

export function createSyncAdmin(options: {
  client: unknown;
  domain: string;
  tenantId: string | null;
  /** `<role>:<user>` of the admin, recorded as `override:<admin>` and in `resolved_by`. */
  actor: string;
  /**
   * Whose dead letters the caller may replay: `all` (an admin), or the sources it writes as (an
   * integration account: its own events). A replay writes as the letter's source, so replaying
   * another source's letter would borrow that source's standing (a system of record's included).
   */
  replaySources?: 'all' | ReadonlySet<string>;
  /**
   * Whether the viewer reads a record's PII unmasked (a PII role covering its customer, as the
   * graph's masks decide, authz.ts); it is then noted as a PII read (audit.ts). Default: masked.
   */
  revealPii?: (customerId: string | null, coordinate: string) => boolean;
  pipeline: SyncPipeline;
  now?: () => Date;
}): SyncAdmin {
  const db = executor(options.client as RawSqlClient);
  const books = bookkeepingCryptoOf(options.client as object);
  const reveal = options.revealPii ?? (() => false);
  const now = options.now ?? (() => new Date());
  const tenant = (): string => {
    if (options.tenantId === null) throw hubError(ErrorCode.Forbidden, 'This operation needs a tenant');
    return options.tenantId;
  };

  async function page(
    table: string,
    where: Where,
    args: PageArgs,
    map: (row: Record<string, unknown>) => Promise<Record<string, unknown>>,
  ): Promise<Connection<Record<string, unknown>>> {
    const { take, afterId } = pageWindow(args);
    const base = where.sql;
    const countParams = [...where.params];
    if (afterId !== undefined) where.add((n) => `"id" > ${n}::uuid`, uuidArg('after', afterId));
    where.params.push(take);
    const rows = await db.query(
      `SELECT * FROM ${table} WHERE ${where.sql} ORDER BY "id" LIMIT $${where.params.length}`,
      ...where.params,
    );
    const nodes = await Promise.all(rows.map(async (row) => ({ ...(await map(row)), id: String(row['id']) })));
    return connectionFromRows(
      nodes,
      take - 1,
      afterId !== undefined,
      async () =>
        (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE ${base}`, ...countParams))[0]
          ?.n ?? 0,
    );
  }

  const json = (value: unknown) => (value === null || value === undefined ? null : JSON.stringify(value));

  /** A conflict's stored or incoming value in plaintext. */
  function conflictValue(row: Record<string, unknown>, side: 'stored' | 'incoming'): Promise<unknown> {
    const value = row[`${side}_value`];
    if (!books) return Promise.resolve(value);
    const column = side === 'stored' ? BOOKKEEPING.storedValue : BOOKKEEPING.incomingValue;
    return books.openValue(tenant(), column, String(row['field']), value);
  }

  /** A dead letter's payload in plaintext. */
  async function letterPayload(letter: Record<string, unknown>): Promise<Record<string, unknown>> {
    const payload = letter['payload'] as Record<string, unknown>;
    return books ? books.openPayload(tenant(), BOOKKEEPING.deadLetter, String(letter['kind']), payload) : payload;
  }

  return {
    async dataQuality(windowHours = 24) {
      const hours = windowHours ?? 24;
      if (!Number.isInteger(hours) || hours < 1 || hours > MAX_WINDOW_HOURS)
        throw badUserInput('windowHours', `must be an integer between 1 and ${MAX_WINDOW_HOURS}`);
      const until = now();
      const since = new Date(until.getTime() - hours * 3_600_000);
      const [row] = await db.query<Record<string, number | null>>(
        `SELECT count(*)::int AS records, (count(*) FILTER (WHERE "rejected"))::int AS rejected,
                avg("validity") AS accuracy, avg("completeness") AS completeness, avg("consistency") AS consistency,
                avg("timeliness") AS timeliness, avg("score") AS score
           FROM "hub_sync_quality" WHERE "tenant_id" = $1 AND "received_at" > $2 AND "received_at" <= $3`,
        tenant(),
        since,
        until,
      );
      const value = (name: string) => (row?.[name] === null || row?.[name] === undefined ? null : Number(row[name]));
      return {
        domain: options.domain,
        since,
        until,
        records: value('records') ?? 0,
        rejected: value('rejected') ?? 0,
        accuracy: dimension(value('accuracy'), QUALITY_TARGETS.accuracy),
        completeness: dimension(value('completeness'), QUALITY_TARGETS.completeness),
        consistency: dimension(value('consistency'), QUALITY_TARGETS.consistency),
        timeliness: dimension(value('timeliness'), null),
        score: dimension(value('score'), null).value,
      };
    },

    syncConflicts({ filter, ...args }) {
      const where = new Where([tenant()]);
      where.raw(`"tenant_id" = $1`);
      where.add((n) => `"model" = ${n}`, filter?.model);
      where.add((n) => `"field" = ${n}`, filter?.field);
      where.add((n) => `"customer_id" = ${n}`, filter?.customerId);
      where.add((n) => `"rule" = ${n}`, filter?.rule);
      if (filter?.resolved === true) where.raw(`"resolved_at" IS NOT NULL`);
      if (filter?.resolved === false) where.raw(`"resolved_at" IS NULL`);
      where.add((n) => `"decided_at" >= ${n}`, filter?.since);
      where.add((n) => `"decided_at" <= ${n}`, filter?.until);
      return page('"hub_sync_conflict"', where, args, async (row) => {
        const field = String(row['field']);
        const customerId = (row['customer_id'] as string | null) ?? null;
        const shown = (value: unknown, coordinate: string) =>
          !books?.names.has(field) || value === null || reveal(customerId, coordinate)
            ? value
            : books.maskValue(field, value);
        return {
          domain: options.domain,
          model: row['model'],
          rowKey: row['row_key'],
          customerId: row['customer_id'],
          field: row['field'],
          storedValue: json(shown(await conflictValue(row, 'stored'), 'SyncConflict.storedValue')),
          storedSource: row['stored_source'],
          storedAt: row['stored_at'],
          incomingValue: json(shown(await conflictValue(row, 'incoming'), 'SyncConflict.incomingValue')),
          incomingSource: row['incoming_source'],
          incomingAt: row['incoming_at'],
          rule: row['rule'],
          winner: row['winner'],
          decidedAt: row['decided_at'],
          resolvedBy: row['resolved_by'],
          resolvedAt: row['resolved_at'],
        };
      });
    },

    eventDeadLetters(args) {
      const where = new Where([tenant()]);
      where.raw(`"tenant_id" = $1`);
      return page('"hub_event_dead_letter"', where, args, async (row) => ({
        consumer: row['consumer'],
        eventId: String(row['event_id']),
        stream: row['stream'],
        type: row['type'],
        envelope: JSON.stringify(row['envelope']),
        reason: row['reason'],
        attempts: row['attempts'],
        firstFailedAt: row['first_failed_at'],
        lastFailedAt: row['last_failed_at'],
        replayedAt: row['replayed_at'],
        replayOutcome: row['replay_outcome'],
      }));
    },
    deadLetters({ filter, ...args }) {
      const where = new Where([tenant()]);
      where.raw(`"tenant_id" = $1`);
      where.add((n) => `"kind" = ${n}`, filter?.kind);
      if (filter?.replayed === true) where.raw(`"replayed_at" IS NOT NULL`);
      if (filter?.replayed === false) where.raw(`"replayed_at" IS NULL`);
      where.add((n) => `"received_at" >= ${n}`, filter?.since);
      return page('"hub_sync_dead_letter"', where, args, async (row) => {
        const kind = String(row['kind']);
        let payload = await letterPayload(row);
        if (books && books.holdsPii(kind, payload) && !reveal(customerOfPayload(payload), 'SyncDeadLetter.payload'))
          payload = books.maskPayload(kind, payload);
        return {
          domain: options.domain,
          kind: row['kind'],
          idempotencyKey: row['key'],
          source: row['source'],
          payload: JSON.stringify(payload),
          code: row['code'],
          reason: row['reason'],
          field: row['field'],
          line: row['line'],
          receivedAt: row['received_at'],
          replayedAt: row['replayed_at'],
          replayOutcome: row['replay_outcome'],
        };
      });
    },

    async resolveConflict(id, pick) {
      const tenantId = tenant();
      const [conflict] = await db.query<Record<string, unknown>>(
        `SELECT * FROM "hub_sync_conflict" WHERE "tenant_id" = $1 AND "id" = $2::uuid`,
        tenantId,
        uuidArg('id', id),
      );
      if (!conflict) throw notFound('SyncConflict', id);
      if (conflict['resolved_at'] !== null)
        throw hubError(ErrorCode.Conflict, `SyncConflict ${JSON.stringify(id)} was already resolved`, { id });
      const payload = {
        model: conflict['model'],
        rowKey: conflict['row_key'],
        field: conflict['field'],
        // Re-applied in plaintext: the pipeline encrypts it again where it stores it.
        value: await conflictValue(conflict, pick === 'STORED' ? 'stored' : 'incoming'),
      };
      // A fixed key per (conflict, pick): resolving again after a lost answer is a DUPLICATE, not a second override.
      const result = await options.pipeline.applyOne({
        kind: OVERRIDE_KIND,
        payload,
        idempotencyKey: `override:${id}:${pick}`,
        source: `${OVERRIDE_PREFIX}${options.actor}`,
      });
      await db.query(
        `UPDATE "hub_sync_conflict" SET "resolved_by" = $3, "resolved_at" = now() WHERE "tenant_id" = $1 AND "id" = $2::uuid`,
        tenantId,
        id,
        options.actor,
      );
      return result;
    },

    async replayDeadLetter(id, corrected) {
      const tenantId = tenant();
      const [letter] = await db.query<Record<string, unknown>>(
        `SELECT * FROM "hub_sync_dead_letter" WHERE "tenant_id" = $1 AND "id" = $2::uuid`,
        tenantId,
        uuidArg('id', id),
      );
      if (!letter) throw notFound('SyncDeadLetter', id);
      const replaySources = options.replaySources ?? 'all';
      if (replaySources !== 'all' && !replaySources.has(String(letter['source'])))
        throw hubError(
          ErrorCode.Forbidden,
          `SyncDeadLetter ${JSON.stringify(id)} came from another source: an integration account replays its own`,
          { id },
        );
      if (letter['replayed_at'] !== null)
        throw hubError(ErrorCode.Conflict, `SyncDeadLetter ${JSON.stringify(id)} was already replayed`, { id });
      const stored: SyncEvent = {
        kind: String(letter['kind']),
        payload: await letterPayload(letter),
        source: String(letter['source']),
        line: typeof letter['line'] === 'number' ? letter['line'] : null,
      };
      // A correction fixes the payload, never who sent it: the letter's source was vouched for when it
      // arrived (a refused source is never dead-lettered), so the replay keeps it.
      const event = { ...stored, ...(corrected ?? {}), source: stored.source, idempotencyKey: String(letter['key']) };
      const [result] = await options.pipeline.apply([event]);
      if (!result) throw new Error('sync: no result for the replayed event');
      // Rejected again: the pipeline refreshed this same waiting letter; it stays waiting.
      await db.query(
        `UPDATE "hub_sync_dead_letter" SET "replay_outcome" = $3,
                "replayed_at" = CASE WHEN $3 = 'REJECTED' THEN NULL ELSE now() END
          WHERE "tenant_id" = $1 AND "id" = $2::uuid`,
        tenantId,
        id,
        result.outcome,
      );
      return result;
    },
  };
}
