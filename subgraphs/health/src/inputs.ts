/**
 * The health inputs: which rows of the other domains the formula reads, how an event's changed rows
 * are kept in `HealthInputRow` (field by field, by source time), and the typed view of one
 * customer's rows that formula.ts takes (`inputsOf`).
 *
 * The projection keeps the producer's *changed columns* (`SyncEventPayload.rows[].changed`), not the
 * raw payload: those are the values that won the producer's own conflict rule (a CRM's copy of a
 * payment status that lost to finance's never shows up), so the replica holds what the producer holds.
 */
import type { SqlTx } from '@hub/store';
import type { EventEnvelope, SyncEventPayload } from '@hub/core/events/types';
import { canonicalJson } from '@hub/core/canonicalJson';
import type { FeatureInput, HealthInputs, PaymentStatus } from './formula.js';

/** Per producing model, the fields the formula reads (key fields are kept too). */
export const INPUT_FIELDS: Readonly<Record<string, readonly string[]>> = {
  FeatureUsage: ['feature', 'periodStart', 'category', 'usageCount', 'adoptionScore'],
  AdoptionMetrics: ['periodStart', 'overallAdoptionRate', 'featureDiscoveryRate', 'maturityLevel'],
  Ticket: ['status', 'priority', 'satisfactionScore'],
  FinancialHealth: ['paymentStatus'],
  Invoice: ['status', 'dueAt'],
  CustomerJourney: ['currentStage'],
  JourneyStageEntry: ['stage', 'current', 'engagementScore'],
  CampaignPerformance: ['openRate', 'clickRate'],
};

type Values = Record<string, unknown>;

export interface InputRow {
  readonly model: string;
  readonly values: Values;
  readonly sourceAt: Date;
}

interface Stored {
  model: string;
  rowKey: string;
  customerId: string;
  values: Values;
  fieldTimes: Record<string, string>;
  sourceAt: Date | string;
}

/** What a batch's events left in the inputs (`keepInputsOf`). */
export interface KeptInputs {
  /** The customers whose input changed, each with the last event that changed it. */
  readonly changed: Map<string, string>;
  /** Every input row of each of those customers after the batch: what `loadInputs` would read back. */
  readonly rows: Map<string, InputRow[]>;
}

/**
 * Keeps what `event` changed of the input models in `HealthInputRow`, inside the consumer's `tx`: a
 * field takes the event's value only when the event's source time is not older than the time of the
 * value stored, so a late older event never overwrites newer input (an equal time replaces: a
 * redelivered event writes the same value again). Returns whether any input changed.
 */
export async function keepInputs(tx: SqlTx, event: EventEnvelope): Promise<boolean> {
  return (await keepInputsOf(tx, event.tenantId, [event])).changed.size > 0;
}

/**
 * `keepInputs` for a batch of one tenant's events, folded in their order: two statements for the
 * whole batch (one read of the stored rows, locked, with the other rows of the events' customers;
 * one upsert of the rows that changed), the same rows as event by event. Returns the customers
 * whose input changed, each with the last event that changed it, and their rows as written.
 */
