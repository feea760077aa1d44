/**
 * The product domain's sync declaration (issue 7): the brief's "Product Usage Analytics Sync"
 * payload, and the kinds of the two record mutations, which go through the same engine.
 *
 * GraphQL has no map type, so the brief's `feature_usage.core_features` object (feature name ->
 * figures) is a list in `UsageAnalyticsSyncInput` (`[{ feature, usageCount, ... }]`); the gateway
 * turns the NDJSON object form into that list (each entry's key becomes its first field,
 * `feature`). `map` accepts both forms, so a dead letter stored either way replays.
 */
import { badUserInput } from '@hub/core/errors';
import { defineSync, type QualityCheck, type RowChange, type SqlExecutor } from '@hub/core/sync/types';
import {
  customerId as customerIdOf,
  nonNegativeInt,
  notBefore,
  optionalText,
  requiredText,
  toDay,
  unitInterval,
} from '@hub/core/validate';
import { instant } from '@hub/core/sync/payload';
import type { MaturityLevel } from '@hub/store/product';
import { usageRollupKind } from './sync/rollup.js';

const MATURITY: readonly MaturityLevel[] = ['BEGINNER', 'INTERMEDIATE', 'ADVANCED', 'EXPERT'];
const PERIOD_RE = /^(\d{4}-\d{2}-\d{2})_to_(\d{4}-\d{2}-\d{2})$/;
const DAYS_RE = /^(\d{1,4})_days?$/;
const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;

interface FeatureFigures {
  feature?: string;
  usageCount: number;
  adoptionScore: number;
  successCorrelation: number;
}

type FeatureTier = readonly FeatureFigures[] | Readonly<Record<string, Omit<FeatureFigures, 'feature'>>>;

export interface UsageAnalyticsPayload {
  customerId: string;
  usagePeriod: string;
  featureUsage: { coreFeatures?: FeatureTier | null; advancedFeatures?: FeatureTier | null };
  adoptionMetrics: {
    overallAdoptionRate: number;
    featureDiscoveryRate: number;
    activationTime: string;
    maturityLevel: string;
  };
  successCorrelation: { highUsageHealth: number; featureCompleteness: number; roiAchievement: number };
  syncTimestamp: Date | string;
}

/** `2025-11-01_to_2025-11-30` as the stored period bounds. */
function usagePeriod(value: string): { periodStart: Date; periodEnd: Date } {
  const match = PERIOD_RE.exec(value ?? '');
  if (!match?.[1] || !match[2]) throw badUserInput('usagePeriod', 'must look like 2025-11-01_to_2025-11-30');
  const periodStart = toDay(match[1]);
  const periodEnd = toDay(match[2]);
  if (Number.isNaN(periodStart.getTime()) || Number.isNaN(periodEnd.getTime()))
    throw badUserInput('usagePeriod', 'must name two real dates');
  notBefore('usagePeriod', periodEnd, periodStart, 'its start');
  return { periodStart, periodEnd };
}

function maturity(field: string, value: string): MaturityLevel {
  const level = String(value ?? '').toUpperCase() as MaturityLevel;
  if (!MATURITY.includes(level)) throw badUserInput(field, `must be one of ${MATURITY.join(', ').toLowerCase()}`);
  return level;
}

function features(tier: FeatureTier | null | undefined, path: string): FeatureFigures[] {
  if (tier === null || tier === undefined) return [];
  const list = Array.isArray(tier)
    ? (tier as readonly FeatureFigures[])
    : Object.entries(tier as Record<string, FeatureFigures>).map(([feature, figures]) => ({ ...figures, feature }));
  const seen = new Set<string>();
  return list.map((entry, i) => {
    const at = Array.isArray(tier) ? `${path}.${i}` : `${path}.${entry.feature}`;
    const feature = requiredText(`${at}.feature`, entry.feature, 100);
    if (seen.has(feature)) throw badUserInput(`${at}.feature`, 'is listed twice');
    seen.add(feature);
    return {
      feature,
      usageCount: nonNegativeInt(`${at}.usageCount`, entry.usageCount),
      adoptionScore: unitInterval(`${at}.adoptionScore`, entry.adoptionScore),
      successCorrelation: unitInterval(`${at}.successCorrelation`, entry.successCorrelation),
    };
  });
}

function allFeatures(p: UsageAnalyticsPayload) {
  return [
    ...features(p.featureUsage?.coreFeatures, 'featureUsage.coreFeatures').map((f) => ({ ...f, category: 'CORE' })),
    ...features(p.featureUsage?.advancedFeatures, 'featureUsage.advancedFeatures').map((f) => ({
      ...f,
      category: 'ADVANCED',
    })),
  ];
}

