import type { Resolvers } from '../generated/resolvers-types.js';

/**
 * Product writes. Both go through the one sync pipeline (`ctx.sync.applyOne`) as events of the
 * declaration's mutation kinds (src/sync.ts): an upsert on the natural key (customer, period[,
 * feature]) under the conflict rule, with the row's provenance, quality score and outbox event
 * written in the same transaction. Without `sourceUpdatedAt` the source time is the arrival time;
 * it is part of the payload, so the same figures sent with the same source time are a duplicate
 * (answered with the stored row) while a later call without one is a new change.
 */
export const mutationResolvers: Resolvers = {
  Mutation: {
    recordFeatureUsage: async (_parent, { input }, ctx) => {
      const result = await ctx.sync.applyOne({
        kind: 'record_feature_usage',
        payload: { ...input, sourceUpdatedAt: input.sourceUpdatedAt ?? new Date() },
        source: input.sourceSystem ?? null,
      });
      return ctx.db.featureUsage.findUniqueOrThrow({ where: { id: result.rows[0]?.id ?? '' } });
    },
    recordAdoptionMetrics: async (_parent, { input }, ctx) => {
      const result = await ctx.sync.applyOne({
        kind: 'record_adoption_metrics',
        payload: { ...input, sourceUpdatedAt: input.sourceUpdatedAt ?? new Date() },
        source: input.sourceSystem ?? null,
      });
      return ctx.db.adoptionMetrics.findUniqueOrThrow({ where: { id: result.rows[0]?.id ?? '' } });
    },
  },
};