export async function keepInputsOf(tx: SqlTx, tenantId: string, events: readonly EventEnvelope[]): Promise<KeptInputs> {
  const rowsOf = events.flatMap((event) => {
    const payload = event.payload as unknown as SyncEventPayload;
    if (event.customerId === null) return [];
    return (payload.rows ?? [])
      .filter((row) => INPUT_FIELDS[row.model] !== undefined)
      .map((row) => ({ event, customerId: event.customerId ?? '', row, rowKey: canonicalJson(row.key) }));
  });
  const changedCustomers = new Map<string, string>();
  if (rowsOf.length === 0) return { changed: changedCustomers, rows: new Map() };
  const customers = [...new Set(rowsOf.map((r) => r.customerId))];
  // The events' rows, locked, and (not locked: no event of the batch writes them, and the consumer
  // holds their customers' locks) every other row of the events' customers, which their recompute
  // reads: one read for both.
  const stored = await tx.query<Stored>(
    // Key-driven (one primary-key probe and row lock per key; OFFSET 0 keeps the planner from
    // flattening the subquery into a join it may order the other way, as the engine's reads do).
    `WITH keyed AS (
       SELECT i.model, i."rowKey", i."customerId", i.values, i."fieldTimes", i."sourceAt"
         FROM (SELECT DISTINCT * FROM unnest($2::text[], $3::text[])) AS k(model, row_key)
        CROSS JOIN LATERAL (SELECT * FROM "HealthInputRow" i
                             WHERE i."tenantId" = $1 AND i.model = k.model AND i."rowKey" = k.row_key
                            OFFSET 0 FOR UPDATE) i)
     SELECT * FROM keyed
     UNION ALL
     SELECT i.model, i."rowKey", i."customerId", i.values, NULL, i."sourceAt" FROM "HealthInputRow" i
      WHERE i."tenantId" = $1 AND i."customerId" = ANY($4::text[])
        AND NOT EXISTS (SELECT 1 FROM keyed WHERE keyed.model = i.model AND keyed."rowKey" = i."rowKey")`,
    [tenantId, rowsOf.map((r) => r.row.model), rowsOf.map((r) => r.rowKey), customers],
  );
  /** Every row read, by key, as the batch leaves it (the events' rows are replaced as they change). */
  const byKey = new Map(stored.map((s) => [`${s.model}\n${s.rowKey}`, s]));
  /** Rows to write, by key, with the last event that changed each (the row's `eventId`). */
  const writes = new Map<string, { row: Stored; eventId: string }>();
  for (const { event, customerId, row, rowKey } of rowsOf) {
    const at = new Date(event.occurredAt);
    const iso = at.toISOString();
    const id = `${row.model}\n${rowKey}`;
    const current = byKey.get(id);
    const next: Stored = current
      ? { ...current, values: { ...current.values }, fieldTimes: { ...current.fieldTimes } }
      : { model: row.model, rowKey, customerId, values: {}, fieldTimes: {}, sourceAt: '' };
    let changed = false;
    const incoming: Values = { ...row.key, ...row.changed };
    for (const field of [...(INPUT_FIELDS[row.model] ?? []), 'customerId']) {
      if (!(field in incoming)) continue;
      const time = next.fieldTimes[field];
      if (time !== undefined && Date.parse(time) > at.getTime()) continue;
      if (field === 'customerId') {
        // A row re-filed under another customer (a ticket moved by an admin) follows it.
        if (typeof incoming[field] === 'string' && incoming[field] !== next.customerId) {
          next.customerId = incoming[field] as string;
          changed = true;
        }
        next.fieldTimes[field] = iso;
        continue;
      }
      if (canonicalJson(next.values[field] ?? null) !== canonicalJson(incoming[field] ?? null)) changed = true;
      next.values[field] = incoming[field] ?? null;
      next.fieldTimes[field] = iso;
    }
    // A row nothing changed is not written, so the batch's later events see it as stored (its older
    // field times), as they would event by event; nor is a new row the event kept no field of.
    if (!changed && (current || Object.keys(next.fieldTimes).length === 0)) continue;
    next.sourceAt = sourceAtOf(next.fieldTimes);
    writes.set(id, { row: next, eventId: event.id });
    changedCustomers.set(customerId, event.id);
    byKey.set(id, next);
  }
  const rows = new Map([...changedCustomers.keys()].map((id) => [id, [] as InputRow[]]));
  for (const row of byKey.values())
    rows.get(row.customerId)?.push({ model: row.model, values: row.values, sourceAt: new Date(row.sourceAt) });
  if (writes.size === 0) return { changed: changedCustomers, rows };
  await tx.execute(
    `INSERT INTO "HealthInputRow" ("tenantId", model, "rowKey", "customerId", values, "fieldTimes", "sourceAt", "eventId", "updatedAt")
     SELECT $1, w.model, w.row_key, w.customer_id, w.vals, w.times, w.source_at, w.event_id, now()
       FROM jsonb_to_recordset($2::jsonb)
         AS w(model text, row_key text, customer_id text, vals jsonb, times jsonb, source_at timestamptz, event_id text)
     ON CONFLICT ("tenantId", model, "rowKey") DO UPDATE SET
       "customerId" = EXCLUDED."customerId", values = EXCLUDED.values, "fieldTimes" = EXCLUDED."fieldTimes",
       "sourceAt" = EXCLUDED."sourceAt", "eventId" = EXCLUDED."eventId", "updatedAt" = now()`,
    [
      tenantId,
      JSON.stringify(
        [...writes.values()].map(({ row: w, eventId }) => ({
          model: w.model,
          row_key: w.rowKey,
          customer_id: w.customerId,
          vals: w.values,
          times: w.fieldTimes,
          source_at: w.sourceAt,
          event_id: eventId,
        })),
      ),
    ],
  );
  return { changed: changedCustomers, rows };
}