/** The maturity bands the adoption rate usually falls in (the demo data's rule): a soft validity check. */
function maturityBand(rate: number): MaturityLevel {
  if (rate < 0.35) return 'BEGINNER';
  if (rate < 0.6) return 'INTERMEDIATE';
  if (rate < 0.8) return 'ADVANCED';
  return 'EXPERT';
}

/** Latest stored maturity per customer, for the consistency check (one query per batch). */
async function latestMaturity(db: SqlExecutor, tenantId: string, payloads: readonly UsageAnalyticsPayload[]) {
  const ids = [...new Set(payloads.map((p) => p.customerId))];
  const rows = await db.query<{ customerId: string; maturityLevel: MaturityLevel }>(
    `SELECT DISTINCT ON ("customerId") "customerId", "maturityLevel"::text AS "maturityLevel"
       FROM "AdoptionMetrics"
      WHERE "tenantId" = $1 AND "customerId" IN (SELECT json_array_elements_text($2::json))
      ORDER BY "customerId", "periodStart" DESC`,
    tenantId,
    JSON.stringify(ids),
  );
  return new Map(rows.map((r) => [r.customerId, r.maturityLevel]));
}

export interface RecordFeatureUsagePayload {
  customerId: string;
  periodStart: string;
  periodEnd: string;
  feature: string;
  category: 'CORE' | 'ADVANCED';
  usageCount: number;
  adoptionScore: number;
  successCorrelation: number;
  sourceSystem?: string | null;
  sourceUpdatedAt: Date | string;
}

export interface RecordAdoptionMetricsPayload {
  customerId: string;
  periodStart: string;
  periodEnd: string;
  overallAdoptionRate: number;
  featureDiscoveryRate: number;
  activationTimeDays: number;
  maturityLevel: MaturityLevel;
  highUsageHealth: number;
  featureCompleteness: number;
  roiAchievement: number;
  sourceSystem?: string | null;
  sourceUpdatedAt: Date | string;
}

/** A mutation input's period bounds (`YYYY-MM-DD`), refusing an end before the start. */
function inputPeriod(start: string, end: string): { periodStart: Date; periodEnd: Date } {
  if (!DATE_RE.test(start ?? '')) throw badUserInput('input.periodStart', 'must be a date like 2025-11-01');
  if (!DATE_RE.test(end ?? '')) throw badUserInput('input.periodEnd', 'must be a date like 2025-11-30');
  const periodStart = toDay(start);
  const periodEnd = toDay(end);
  notBefore('input.periodEnd', periodEnd, periodStart, 'periodStart');
  return { periodStart, periodEnd };
}

const mutationTime = (p: { sourceUpdatedAt: Date | string }) => instant('input.sourceUpdatedAt', p.sourceUpdatedAt);

