/**
 * The health domain's sync declaration: the brief's `customer_health_sync` payload and the
 * `recordHealthScore` mutation, both written through the one engine of packages/core/src/sync.
 *
 * Owners: `paymentStatus` belongs to finance (its invoices decide it), so a value whose source is
 * `finance` wins over any other source's whatever the times; every other field follows the default
 * rule (latest source time wins). Snapshots carry the same owner so history and current agree.
 *
 * The overall score of a `customer_health_sync` is the hub's, computed from the metrics the payload
 * carries (`healthScoreOf`); payment status stays out of it, because finance may keep its own value
 * over the sender's, and a score mixing in a value that lost would not match the stored row.
 *
 * `dataQualityScore` in the payload is the sender's claim about its inputs. It is validated (0..1)
 * and stored as the claim (`CustomerHealth.dataQualityScore`, 1 when absent), and never used as the
 * hub's quality score, which the engine computes from the rules below and keeps with the record.
 */
import { badUserInput } from '@hub/core/errors';
import { defineSync, type QualityCheck, type RowChange, type SqlExecutor, type SyncKind } from '@hub/core/sync/types';
import { instant } from '@hub/core/sync/payload';
import { healthScoreOf } from '@hub/core/events/health';
import { enumMember } from '@hub/core/validate';
import type { CustomerHealthSyncInput, RecordHealthScoreInput } from './generated/resolvers-types.js';
import { clearOverrideKind, overrideHealthKind } from './override.js';
import * as check from './validation.js';

const PAYMENT_STATUSES = ['CURRENT', 'LATE', 'OVERDUE', 'DELINQUENT'] as const;
/** A reported 30-day change may differ from the history by this many points (rounding, late snapshots). */
const TREND_TOLERANCE = 5;
/** A swing larger than this in a month is possible but implausible enough to lower validity. */
const PLAUSIBLE_MONTHLY_SWING = 50;

type Instant = Date | string;

/**
 * What recordHealthScore hands the engine: its input, `sourceSystem` as the event's source and
 * `sourceUpdatedAt` the source time (the sync time, else the arrival time, when the caller gives none).
 * The engine writes the `sourceSystem` and `sourceUpdatedAt` columns from them.
 */
export type RecordHealthScorePayload = Omit<
  RecordHealthScoreInput,
  'idempotencyKey' | 'syncTimestamp' | 'sourceUpdatedAt'
> & {
  syncTimestamp?: Instant | null;
  sourceUpdatedAt: Instant;
};

/**
 * Snapshot ids start with the recording instant (UTC, digits only), so ordering by id is ordering
 * by time and the keyset cursor of `healthHistory` follows the timeline; the customer id ends it, so
 * a score re-sent for the same customer and instant lands on the same snapshot.
 */
export function snapshotId(recordedAt: Date, customerId: string): string {
  return `hsn_${recordedAt.toISOString().replace(/\D/g, '')}_${customerId}`;
}

// The overall-score rule lives with the health event's reading (core), which marketing and sales share.
export { healthScoreOf };

/** The brief writes the 30-day change as signed text (`"+5"`); an integer -100..100. */
function thirtyDayChange(field: string, value: string | null | undefined): number | undefined {
  if (value === null || value === undefined) return undefined;
  const text = value.trim();
  if (!/^[+-]?\d{1,3}$/.test(text)) throw badUserInput(field, 'must be signed whole points like "+5" or "-12"');
  return check.intInRange(field, Number(text), -100, 100);
}

function metric(field: string, value: number | null | undefined): number {
  if (value === null || value === undefined) throw badUserInput(field, 'is required');
  return check.intInRange(field, value, 0, 100);
}

interface HealthRow {
  customerId: string;
  score: number;
  usageScore: number;
  engagementScore: number;
  supportSatisfaction: number;
  paymentStatus: (typeof PAYMENT_STATUSES)[number];
  syncTimestamp: Date;
}

/** The current score (merged field by field) and one history point. */
function healthRows(current: HealthRow & Record<string, unknown>): RowChange[] {
  const { customerId, syncTimestamp } = current;
  const { score, usageScore, engagementScore, supportSatisfaction, paymentStatus } = current;
  const { customerId: _key, ...fields } = current;
  return [
    { model: 'HealthScore', key: { customerId }, fields },
    {
      model: 'HealthSnapshot',
      key: { id: snapshotId(syncTimestamp, customerId) },
      fields: {
        customerId,
        score,
        usageScore,
        engagementScore,
        supportSatisfaction,
        paymentStatus,
        recordedAt: syncTimestamp,
      },
    },
  ];
}