/** A row's `sourceAt`: the latest of its field times (ISO 8601, as `keepInputsOf` writes them). */
function sourceAtOf(fieldTimes: Readonly<Record<string, string>>): string {
  let latest = -Infinity;
  for (const field in fieldTimes) latest = Math.max(latest, Date.parse(fieldTimes[field] ?? ''));
  return new Date(latest).toISOString();
}

const num = (value: unknown): number | null => (typeof value === 'number' && Number.isFinite(value) ? value : null);
const text = (value: unknown): string | null => (typeof value === 'string' ? value : null);
const latest = (rows: readonly InputRow[]): Date => new Date(Math.max(...rows.map((row) => row.sourceAt.getTime())));
const mean = (xs: readonly number[]): number | null =>
  xs.length === 0 ? null : xs.reduce((a, b) => a + b, 0) / xs.length;

/**
 * One customer's rows as the formula's inputs at `now`. Usage is the latest period's (the adoption
 * record's period, else the latest period any feature reported); support counts tickets not solved
 * or closed (URGENT ones are escalations) and the ratings of solved ones; finance is the payment
 * standing plus invoices OVERDUE or OPEN past due; marketing the journey's stage, the current stay's
 * engagement and the mean campaign open and click rates. A domain with no row is null.
 */
export function inputsOf(
  customerId: string,
  rows: readonly InputRow[],
  scoreMonthBefore: number | null,
  now: Date,
): HealthInputs {
  const of = (...models: string[]) => rows.filter((row) => models.includes(row.model));
  const adoption = of('AdoptionMetrics').sort((a, b) =>
    String(b.values['periodStart']).localeCompare(String(a.values['periodStart'])),
  )[0];
  const featureRows = of('FeatureUsage');
  const period =
    text(adoption?.values['periodStart']) ??
    featureRows
      .map((f) => String(f.values['periodStart']))
      .sort()
      .at(-1) ??
    null;
  const current = featureRows.filter((f) => String(f.values['periodStart']) === period);
  const features: FeatureInput[] = current.map((f) => ({
    feature: String(f.values['feature']),
    category: f.values['category'] === 'ADVANCED' ? 'ADVANCED' : 'CORE',
    usageCount: num(f.values['usageCount']) ?? 0,
    adoptionScore: num(f.values['adoptionScore']) ?? 0,
  }));
  const usageRows = [...(adoption ? [adoption] : []), ...current];

  const tickets = of('Ticket');
  const open = tickets.filter((t) => t.values['status'] === 'OPEN' || t.values['status'] === 'PENDING');
  const ratings = tickets.flatMap((t) => {
    const rating = num(t.values['satisfactionScore']);
    return rating !== null && (t.values['status'] === 'SOLVED' || t.values['status'] === 'CLOSED') ? [rating] : [];
  });

  const financial = of('FinancialHealth')[0];
  const invoices = of('Invoice');
  const financeRows = of('FinancialHealth', 'Invoice');
  const pastDue = (i: InputRow) => {
    const due = text(i.values['dueAt']);
    return i.values['status'] === 'OPEN' && due !== null && Date.parse(due) < now.getTime();
  };

  const journey = of('CustomerJourney')[0];
  const stay = of('JourneyStageEntry')
    .filter((s) => s.values['current'] === true)
    .sort((a, b) => b.sourceAt.getTime() - a.sourceAt.getTime())[0];
  const campaigns = of('CampaignPerformance');
  const marketingRows = of('CustomerJourney', 'JourneyStageEntry', 'CampaignPerformance');

  return {
    customerId,
    usage:
      usageRows.length === 0
        ? null
        : {
            adoptionRate: num(adoption?.values['overallAdoptionRate']),
            discoveryRate: num(adoption?.values['featureDiscoveryRate']),
            features,
            at: latest(usageRows),
          },
    support:
      tickets.length === 0
        ? null
        : {
            openTickets: open.length,
            escalations: open.filter((t) => t.values['priority'] === 'URGENT').length,
            ratings,
            at: latest(tickets),
          },
    finance:
      financeRows.length === 0
        ? null
        : {
            paymentStatus: (text(financial?.values['paymentStatus']) as PaymentStatus | null) ?? null,
            overdueInvoices: invoices.filter((i) => i.values['status'] === 'OVERDUE').length,
            lateInvoices: invoices.filter(pastDue).length,
            at: latest(financeRows),
          },
    marketing:
      marketingRows.length === 0
        ? null
        : {
            journeyStage: text(journey?.values['currentStage']) ?? text(stay?.values['stage']),
            engagement: num(stay?.values['engagementScore']),
            openRate: mean(campaigns.flatMap((c) => num(c.values['openRate']) ?? [])),
            clickRate: mean(campaigns.flatMap((c) => num(c.values['clickRate']) ?? [])),
            at: latest(marketingRows),
          },
    scoreMonthBefore,
  };
}

