import { ErrorCode, hubError } from '@hub/core/errors';
import type { Resolvers } from '../generated/resolvers-types.js';
import * as check from '../validation.js';

/**
 * overrideHealth / clearHealthOverride (admins only: the subgraph's permission overrides, server.ts):
 * one `override_health` / `clear_health_override` event each through the pipeline, source the admin
 * (`admin:<user>`), then the customer's health read back with the override applied.
 */
export const overrideResolvers: Resolvers = {
  Mutation: {
    overrideHealth: async (_parent, { input }, ctx) => {
      const tenantId = check.requireTenant(ctx.viewer);
      const health = await ctx.db.healthScore.findUnique({
        where: { tenantId_customerId: { tenantId, customerId: input.customerId } },
      });
      if (!health)
        throw hubError(ErrorCode.NotFound, `customer ${input.customerId} has no health yet`, {
          field: 'input.customerId',
        });
      await ctx.sync.applyOne({
        kind: 'override_health',
        payload: {
          customerId: input.customerId,
          score: input.score,
          reason: input.reason,
          by: `admin:${ctx.viewer.userId}`,
          at: new Date(),
          expiresAt: input.expiresAt ?? null,
        },
        idempotencyKey: null,
      });
      ctx.loaders.overrideByCustomer.clear(input.customerId);
      return health;
    },
    clearHealthOverride: async (_parent, { customerId }, ctx) => {
      const tenantId = check.requireTenant(ctx.viewer);
      const health = await ctx.db.healthScore.findUnique({ where: { tenantId_customerId: { tenantId, customerId } } });
      const override = await ctx.db.healthOverride.findUnique({
        where: { tenantId_customerId: { tenantId, customerId } },
      });
      if (!health || !override || override.clearedAt !== null)
        throw hubError(ErrorCode.NotFound, `customer ${customerId} has no override`, { field: 'customerId' });
      await ctx.sync.applyOne({
        kind: 'clear_health_override',
        payload: { customerId, by: `admin:${ctx.viewer.userId}`, at: new Date() },
        idempotencyKey: null,
      });
      ctx.loaders.overrideByCustomer.clear(customerId);
      return health;
    },
  },
};
