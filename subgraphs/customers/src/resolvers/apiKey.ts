import { forbidden } from '@hub/core/errors';
import { afterIdWhere, paginate } from '@hub/core/pagination';
import { hasRole } from '@hub/core/viewer';
import type { Context } from '../context.js';
import type { Resolvers } from '../generated/resolvers-types.js';
import { createApiKey, customerIdsOwnedBy, findActiveApiKeyByHash, revokeApiKey } from '../apiKeys.js';
import * as check from '../validation.js';

/**
 * The shield already limits the internal fields to the `system` viewer (the gateway) or, for
 * `_knownCustomers`, to service principals (the other subgraphs); checked again here because
 * `_apiKeyByHash` reads across tenants and must never answer anyone else, whatever the rule tree says.
 */
function requireRole(ctx: Context, field: string, role: 'system' | 'service' = 'system'): void {
  if (!hasRole(ctx.viewer, role)) throw forbidden(`${field} is internal to the hub`);
}

/** Keys grant access to a tenant's data: only its admins manage them (the shield says so too). */
function requireAdmin(ctx: Context): void {
  if (!hasRole(ctx.viewer, 'admin')) throw forbidden('Only admins manage API keys');
}

/** Partner API keys: the admin surface, and the two internal lookups the gateway makes. */
export const apiKeyResolvers: Resolvers = {
  Query: {
    apiKeys: (_parent, args, ctx) => {
      requireAdmin(ctx);
      return paginate(
        args,
        ({ take, afterId }) => ctx.db.apiKey.findMany({ where: afterIdWhere(afterId), orderBy: { id: 'asc' }, take }),
        () => ctx.db.apiKey.count(),
      );
    },
    _viewerScope: (_parent, { ownerIds }, ctx) => {
      requireRole(ctx, '_viewerScope');
      return customerIdsOwnedBy(ctx.db, ownerIds);
    },
    _knownCustomers: async (_parent, { ids }, ctx) => {
      requireRole(ctx, '_knownCustomers', 'service');
      const rows = await ctx.db.customer.findMany({ where: { id: { in: [...new Set(ids)] } }, select: { id: true } });
      return rows.map((row) => row.id);
    },
    _apiKeyByHash: (_parent, { hash }, ctx) => {
      requireRole(ctx, '_apiKeyByHash');
      return findActiveApiKeyByHash(ctx.db, hash);
    },
  },

  Mutation: {
    createApiKey: (_parent, { input }, ctx) => {
      requireAdmin(ctx);
      return createApiKey(ctx.db, check.requireTenant(ctx.viewer), input, ctx.viewer.userId);
    },
    revokeApiKey: (_parent, { id }, ctx) => {
      requireAdmin(ctx);
      return revokeApiKey(ctx.db, id);
    },
  },

  ApiKey: {
    active: (key) => key.revokedAt === null,
  },
};
