/**
 * Recomputing health: read the inputs of a list of customers in one pass, run the formula, and write
 * each customer's `customer_health_sync` through the health domain's own sync pipeline as source
 * `health-engine` (idempotency, conflict rule, history snapshot, quality and the outbox event that
 * marketing and sales consume). Used by the consumers (one customer per event) and by the daily
 * `health-recompute` job (chunks of customers): the same code, set-based either way — one read per
 * call whatever the number of customers, then the pipeline's batches of up to 1,000 events.
 */
import { attachStoreSql, type SqlTx, type StoreSql } from '@hub/store';
import type { AuditActor } from '@hub/core/audit';
import { createSyncPipeline } from '@hub/core/sync/engine';
import type { SyncEvent, SyncResult } from '@hub/core/sync/types';
import type { CustomerHealthSyncInput } from './generated/resolvers-types.js';
import { computeHealth, type ComputedHealth } from './formula.js';
import { inputsOf, type InputRow } from './inputs.js';
import { customerKeys, scoreMonthBeforeSql, sync, withScoreMonthBefore } from './sync.js';

/** The source every computed health carries; it owns the computed fields (sync.ts). */
export const HEALTH_ENGINE = 'health-engine';

/** What recomputing needs: statements (a transaction or the store) and the health pipeline's `apply`. */
export interface RecomputeTarget {
  readonly sql: Pick<SqlTx, 'query'>;
  readonly sync: { apply(events: readonly SyncEvent[]): Promise<SyncResult[]> };
}

/** The brief's `30_day_change`: signed points as text. */
export function signedPoints(points: number): string {
  return points > 0 ? `+${points}` : String(points);
}

/** The computed health as the brief's `customer_health_sync` payload, camelCased (the GraphQL input shape). */
export function healthPayload(customerId: string, health: ComputedHealth, at: Date): CustomerHealthSyncInput {
  return {
    customerId,
    healthMetrics: {
      usageScore: health.usageScore,
      engagementScore: health.engagementScore,
      supportSatisfaction: health.supportSatisfaction,
      paymentStatus: health.paymentStatus.toLowerCase(),
    },
    trendAnalysis: {
      _30DayChange: signedPoints(health.thirtyDayChange),
      riskIndicators: health.riskIndicators,
      improvementAreas: health.improvementAreas,
    },
    domainImpacts: {
      marketing: { campaignTriggers: health.marketing.campaignTriggers, segment: health.marketing.segment },
      sales: {
        expansionOpportunities: health.sales.expansionOpportunities,
        renewalConfidence: health.sales.renewalConfidence,
      },
      product: {
        featureAdoptionFocus: health.product.featureAdoptionFocus,
        betaInterests: health.product.betaInterests,
      },
    },
    syncTimestamp: at,
    dataQualityScore: health.dataQualityScore,
  };
}

/**
 * The inputs of `customerIds` at `now`: their input rows and each one's score 30–45 days before `now`
 * (the latest snapshot in that window, the same window the health sync's trend check uses), and
 * the time to compute each at: `now`, or just after the health already stored when that is not older.
 * `rows`: the customers' input rows as the caller holds them in this transaction (the consumers,
 * which have just read and written them: `keepInputsOf`), not read again.
 */
export async function loadInputs(
  sql: Pick<SqlTx, 'query'>,
  tenantId: string,
  customerIds: readonly string[],
  now: Date,
  rows?: ReadonlyMap<string, readonly InputRow[]>,
): Promise<Map<string, { rows: InputRow[]; before: number | null; at: Date }>> {
  const byCustomer = new Map(
    customerIds.map((id) => [id, { rows: [...(rows?.get(id) ?? [])], before: null as number | null, at: now }]),
  );
  if (customerIds.length === 0) return byCustomer;
  // One statement, three parts: the input rows (unless given), the score a month before
  // (`scoreMonthBeforeSql`) and the health stored at `now` or later. A recompute must be later than
  // the health stored (the conflict rule keeps the stored value on a tie of source times): two
  // recomputes in one millisecond, or a clock behind another process's.
  const found = await sql.query<{
    part: number;
    customerId: string;
    model: string | null;
    values: Record<string, unknown> | null;
    at: Date | null;
    score: number | null;
  }>(
    `SELECT 0 AS part, "customerId", model, values, "sourceAt" AS at, NULL::int AS score FROM "HealthInputRow"
      WHERE "tenantId" = $1 AND "customerId" = ANY($2::text[]) AND NOT $4::boolean
     UNION ALL
     SELECT 1, c.id, NULL, NULL, NULL, m.score
       FROM unnest($2::text[]) AS c(id) CROSS JOIN ${scoreMonthBeforeSql('$1', 'c.id', '$3::timestamptz')} m
     UNION ALL
     SELECT 2, "customerId", NULL, NULL, "syncTimestamp", NULL FROM "HealthScore"
      WHERE "tenantId" = $1 AND "customerId" = ANY($2::text[]) AND "syncTimestamp" >= $3::timestamptz`,
    [tenantId, customerIds, now.toISOString(), rows !== undefined],
  );
  for (const row of found) {
    const entry = byCustomer.get(row.customerId);
    if (!entry) continue;
    if (row.part === 0)
      entry.rows.push({ model: row.model ?? '', values: row.values ?? {}, sourceAt: new Date(row.at ?? 0) });
    else if (row.part === 1) entry.before = Number(row.score);
    else entry.at = new Date(new Date(row.at ?? 0).getTime() + 1);
  }
  return byCustomer;
}

/**
 * Recomputes `customerIds` of `tenantId` at `now` and writes their health; `keyOf(customerId)` is the
 * idempotency key (derived from the triggering event id, or from run id + customer), so a redelivered
 * event or a resumed job chunk answers DUPLICATE and writes nothing twice.
 */
export async function recomputeHealth(
  target: RecomputeTarget,
  tenantId: string,
  customerIds: readonly string[],
  keyOf: (customerId: string) => string,
  now: Date,
  rows?: ReadonlyMap<string, readonly InputRow[]>,
): Promise<SyncResult[]> {
  const inputs = await loadInputs(target.sql, tenantId, customerIds, now, rows);
  const events: SyncEvent[] = [...inputs].map(([customerId, { rows, before, at }]) => {
    const payload = healthPayload(customerId, computeHealth(inputsOf(customerId, rows, before, at), at), at);
    // At `now`, the trend check's window is the one `before` was read in: it takes it as read.
    return {
      kind: 'customer_health_sync',
      source: HEALTH_ENGINE,
      idempotencyKey: keyOf(customerId),
      payload: at.getTime() === now.getTime() ? withScoreMonthBefore(payload, before) : payload,
    };
  });
  return target.sync.apply(events);
}

/**
 * The health pipeline for in-process writers that hold only the store's driver (the job runner's
 * `JobContext.store`, the benchmark): tenant-wide, writing as `health-engine`. With `transaction`
 * it runs inside that open transaction (the consumers' ctx.sync is the runtime's equivalent).
 * Customer ids are not checked: they come from the producers' committed events.
 */
export function healthPipeline(store: StoreSql, tenantId: string, actor: AuditActor, transaction?: SqlTx) {
  const client = {};
  attachStoreSql(client, store);
  return createSyncPipeline({
    definition: sync,
    client,
    scope: { tenantId, customerIds: null },
    customerKeys,
    defaultSource: HEALTH_ENGINE,
    claimableSources: new Set([HEALTH_ENGINE]),
    actor,
    transaction,
  });
}
