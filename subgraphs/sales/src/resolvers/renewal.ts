import { randomUUID } from 'node:crypto';
import { afterIdWhere, paginate } from '@hub/core/pagination';
import type { Prisma } from '@hub/store/sales';
import type { RenewalFilter, Resolvers } from '../generated/resolvers-types.js';
import type { UpsertRenewalForecastPayload } from '../sync.js';
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
      const { idempotencyKey, sourceSystem, ...forecast } = input;
      const result = await ctx.sync.applyOne({
        kind: 'upsert_renewal_forecast',
        payload: { input: forecast } satisfies UpsertRenewalForecastPayload,
        // Every call is a forecast of its own unless the caller names it.
        idempotencyKey: idempotencyKey ?? randomUUID(),
        source: sourceSystem,
      });
      return ctx.db.renewalForecast.findFirstOrThrow({
        where: { id: result.rows.find((row) => row.model === 'RenewalForecast')?.id ?? '' },
      });
    },
  },
};
