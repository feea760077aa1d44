import { provenance } from '@hub/core/validate';
import { afterIdWhere, paginate } from '@hub/core/pagination';
import { mapPrismaError } from '@hub/core/errors';
import type { Prisma } from '@hub/store/sales';
import type { RenewalFilter, Resolvers } from '../generated/resolvers-types.js';
import * as check from '../validation.js';

/** Prisma `where` for a renewal filter; validated here so errors name the filter field. */
export function renewalWhere(filter: RenewalFilter | null | undefined): Prisma.RenewalForecastWhereInput {
  const where: Prisma.RenewalForecastWhereInput = {};
  const maxProbability = check.probability('filter.maxProbability', filter?.maxProbability ?? null);
  if (maxProbability !== null) where.renewalProbability = { lte: maxProbability };
  if (filter?.renewalBefore) where.renewalDate = { lte: check.calendarDate(filter.renewalBefore) };
  return where;
}

export const renewalResolvers: Resolvers = {
  Query: {
    renewals: (_parent, args, ctx) => {
      const where = renewalWhere(args.filter);
      return paginate(
        args,
        ({ take, afterId }) =>
          ctx.db.renewalForecast.findMany({
            where: { ...where, ...afterIdWhere(afterId) },
            orderBy: { id: 'asc' },
            take,
          }),
        () => ctx.db.renewalForecast.count({ where }),
      );
    },
  },

  RenewalForecast: {
    customer: (renewal) => ({ id: renewal.customerId }),
  },

  Mutation: {
    upsertRenewalForecast: async (_parent, { input }, ctx) => {
      const tenantId = check.requireTenant(ctx.viewer);
      const customerId = check.externalId('input.customerId', input.customerId);
      const fields = {
        renewalProbability: check.probability('input.renewalProbability', input.renewalProbability),
        contractValue: check.nonNegativeMoney('input.contractValue', input.contractValue),
        expansionPotential: check.nonNegativeMoney('input.expansionPotential', input.expansionPotential),
        renewalDate: check.calendarDate(input.renewalDate),
        riskFactors: check.tags('input.riskFactors', input.riskFactors) ?? [],
        successMitigation: check.tags('input.successMitigation', input.successMitigation) ?? [],
        ownerId: input.ownerId ? check.externalId('input.ownerId', input.ownerId) : null,
        ...provenance(input),
      };
      try {
        return await ctx.db.renewalForecast.upsert({
          where: { tenantId_customerId: { tenantId, customerId } },
          create: { tenantId, customerId, ...fields },
          update: fields,
        });
      } catch (error) {
        throw mapPrismaError(error, 'RenewalForecast');
      }
    },
  },
};