/**
 * The customer's score of the latest snapshot 30 to 45 days before `at` (SQL expressions), as a
 * LATERAL subquery yielding `score` or no row: the trend check's and the formula's 30-day history
 * (recompute.ts), one rule. One backward index probe per customer and time, however many
 * snapshots the window holds (every recompute writes one).
 */
export function scoreMonthBeforeSql(tenant: string, customerId: string, at: string): string {
  return `LATERAL (SELECT s.score FROM "HealthSnapshot" s
                   WHERE s."tenantId" = ${tenant} AND s."customerId" = ${customerId}
                     AND s."recordedAt" <= ${at} - interval '30 days' AND s."recordedAt" > ${at} - interval '45 days'
                   ORDER BY s."recordedAt" DESC LIMIT 1)`;
}

/** Facts for the trend check, one statement per batch: per event, its customer's score a month before its sync time. */
async function scoresMonthBefore(
  db: SqlExecutor,
  tenantId: string,
  events: readonly { customerId: string; at: Date }[],
): Promise<Map<string, number>> {
  if (events.length === 0) return new Map();
  const rows = await db.query<{ customerId: string; at: Date | string; score: number }>(
    `SELECT k.customer_id AS "customerId", k.at, m.score
       FROM unnest($2::text[], $3::timestamptz[]) AS k(customer_id, at)
      CROSS JOIN ${scoreMonthBeforeSql('$1', 'k.customer_id', 'k.at')} m`,
    tenantId,
    events.map((event) => event.customerId),
    events.map((event) => event.at.toISOString()),
  );
  return new Map(rows.map((row) => [factKey(row.customerId, new Date(row.at)), Number(row.score)]));
}

/**
 * The month-before scores a writer has already read in its transaction, by the payload it built
 * from them (recompute.ts reads them with the inputs, by the same rule for the same customer and
 * sync time): the trend check takes them instead of looking the same snapshots up a second time.
 * Null: no snapshot in the window.
 */
const knownMonthBefore = new WeakMap<object, number | null>();

/** Marks `payload` (a customer_health_sync about to be applied) with its customer's score 30–45 days before its sync time, as read. */
export function withScoreMonthBefore<P extends object>(payload: P, score: number | null): P {
  knownMonthBefore.set(payload, score);
  return payload;
}

/** The trend check's facts: the scores already known (`withScoreMonthBefore`), one statement for the rest. */
async function monthBeforeFacts(
  db: SqlExecutor,
  tenantId: string,
  payloads: readonly CustomerHealthSyncInput[],
): Promise<Map<string, number>> {
  const facts = new Map<string, number>();
  const unknown: { customerId: string; at: Date }[] = [];
  for (const payload of payloads) {
    const at = syncTimeOrNull(payload.syncTimestamp);
    if (!at) continue;
    const known = knownMonthBefore.get(payload);
    if (known === undefined) unknown.push({ customerId: payload.customerId, at });
    else if (known !== null) facts.set(factKey(payload.customerId, at), known);
  }
  for (const [key, score] of await scoresMonthBefore(db, tenantId, unknown)) facts.set(key, score);
  return facts;
}

function factKey(customerId: string, at: Date): string {
  return `${customerId}@${at.toISOString()}`;
}

