import { afterIdWhere, paginate } from '@hub/core/pagination';
import type { ExpansionOpportunity, Prisma } from '@hub/store/sales';
import { randomBytes, randomUUID } from 'node:crypto';
import type { OpportunityFilter, Resolvers } from '../generated/resolvers-types.js';
import type { CreateOpportunityPayload, UpdateOpportunityPayload } from '../sync.js';
import * as check from '../validation.js';

/** A validated opportunity filter, usable both as a Prisma `where` and as an in-memory predicate. */
export interface ParsedOpportunityFilter {
  where: Prisma.ExpansionOpportunityWhereInput;
  matches(row: ExpansionOpportunity): boolean;
}

/** Validates a filter once (errors name `filter.<field>`), so root and nested lists agree on its meaning. */
export function parseOpportunityFilter(filter: OpportunityFilter | null | undefined): ParsedOpportunityFilter {
  const minProbability = check.probability('filter.minProbability', filter?.minProbability ?? null);
  const minValue = check.nonNegativeMoney('filter.minValue', filter?.minValue ?? null);
  const where: Prisma.ExpansionOpportunityWhereInput = {};
  if (filter?.type) where.type = filter.type;
  if (filter?.stage) where.stage = filter.stage;
  if (filter?.ownerId) where.ownerId = filter.ownerId;
  if (minValue !== null) where.value = { gte: minValue };
  if (minProbability !== null) where.probability = { gte: minProbability };
  return {
    where,
    matches: (row) =>
      (!filter?.type || row.type === filter.type) &&
      (!filter?.stage || row.stage === filter.stage) &&
      (!filter?.ownerId || row.ownerId === filter.ownerId) &&
      (minValue === null || row.value.gte(minValue)) &&
      (minProbability === null || row.probability >= minProbability),
  };
}

export const opportunityResolvers: Resolvers = {
  Query: {
    opportunities: (_parent, args, ctx) => {
      const { where } = parseOpportunityFilter(args.filter);
      return paginate(
        args,
        ({ take, afterId }) =>
          ctx.db.expansionOpportunity.findMany({
            where: { ...where, ...afterIdWhere(afterId) },
            orderBy: { id: 'asc' },
            take,
          }),
        () => ctx.db.expansionOpportunity.count({ where }),
      );
    },
    opportunity: (_parent, { id }, ctx, info) => ctx.loaders.opportunityById.load(id, info),
  },

  Opportunity: {
    customer: (opportunity) => ({ id: opportunity.customerId }),
    weightedValue: (opportunity) => opportunity.value.mul(opportunity.probability),
    csContribution: (opportunity) => ({
      healthScore: opportunity.csHealthScore,
      successEvidence: opportunity.csSuccessEvidence,
      riskMitigation: opportunity.csRiskMitigation,
    }),
  },

  Mutation: {
    createOpportunity: async (_parent, { input }, ctx) => {
      const { idempotencyKey, sourceSystem, ...fields } = input;
      const id = fields.id ?? `exp_${randomBytes(6).toString('hex')}`;
      // No key given: the engine derives one from the payload, so the same opportunity sent again
      // (same id, same fields) replays; the same id with other fields is a CONFLICT (insert mode).
      const result = await ctx.sync.applyOne({
        kind: 'create_opportunity',
        payload: { input: { ...fields, id } } satisfies CreateOpportunityPayload,
        idempotencyKey,
        source: sourceSystem,
      });
      return ctx.db.expansionOpportunity.findFirstOrThrow({
        where: { id: result.rows.find((row) => row.model === 'ExpansionOpportunity')?.id ?? '' },
      });
    },

    updateOpportunity: async (_parent, { id, input }, ctx) => {
      const { idempotencyKey, sourceSystem, ...changes } = input;
      // Every call is a change of its own unless the caller names it: a repeated update applies again.
      const result = await ctx.sync.applyOne({
        kind: 'update_opportunity',
        payload: { id, input: changes } satisfies UpdateOpportunityPayload,
        idempotencyKey: idempotencyKey ?? randomUUID(),
        source: sourceSystem,
      });
      return ctx.db.expansionOpportunity.findFirstOrThrow({
        where: { id: result.rows.find((row) => row.model === 'ExpansionOpportunity')?.id ?? '' },
      });
    },
  },
};
