/**
 * Kind of the daily product-usage rollup (job `product-usage-rollup`, ../jobs.ts): one customer and
 * feature, the usage period in force on a day, as a per-day rate. Mutation-only: written by the job
 * through the pipeline (idempotency, sources, outbox).
 */
import { instant } from '@hub/core/sync/payload';
import type { SyncKind } from '@hub/core/sync/types';
import { calendarDay, enumMember, inRange, nonNegativeInt, requiredText, unitInterval } from '@hub/core/validate';
import type { FeatureCategory } from '@hub/store/product';

export interface UsageRollupPayload {
  customerId: string;
  feature: string;
  day: string;
  asOf: string;
  category: FeatureCategory;
  periodUsageCount: number;
  usagePerDay: number;
  adoptionScore: number;
  successCorrelation: number;
  periodStart: string;
  periodEnd: string;
}

export const USAGE_ROLLUP_KIND = 'usage_daily_rollup';
const CATEGORIES: readonly FeatureCategory[] = ['CORE', 'ADVANCED'];

export const usageRollupKind: SyncKind<UsageRollupPayload> = {
  name: USAGE_ROLLUP_KIND,
  mutationOnly: true,
  sourceTime: (p) => instant('asOf', p.asOf),
  sourceTimeField: 'asOf',
  map(p) {
    return [
      {
        model: 'UsageDailyRollup',
        key: {
          customerId: requiredText('customerId', p.customerId, 64),
          feature: requiredText('feature', p.feature),
          day: calendarDay('day', p.day),
        },
        fields: {
          category: enumMember('category', p.category, CATEGORIES),
          periodUsageCount: nonNegativeInt('periodUsageCount', p.periodUsageCount),
          usagePerDay: inRange('usagePerDay', p.usagePerDay, 0, Number.MAX_SAFE_INTEGER),
          adoptionScore: unitInterval('adoptionScore', p.adoptionScore),
          successCorrelation: unitInterval('successCorrelation', p.successCorrelation),
          periodStart: calendarDay('periodStart', p.periodStart),
          periodEnd: calendarDay('periodEnd', p.periodEnd),
        },
      },
    ];
  },
  quality: {
    required: ['customerId', 'feature', 'day', 'asOf', 'periodUsageCount', 'usagePerDay', 'periodStart', 'periodEnd'],
    optional: ['adoptionScore', 'successCorrelation'],
  },
};
