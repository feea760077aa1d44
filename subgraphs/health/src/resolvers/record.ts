import type { Resolvers } from '../generated/resolvers-types.js';
import * as check from '../validation.js';

/**
 * recordHealthScore goes through the one sync pipeline (`ctx.sync.applyOne`) as a
 * `record_health_score` event (src/sync.ts): the current score merged under the conflict rule
 * (finance owns payment status) and a snapshot, with provenance, quality and outbox event, in one
 * transaction. The source time is `sourceUpdatedAt`, else `syncTimestamp`, else the arrival time; it
 * is part of the payload, so the same input with the same times is a duplicate (the stored score
 * answers again), as is a repeated `idempotencyKey`.
 */
export const recordResolvers: Resolvers = {
  Mutation: {
    recordHealthScore: async (_parent, { input }, ctx) => {
      const tenantId = check.requireTenant(ctx.viewer);
      const { idempotencyKey, ...fields } = input;
      await ctx.sync.applyOne({
        kind: 'record_health_score',
        payload: { ...fields, sourceUpdatedAt: input.sourceUpdatedAt ?? input.syncTimestamp ?? new Date() },
        idempotencyKey: idempotencyKey ?? null,
        source: input.sourceSystem ?? null,
      });
      return ctx.db.healthScore.findUniqueOrThrow({
        where: { tenantId_customerId: { tenantId, customerId: input.customerId } },
      });
    },
  },
};
