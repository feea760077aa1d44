import { mapPrismaError } from '@hub/core/errors';
import type { Prisma } from '@hub/store/health';
import { randomBytes } from 'node:crypto';
import type { RecordHealthScoreInput, Resolvers } from '../generated/resolvers-types.js';
import * as check from '../validation.js';

/**
 * Snapshot ids start with the recording instant (UTC, digits only), so ordering by id is ordering
 * by time and the keyset cursor of `healthHistory` follows the timeline.
 */
export function snapshotId(recordedAt: Date, suffix: string): string {
  return `hsn_${recordedAt.toISOString().replace(/\D/g, '')}_${suffix}`;
}

/** Validates the whole input before anything is written, naming the first offending field. */
function validated(input: RecordHealthScoreInput) {
  const score = (field: keyof RecordHealthScoreInput & string, value: number) =>
    check.intInRange(`input.${field}`, value, 0, 100);
  return {
    customerId: check.customerId('input.customerId', input.customerId),
    score: score('score', input.score),
    usageScore: score('usageScore', input.usageScore),
    engagementScore: score('engagementScore', input.engagementScore),
    supportSatisfaction: score('supportSatisfaction', input.supportSatisfaction),
    paymentStatus: input.paymentStatus,
    trend30DayChange: check.optionalIntInRange('input.thirtyDayChange', input.thirtyDayChange, -100, 100) ?? 0,
    riskIndicators: check.tags('input.riskIndicators', input.riskIndicators) ?? [],
    improvementAreas: check.tags('input.improvementAreas', input.improvementAreas) ?? [],
    marketingCampaignTriggers: check.tags('input.campaignTriggers', input.campaignTriggers) ?? [],
    marketingSegment: check.optionalText('input.segment', input.segment, 100) ?? null,
    salesExpansionOpportunities: check.tags('input.expansionOpportunities', input.expansionOpportunities) ?? [],
    salesRenewalConfidence: check.fraction('input.renewalConfidence', input.renewalConfidence) ?? null,
    productFeatureAdoptionFocus: check.tags('input.featureAdoptionFocus', input.featureAdoptionFocus) ?? [],
    productBetaInterests: check.tags('input.betaInterests', input.betaInterests) ?? [],
    dataQualityScore: check.fraction('input.dataQualityScore', input.dataQualityScore) ?? 1,
    syncTimestamp: check.notInFuture('input.syncTimestamp', input.syncTimestamp) ?? new Date(),
    ...check.provenance(input),
  } satisfies Omit<Prisma.HealthScoreUncheckedCreateInput, 'tenantId'>;
}

export const recordResolvers: Resolvers = {
  Mutation: {
    recordHealthScore: async (_parent, { input }, ctx) => {
      const data = validated(input);
      // The scoped client forces the viewer's tenant into both writes; the key needs it as a value.
      const tenantId = check.requireTenant(ctx.viewer);
      const current = ctx.db.healthScore.upsert({
        where: { tenantId_customerId: { tenantId, customerId: data.customerId } },
        create: { ...data, tenantId },
        update: data,
      });
      const snapshot = ctx.db.healthSnapshot.create({
        data: {
          id: snapshotId(data.syncTimestamp, randomBytes(4).toString('hex')),
          tenantId,
          customerId: data.customerId,
          score: data.score,
          usageScore: data.usageScore,
          engagementScore: data.engagementScore,
          supportSatisfaction: data.supportSatisfaction,
          paymentStatus: data.paymentStatus,
          recordedAt: data.syncTimestamp,
        },
      });
      try {
        const [health] = await ctx.db.$transaction([current, snapshot]);
        return health;
      } catch (error) {
        throw mapPrismaError(error, 'HealthScore');
      }
    },
  },
};
