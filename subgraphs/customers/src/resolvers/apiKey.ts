import { viewerActor } from '@hub/core/audit';
import { forbidden } from '@hub/core/errors';
import { afterIdWhere, paginate } from '@hub/core/pagination';
import { hasRole } from '@hub/core/viewer';
import type { Context } from '../context.js';
import type { Resolvers } from '../generated/resolvers-types.js';
import { createApiKey, findActiveApiKeyByHash, replicaSnapshot, revokeApiKey } from '../apiKeys.js';
import * as check from '../validation.js';

/**
 * The shield already limits the internal fields to the `system` viewer (the gateway) or, for
 * `_replicaSnapshot`, to service principals (the other subgraphs); checked again here because both
 * read across tenants and must never answer anyone else, whatever the rule tree says.
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
    _replicaSnapshot: (_parent, _args, ctx) => {
      requireRole(ctx, '_replicaSnapshot', 'service');
      return replicaSnapshot(ctx.db);
    },
    _apiKeyByHash: (_parent, { hash }, ctx) => {
      requireRole(ctx, '_apiKeyByHash');
      return findActiveApiKeyByHash(ctx.db, hash);
    },
  },

  Mutation: {
    // Each writes its grant event to the outbox in its transaction; the relay publishes it at once.
    createApiKey: async (_parent, { input }, ctx) => {
      requireAdmin(ctx);
      const created = await createApiKey(
        ctx.db,
        check.requireTenant(ctx.viewer),
        input,
        ctx.viewer.userId,
        viewerActor(ctx.viewer),
      );
      ctx.events.wake();
      return created;
    },
    revokeApiKey: async (_parent, { id }, ctx) => {
      requireAdmin(ctx);
      const revoked = await revokeApiKey(ctx.db, id, viewerActor(ctx.viewer));
      ctx.events.wake();
      return revoked;
    },
  },

  ApiKey: {
    active: (key) => key.revokedAt === null,
  },
};
