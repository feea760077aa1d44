import { afterIdWhere, paginate } from '@hub/core/pagination';
import type { Prisma } from '@hub/store/product';
import type { AdoptionMetricsFilter, FeatureUsageFilter, Resolvers } from '../generated/resolvers-types.js';
import { toDay, unitInterval } from '@hub/core/validate';

/** Largest page a product list returns; usage rows are small but numerous. */
export const MAX_PAGE = 100;

function usageWhere(filter: FeatureUsageFilter | null | undefined): Prisma.FeatureUsageWhereInput {
  return {
    ...(filter?.customerId ? { customerId: filter.customerId } : {}),
    ...(filter?.feature ? { feature: filter.feature } : {}),
    ...(filter?.category ? { category: filter.category } : {}),
    ...(filter?.periodStart ? { periodStart: toDay(filter.periodStart) } : {}),
  };
}

function adoptionWhere(filter: AdoptionMetricsFilter | null | undefined): Prisma.AdoptionMetricsWhereInput {
  const min = filter?.minAdoptionRate;
  if (min != null) unitInterval('filter.minAdoptionRate', min);
  return {
    ...(filter?.customerId ? { customerId: filter.customerId } : {}),
    ...(filter?.maturityLevel ? { maturityLevel: filter.maturityLevel } : {}),
    ...(min != null ? { overallAdoptionRate: { gte: min } } : {}),
    ...(filter?.periodStart ? { periodStart: toDay(filter.periodStart) } : {}),
  };
}

/** Reads: root lists, the `Customer` extension, and entity references. */
export const queryResolvers: Resolvers = {
  Query: {
    featureUsage: (_parent, args, ctx) => {
      const where = usageWhere(args.filter);
      return paginate(
        args,
        ({ take, afterId }) =>
          ctx.db.featureUsage.findMany({ where: { ...where, ...afterIdWhere(afterId) }, orderBy: { id: 'asc' }, take }),
        () => ctx.db.featureUsage.count({ where }),
        MAX_PAGE,
      );
    },
    adoptionMetrics: (_parent, args, ctx) => {
      const where = adoptionWhere(args.filter);
      return paginate(
        args,
        ({ take, afterId }) =>
          ctx.db.adoptionMetrics.findMany({
            where: { ...where, ...afterIdWhere(afterId) },
            orderBy: { id: 'asc' },
            take,
          }),
        () => ctx.db.adoptionMetrics.count({ where }),
        MAX_PAGE,
      );
    },
  },
  Customer: {
    usage: (customer, args, ctx, info) =>
      ctx.loaders.usageByPeriod.load({ customerId: customer.id, periodStart: args.periodStart ?? null }, info),
    adoption: async (customer, args, ctx, info) => {
      const rows = await ctx.loaders.adoptionByPeriod.load(
        { customerId: customer.id, periodStart: args.periodStart ?? null },
        info,
      );
      return rows[0] ?? null;
    },
  },
  FeatureUsage: {
    __resolveReference: (ref, ctx, info) => ctx.loaders.featureUsageById.load(ref.id, info),
    customer: (row) => ({ id: row.customerId }),
  },
  AdoptionMetrics: {
    __resolveReference: (ref, ctx, info) => ctx.loaders.adoptionById.load(ref.id, info),
    customer: (row) => ({ id: row.customerId }),
  },
};