export const sync = defineSync({
  domain: 'product',
  models: {
    FeatureUsage: { key: ['customerId', 'periodStart', 'feature'] },
    AdoptionMetrics: { key: ['customerId', 'periodStart'] },
    // Derived by the product-usage-rollup job alone: the latest run wins.
    UsageDailyRollup: { key: ['customerId', 'feature', 'day'] },
  },
  kinds: [
    usageRollupKind,
    {
      name: 'usage_analytics_sync',
      sourceTime: (p: UsageAnalyticsPayload) => instant('syncTimestamp', p.syncTimestamp),
      map(p: UsageAnalyticsPayload): RowChange[] {
        const customerId = customerIdOf('customerId', requiredText('customerId', p.customerId, 64));
        const { periodStart, periodEnd } = usagePeriod(p.usagePeriod);
        const adoption = p.adoptionMetrics;
        if (!adoption) throw badUserInput('adoptionMetrics', 'is required');
        const success = p.successCorrelation;
        if (!success) throw badUserInput('successCorrelation', 'is required');
        const days = DAYS_RE.exec(adoption.activationTime ?? '');
        if (!days?.[1]) throw badUserInput('adoptionMetrics.activationTime', 'must look like 14_days');
        const rows: RowChange[] = allFeatures(p).map((f) => ({
          model: 'FeatureUsage',
          key: { customerId, periodStart, feature: f.feature },
          fields: {
            periodEnd,
            category: f.category,
            usageCount: f.usageCount,
            adoptionScore: f.adoptionScore,
            successCorrelation: f.successCorrelation,
          },
        }));
        rows.push({
          model: 'AdoptionMetrics',
          key: { customerId, periodStart },
          fields: {
            periodEnd,
            overallAdoptionRate: unitInterval('adoptionMetrics.overallAdoptionRate', adoption.overallAdoptionRate),
            featureDiscoveryRate: unitInterval('adoptionMetrics.featureDiscoveryRate', adoption.featureDiscoveryRate),
            activationTimeDays: Number(days[1]),
            maturityLevel: maturity('adoptionMetrics.maturityLevel', adoption.maturityLevel),
            highUsageHealth: unitInterval('successCorrelation.highUsageHealth', success.highUsageHealth),
            featureCompleteness: unitInterval('successCorrelation.featureCompleteness', success.featureCompleteness),
            roiAchievement: unitInterval('successCorrelation.roiAchievement', success.roiAchievement),
          },
        });
        return rows;
      },
      quality: {
        required: [
          'customerId',
          'usagePeriod',
          'featureUsage.coreFeatures',
          'adoptionMetrics.overallAdoptionRate',
          'adoptionMetrics.maturityLevel',
          'syncTimestamp',
        ],
        optional: [
          'featureUsage.advancedFeatures',
          'adoptionMetrics.featureDiscoveryRate',
          'adoptionMetrics.activationTime',
          'successCorrelation.highUsageHealth',
          'successCorrelation.featureCompleteness',
          'successCorrelation.roiAchievement',
        ],
        validity(p: UsageAnalyticsPayload): QualityCheck[] {
          const checks: QualityCheck[] = allFeatures(p).map((f) => ({
            field: `featureUsage.${f.feature}`,
            // A feature nobody used cannot be half adopted.
            ok: f.usageCount > 0 || f.adoptionScore === 0,
          }));
          const rate = p.adoptionMetrics.overallAdoptionRate;
          checks.push({
            field: 'adoptionMetrics.maturityLevel',
            ok:
              Math.abs(
                MATURITY.indexOf(maturityBand(rate)) - MATURITY.indexOf(maturity('', p.adoptionMetrics.maturityLevel)),
              ) <= 1,
          });
          return checks;
        },
        loadFacts: latestMaturity,
        consistency(p: UsageAnalyticsPayload, facts: unknown): QualityCheck[] {
          const previous = (facts as Map<string, MaturityLevel>).get(p.customerId);
          if (previous === undefined) return [];
          // Maturity moves a level at a time; a jump of two or more disagrees with what is stored.
          const jump = Math.abs(
            MATURITY.indexOf(previous) - MATURITY.indexOf(maturity('', p.adoptionMetrics.maturityLevel)),
          );
          return [{ field: 'adoptionMetrics.maturityLevel', ok: jump <= 1 }];
        },
      },
    },
    {
      name: 'record_feature_usage',
      mutationOnly: true,
      sourceTimeField: 'input.sourceUpdatedAt',
      sourceTime: mutationTime,
      map(input: RecordFeatureUsagePayload): RowChange[] {
        const customerId = requiredText('input.customerId', input.customerId);
        const feature = requiredText('input.feature', input.feature);
        const { periodStart, periodEnd } = inputPeriod(input.periodStart, input.periodEnd);
        optionalText('input.sourceSystem', input.sourceSystem, 100);
        return [
          {
            model: 'FeatureUsage',
            key: { customerId, periodStart, feature },
            fields: {
              periodEnd,
              category: input.category,
              usageCount: nonNegativeInt('input.usageCount', input.usageCount),
              adoptionScore: unitInterval('input.adoptionScore', input.adoptionScore),
              successCorrelation: unitInterval('input.successCorrelation', input.successCorrelation),
            },
          },
        ];
      },
      quality: { required: ['customerId', 'periodStart', 'feature', 'usageCount'], optional: ['sourceSystem'] },
    },
    {
      name: 'record_adoption_metrics',
      mutationOnly: true,
      sourceTimeField: 'input.sourceUpdatedAt',
      sourceTime: mutationTime,
      map(input: RecordAdoptionMetricsPayload): RowChange[] {
        const customerId = requiredText('input.customerId', input.customerId);
        const { periodStart, periodEnd } = inputPeriod(input.periodStart, input.periodEnd);
        optionalText('input.sourceSystem', input.sourceSystem, 100);
        return [
          {
            model: 'AdoptionMetrics',
            key: { customerId, periodStart },
            fields: {
              periodEnd,
              overallAdoptionRate: unitInterval('input.overallAdoptionRate', input.overallAdoptionRate),
              featureDiscoveryRate: unitInterval('input.featureDiscoveryRate', input.featureDiscoveryRate),
              activationTimeDays: nonNegativeInt('input.activationTimeDays', input.activationTimeDays),
              maturityLevel: maturity('input.maturityLevel', input.maturityLevel),
              highUsageHealth: unitInterval('input.highUsageHealth', input.highUsageHealth),
              featureCompleteness: unitInterval('input.featureCompleteness', input.featureCompleteness),
              roiAchievement: unitInterval('input.roiAchievement', input.roiAchievement),
            },
          },
        ];
      },
      quality: {
        required: ['customerId', 'periodStart', 'overallAdoptionRate', 'maturityLevel'],
        optional: ['sourceSystem'],
      },
    },
  ],
});
