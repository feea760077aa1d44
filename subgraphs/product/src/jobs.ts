/**
 * Product's batch jobs (the brief's daily "Product usage analytics"): `product-usage-rollup`, per tenant,
 * customer and feature, the usage period in force on the run's day (the latest that started on or
 * before it) as a per-day rate, into `UsageDailyRollup` through the sync pipeline.
 */
import { defineCustomerChunkJob } from '@hub/core/events/chunkedJob';
import type { JobDefinition } from '@hub/core/events/types';
import { dayKey } from '@hub/core/validate';
import { USAGE_ROLLUP_KIND, type UsageRollupPayload } from './sync/rollup.js';

export function usageRollupJob(options: { chunkSize?: number } = {}): JobDefinition {
  return defineCustomerChunkJob({
    name: 'product-usage-rollup',
    domain: 'product',
    schedule: '30 1 * * *',
    description: 'Daily product-usage rollup per customer and feature: usage per day, adoption, success correlation',
    kind: USAGE_ROLLUP_KIND,
    chunkSize: options.chunkSize,
    customerTables: ['FeatureUsage'],
    async items(store, tenantId, customerIds, asOf) {
      const day = dayKey(asOf);
      const rows = await store.query<Record<string, string | number>>(
        `SELECT DISTINCT ON ("customerId", "feature") "customerId", "feature", "category"::text AS category,
           "usageCount", "adoptionScore", "successCorrelation", "periodStart"::text AS "periodStart",
           "periodEnd"::text AS "periodEnd", ("periodEnd" - "periodStart" + 1) AS days
         FROM "FeatureUsage" WHERE "tenantId" = $1 AND "customerId" = ANY($2::text[]) AND "periodStart" <= $3::date
         ORDER BY "customerId", "feature", "periodStart" DESC`,
        [tenantId, customerIds, day],
      );
      return rows.map((row) => {
        const days = Math.max(1, Number(row['days']));
        const payload: UsageRollupPayload = {
          customerId: String(row['customerId']),
          feature: String(row['feature']),
          day,
          asOf: asOf.toISOString(),
          category: row['category'] as UsageRollupPayload['category'],
          periodUsageCount: Number(row['usageCount']),
          usagePerDay: Math.round((Number(row['usageCount']) / days) * 10_000) / 10_000,
          adoptionScore: Number(row['adoptionScore']),
          successCorrelation: Number(row['successCorrelation']),
          periodStart: String(row['periodStart']),
          periodEnd: String(row['periodEnd']),
        };
        return { key: `${payload.customerId}:${payload.feature}`, payload: { ...payload } };
      });
    },
  });
}

export const jobs: readonly JobDefinition[] = [usageRollupJob()];