/**
 * Seeds `count` customers' inputs (`<prefix>000001`…) of `tenantId` in one statement, nine rows each
 * (an adoption record, three features, two tickets, payment standing, a journey, a campaign's
 * figures), figures varied by customer number, all at source time `at`. For the recompute job's
 * tests and its benchmark (scripts/bench-health-recompute.ts), which need many customers fast.
 */
export async function seedInputRows(
  sql: Pick<SqlTx, 'query'>,
  tenantId: string,
  count: number,
  at: Date,
  prefix = 'cust_b',
): Promise<number> {
  const [row] = await sql.query<{ n: number }>(
    `WITH seeded AS (INSERT INTO "HealthInputRow" ("tenantId", model, "rowKey", "customerId", values, "fieldTimes", "sourceAt", "eventId", "updatedAt")
     SELECT $1, r.model, r.row_key, c.id, r.vals, '{}'::jsonb, $3::timestamptz, 'seed', now()
       FROM (SELECT i, $4 || lpad(i::text, 6, '0') AS id FROM generate_series(1, $2::int) AS i) c
       CROSS JOIN LATERAL (VALUES
         ('AdoptionMetrics', json_build_object('customerId', c.id, 'periodStart', '2025-11-01')::text,
          jsonb_build_object('periodStart', '2025-11-01', 'overallAdoptionRate', (c.i % 100) / 100.0,
                             'featureDiscoveryRate', (c.i * 7 % 100) / 100.0, 'maturityLevel', 'INTERMEDIATE')),
         ('FeatureUsage', json_build_object('customerId', c.id, 'periodStart', '2025-11-01', 'feature', 'f1')::text,
          jsonb_build_object('feature', 'f1', 'periodStart', '2025-11-01', 'category', 'CORE', 'usageCount', c.i % 50, 'adoptionScore', (c.i * 3 % 100) / 100.0)),
         ('FeatureUsage', json_build_object('customerId', c.id, 'periodStart', '2025-11-01', 'feature', 'f2')::text,
          jsonb_build_object('feature', 'f2', 'periodStart', '2025-11-01', 'category', 'CORE', 'usageCount', c.i % 7, 'adoptionScore', (c.i * 11 % 100) / 100.0)),
         ('FeatureUsage', json_build_object('customerId', c.id, 'periodStart', '2025-11-01', 'feature', 'f3')::text,
          jsonb_build_object('feature', 'f3', 'periodStart', '2025-11-01', 'category', 'ADVANCED', 'usageCount', c.i % 3, 'adoptionScore', (c.i * 13 % 100) / 100.0)),
         ('Ticket', json_build_object('id', c.id || '_t1')::text,
          jsonb_build_object('status', 'OPEN', 'priority', CASE WHEN c.i % 4 = 0 THEN 'URGENT' ELSE 'NORMAL' END, 'satisfactionScore', NULL)),
         ('Ticket', json_build_object('id', c.id || '_t2')::text,
          jsonb_build_object('status', 'SOLVED', 'priority', 'NORMAL', 'satisfactionScore', 1 + c.i % 5)),
         ('FinancialHealth', json_build_object('customerId', c.id)::text,
          jsonb_build_object('paymentStatus', CASE WHEN c.i % 10 = 0 THEN 'OVERDUE' ELSE 'CURRENT' END)),
         ('CustomerJourney', json_build_object('customerId', c.id)::text, jsonb_build_object('currentStage', 'ADOPTION')),
         ('CampaignPerformance', json_build_object('campaignId', 'camp_1', 'customerId', c.id)::text,
          jsonb_build_object('openRate', (c.i % 60) / 100.0, 'clickRate', (c.i % 30) / 100.0))
       ) AS r(model, row_key, vals)
     ON CONFLICT DO NOTHING RETURNING 1)
     SELECT count(*)::int AS n FROM seeded`,
    [tenantId, count, at.toISOString(), prefix],
  );
  return row?.n ?? 0;
}
