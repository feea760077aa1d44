import type { Resolvers } from '../generated/resolvers-types.js';
import {
  nonNegativeInt,
  notBefore,
  provenance,
  requiredText,
  requireTenant,
  toDay,
  unitInterval,
} from '@hub/core/validate';

/** A period's bounds as stored (`@db.Date`), refusing an end before the start. */
function period(start: string, end: string): { periodStart: Date; periodEnd: Date } {
  const periodStart = toDay(start);
  const periodEnd = toDay(end);
  notBefore('input.periodEnd', periodEnd, periodStart, 'periodStart');
  return { periodStart, periodEnd };
}

/**
 * Product sync writes. Both are upserts on the natural key (customer, period[, feature]), so a
 * re-sent sync payload replaces the figures instead of duplicating them.
 */
export const mutationResolvers: Resolvers = {
  Mutation: {
    recordFeatureUsage: async (_parent, { input }, ctx) => {
      const customerId = requiredText('input.customerId', input.customerId);
      const feature = requiredText('input.feature', input.feature);
      const { periodStart, periodEnd } = period(input.periodStart, input.periodEnd);
      const data = {
        periodEnd,
        category: input.category,
        usageCount: nonNegativeInt('input.usageCount', input.usageCount),
        adoptionScore: unitInterval('input.adoptionScore', input.adoptionScore),
        successCorrelation: unitInterval('input.successCorrelation', input.successCorrelation),
        ...provenance(input),
      };
      const tenantId = requireTenant(ctx.viewer);
      return ctx.db.featureUsage.upsert({
        where: { tenantId_customerId_periodStart_feature: { tenantId, customerId, periodStart, feature } },
        create: { tenantId, customerId, periodStart, feature, ...data },
        update: data,
      });
    },
    recordAdoptionMetrics: async (_parent, { input }, ctx) => {
      const customerId = requiredText('input.customerId', input.customerId);
      const { periodStart, periodEnd } = period(input.periodStart, input.periodEnd);
      const data = {
        periodEnd,
        overallAdoptionRate: unitInterval('input.overallAdoptionRate', input.overallAdoptionRate),
        featureDiscoveryRate: unitInterval('input.featureDiscoveryRate', input.featureDiscoveryRate),
        activationTimeDays: nonNegativeInt('input.activationTimeDays', input.activationTimeDays),
        maturityLevel: input.maturityLevel,
        highUsageHealth: unitInterval('input.highUsageHealth', input.highUsageHealth),
        featureCompleteness: unitInterval('input.featureCompleteness', input.featureCompleteness),
        roiAchievement: unitInterval('input.roiAchievement', input.roiAchievement),
        ...provenance(input),
      };
      const tenantId = requireTenant(ctx.viewer);
      return ctx.db.adoptionMetrics.upsert({
        where: { tenantId_customerId_periodStart: { tenantId, customerId, periodStart } },
        create: { tenantId, customerId, periodStart, ...data },
        update: data,
      });
    },
  },
};
