import { provenance, provenanceChange } from '@hub/core/validate';
import { afterIdWhere, paginate } from '@hub/core/pagination';
import { mapPrismaError, notFound } from '@hub/core/errors';
import type { ExpansionOpportunity, Prisma } from '@hub/store/sales';
import { randomBytes } from 'node:crypto';
import type { Context } from '../context.js';
import type { CsContributionInput, OpportunityFilter, Resolvers } from '../generated/resolvers-types.js';
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

/** An opportunity the viewer may see, or NOT_FOUND (also for another tenant's or book's id). */
async function existingOpportunity(ctx: Context, id: string) {
  const opportunity = await ctx.loaders.opportunityById.load(id);
  if (!opportunity) throw notFound('Opportunity', id);
  return opportunity;
}

function csFields(input: CsContributionInput | null | undefined) {
  return {
    csHealthScore: check.score('input.csContribution.healthScore', input?.healthScore, 0, 100),
    csSuccessEvidence: check.tags('input.csContribution.successEvidence', input?.successEvidence),
    csRiskMitigation: check.tags('input.csContribution.riskMitigation', input?.riskMitigation),
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
    opportunity: (_parent, { id }, ctx) => ctx.loaders.opportunityById.load(id),
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
      const tenantId = check.requireTenant(ctx.viewer);
      const cs = csFields(input.csContribution);
      const data = {
        tenantId,
        id: input.id ? check.externalId('input.id', input.id) : `exp_${randomBytes(6).toString('hex')}`,
        customerId: check.externalId('input.customerId', input.customerId),
        ownerId: check.externalId('input.ownerId', input.ownerId),
        type: input.type,
        value: check.nonNegativeMoney('input.value', input.value),
        probability: check.probability('input.probability', input.probability),
        timeline: check.timeline('input.timeline', input.timeline),
        stage: input.stage ?? 'IDENTIFIED',
        successFactors: check.tags('input.successFactors', input.successFactors) ?? [],
        csHealthScore: cs.csHealthScore ?? null,
        csSuccessEvidence: cs.csSuccessEvidence ?? [],
        csRiskMitigation: cs.csRiskMitigation ?? [],
        ...provenance(input),
      } satisfies Prisma.ExpansionOpportunityUncheckedCreateInput;
      try {
        return await ctx.db.expansionOpportunity.create({ data });
      } catch (error) {
        throw mapPrismaError(error, 'Opportunity');
      }
    },

    updateOpportunity: async (_parent, { id, input }, ctx) => {
      const tenantId = check.requireTenant(ctx.viewer);
      const cs = input.csContribution ? csFields(input.csContribution) : {};
      const data: Prisma.ExpansionOpportunityUpdateInput = {
        ownerId: check.change('input.ownerId', input.ownerId, check.externalId),
        type: check.notNull('input.type', input.type),
        value: check.nonNegativeMoney('input.value', check.notNull('input.value', input.value)),
        probability: check.probability('input.probability', check.notNull('input.probability', input.probability)),
        timeline: check.change('input.timeline', input.timeline, check.timeline),
        stage: check.notNull('input.stage', input.stage),
        successFactors: check.tags('input.successFactors', input.successFactors),
        ...cs,
        ...provenanceChange(input),
      };
      await existingOpportunity(ctx, id);
      try {
        return await ctx.db.expansionOpportunity.update({ where: { tenantId_id: { tenantId, id } }, data });
      } catch (error) {
        throw mapPrismaError(error, 'Opportunity');
      }
    },
  },
};