/** Safe versions of map's parsing for the quality rules, which see payloads map accepted. */
function syncTimeOrNull(value: Instant | null | undefined): Date | null {
  if (value === null || value === undefined) return null;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

export const customerHealthSync: SyncKind<CustomerHealthSyncInput> = {
  name: 'customer_health_sync',
  sourceTime: (payload) => instant('syncTimestamp', payload.syncTimestamp),
  map(payload) {
    const metrics = payload.healthMetrics;
    if (!metrics) throw badUserInput('healthMetrics', 'is required');
    const usageScore = metric('healthMetrics.usageScore', metrics.usageScore);
    const engagementScore = metric('healthMetrics.engagementScore', metrics.engagementScore);
    const supportSatisfaction = metric('healthMetrics.supportSatisfaction', metrics.supportSatisfaction);
    if (metrics.paymentStatus === null || metrics.paymentStatus === undefined)
      throw badUserInput('healthMetrics.paymentStatus', 'is required');
    const trend = payload.trendAnalysis;
    const impacts = payload.domainImpacts;
    const syncTimestamp = instant('syncTimestamp', payload.syncTimestamp);
    const fields = {
      customerId: check.customerId('customerId', payload.customerId),
      score: healthScoreOf(usageScore, engagementScore, supportSatisfaction),
      usageScore,
      engagementScore,
      supportSatisfaction,
      paymentStatus: enumMember('healthMetrics.paymentStatus', metrics.paymentStatus, PAYMENT_STATUSES),
      trend30DayChange: thirtyDayChange('trendAnalysis._30DayChange', trend?._30DayChange) ?? 0,
      riskIndicators: check.tags('trendAnalysis.riskIndicators', trend?.riskIndicators) ?? [],
      improvementAreas: check.tags('trendAnalysis.improvementAreas', trend?.improvementAreas) ?? [],
      marketingCampaignTriggers:
        check.tags('domainImpacts.marketing.campaignTriggers', impacts?.marketing?.campaignTriggers) ?? [],
      marketingSegment: check.optionalText('domainImpacts.marketing.segment', impacts?.marketing?.segment, 100) ?? null,
      salesExpansionOpportunities:
        check.tags('domainImpacts.sales.expansionOpportunities', impacts?.sales?.expansionOpportunities) ?? [],
      salesRenewalConfidence:
        check.fraction('domainImpacts.sales.renewalConfidence', impacts?.sales?.renewalConfidence) ?? null,
      productFeatureAdoptionFocus:
        check.tags('domainImpacts.product.featureAdoptionFocus', impacts?.product?.featureAdoptionFocus) ?? [],
      productBetaInterests: check.tags('domainImpacts.product.betaInterests', impacts?.product?.betaInterests) ?? [],
      syncTimestamp,
      dataQualityScore: check.fraction('dataQualityScore', payload.dataQualityScore) ?? 1,
    };
    return healthRows(fields);
  },
  quality: {
    required: [
      'customerId',
      'healthMetrics.usageScore',
      'healthMetrics.engagementScore',
      'healthMetrics.supportSatisfaction',
      'healthMetrics.paymentStatus',
      'syncTimestamp',
    ],
    optional: [
      'trendAnalysis._30DayChange',
      'trendAnalysis.riskIndicators',
      'trendAnalysis.improvementAreas',
      'domainImpacts.marketing.campaignTriggers',
      'domainImpacts.marketing.segment',
      'domainImpacts.sales.expansionOpportunities',
      'domainImpacts.sales.renewalConfidence',
      'domainImpacts.product.featureAdoptionFocus',
      'domainImpacts.product.betaInterests',
      'dataQualityScore',
    ],
    validity(payload) {
      const checks: QualityCheck[] = [];
      const change = Number(payload.trendAnalysis?._30DayChange);
      if (Number.isFinite(change)) {
        checks.push({ field: 'trendAnalysis._30DayChange', ok: Math.abs(change) <= PLAUSIBLE_MONTHLY_SWING });
      }
      const m = payload.healthMetrics;
      const confidence = payload.domainImpacts?.sales?.renewalConfidence;
      if (m && typeof confidence === 'number') {
        // A renewal all but certain for a failing customer (or hopeless for a thriving one) contradicts the metrics.
        const score = healthScoreOf(m.usageScore ?? 0, m.engagementScore ?? 0, m.supportSatisfaction ?? 0);
        const ok = !(score < 40 && confidence > 0.9) && !(score > 80 && confidence < 0.2);
        checks.push({ field: 'domainImpacts.sales.renewalConfidence', ok });
      }
      return checks;
    },
    loadFacts: monthBeforeFacts,
    consistency(payload, facts) {
      // The reported 30-day change should match the customer's own history in this store.
      const at = syncTimeOrNull(payload.syncTimestamp);
      const change = Number(payload.trendAnalysis?._30DayChange);
      const m = payload.healthMetrics;
      const before = at ? (facts as Map<string, number>).get(factKey(payload.customerId, at)) : undefined;
      if (before === undefined || !Number.isFinite(change) || !m) return [];
      const now = healthScoreOf(m.usageScore ?? 0, m.engagementScore ?? 0, m.supportSatisfaction ?? 0);
      return [{ field: 'trendAnalysis._30DayChange', ok: Math.abs(now - before - change) <= TREND_TOLERANCE }];
    },
  },
};

/** recordHealthScore: the caller's own score and metrics, same rows as a sync. */
export const recordHealthScore: SyncKind<RecordHealthScorePayload> = {
  name: 'record_health_score',
  mutationOnly: true,
  sourceTime(payload) {
    // The resolver falls back to syncTimestamp for the source time: a bad one is named as itself.
    if (payload.syncTimestamp) instant('input.syncTimestamp', payload.syncTimestamp);
    return instant('input.sourceUpdatedAt', payload.sourceUpdatedAt);
  },
  sourceTimeField: 'input.sourceUpdatedAt',
  map(payload) {
    const score = (field: string, value: number) => check.intInRange(`input.${field}`, value, 0, 100);
    const syncTimestamp = payload.syncTimestamp
      ? instant('input.syncTimestamp', payload.syncTimestamp)
      : instant('input.sourceUpdatedAt', payload.sourceUpdatedAt);
    check.optionalText('input.sourceSystem', payload.sourceSystem, 100);
    return healthRows({
      customerId: check.customerId('input.customerId', payload.customerId),
      score: score('score', payload.score),
      usageScore: score('usageScore', payload.usageScore),
      engagementScore: score('engagementScore', payload.engagementScore),
      supportSatisfaction: score('supportSatisfaction', payload.supportSatisfaction),
      paymentStatus: payload.paymentStatus,
      trend30DayChange: check.optionalIntInRange('input.thirtyDayChange', payload.thirtyDayChange, -100, 100) ?? 0,
      riskIndicators: check.tags('input.riskIndicators', payload.riskIndicators) ?? [],
      improvementAreas: check.tags('input.improvementAreas', payload.improvementAreas) ?? [],
      marketingCampaignTriggers: check.tags('input.campaignTriggers', payload.campaignTriggers) ?? [],
      marketingSegment: check.optionalText('input.segment', payload.segment, 100) ?? null,
      salesExpansionOpportunities: check.tags('input.expansionOpportunities', payload.expansionOpportunities) ?? [],
      salesRenewalConfidence: check.fraction('input.renewalConfidence', payload.renewalConfidence) ?? null,
      productFeatureAdoptionFocus: check.tags('input.featureAdoptionFocus', payload.featureAdoptionFocus) ?? [],
      productBetaInterests: check.tags('input.betaInterests', payload.betaInterests) ?? [],
      dataQualityScore: check.fraction('input.dataQualityScore', payload.dataQualityScore) ?? 1,
      syncTimestamp,
    });
  },
  quality: {
    required: ['customerId', 'score', 'usageScore', 'engagementScore', 'supportSatisfaction', 'paymentStatus'],
    optional: [
      'thirtyDayChange',
      'riskIndicators',
      'improvementAreas',
      'campaignTriggers',
      'segment',
      'expansionOpportunities',
      'renewalConfidence',
      'featureAdoptionFocus',
      'betaInterests',
      'syncTimestamp',
    ],
  },
};

/**
 * Health is computed (issue 8): `health-engine` (consumers.ts, jobs.ts) is the system of record of
 * every computed field, so another source's value — an external CS platform's customer_health_sync,
 * an admin's recordHealthScore — applies only where the engine has not computed yet, and never
 * replaces the engine's. The one way to set health by hand is an admin override (HealthOverride,
 * `overrideHealth`), shown as such. Payment status stays finance's alone: the engine relays the
 * finance domain's value, and a value sent by finance itself still wins over it whatever the time.
 */
const COMPUTED_OWNERS: Readonly<Record<string, readonly string[]>> = {
  ...Object.fromEntries(
    [
      'score',
      'usageScore',
      'engagementScore',
      'supportSatisfaction',
      'trend30DayChange',
      'riskIndicators',
      'improvementAreas',
      'marketingCampaignTriggers',
      'marketingSegment',
      'salesExpansionOpportunities',
      'salesRenewalConfidence',
      'productFeatureAdoptionFocus',
      'productBetaInterests',
      'syncTimestamp',
      'dataQualityScore',
    ].map((field) => [field, ['health-engine']]),
  ),
  paymentStatus: ['finance'],
};

export const sync = defineSync({
  domain: 'health',
  kinds: [customerHealthSync, recordHealthScore, overrideHealthKind, clearOverrideKind] as SyncKind<never>[],
  models: {
    HealthScore: { key: ['customerId'], owners: COMPUTED_OWNERS },
    HealthSnapshot: { key: ['id'], owners: { paymentStatus: ['finance'] } },
    HealthOverride: { key: ['customerId'] },
  },
});

/** Which column of each health model names its customer (row scope; the subgraph and the engine's writers). */
export const customerKeys = { HealthScore: 'customerId', HealthSnapshot: 'customerId', HealthOverride: 'customerId' };
