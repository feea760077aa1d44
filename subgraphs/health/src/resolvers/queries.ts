import { badUserInput } from '@hub/core/errors';
import { connectionFromRows, paginate, pageWindow } from '@hub/core/pagination';
import type { HealthScore, Prisma } from '@hub/store/health';
import type { Context } from '../context.js';
import type { HealthScoreFilter, QueryAtRiskCustomersArgs, Resolvers } from '../generated/resolvers-types.js';
import { applies } from '../override.js';
import * as check from '../validation.js';

/** Health rows are keyed by customer; pagination cursors need an `id`, which is that key. */
function withId(row: HealthScore): HealthScore & { id: string } {
  return { ...row, id: row.customerId };
}

export function healthWhere(filter: HealthScoreFilter | null | undefined): Prisma.HealthScoreWhereInput {
  if (!filter) return {};
  const min = check.optionalIntInRange('filter.minScore', filter.minScore, 0, 100);
  const max = check.optionalIntInRange('filter.maxScore', filter.maxScore, 0, 100);
  if (min !== undefined && max !== undefined && min > max) {
    throw badUserInput('filter.maxScore', 'must not be below filter.minScore');
  }
  const risk = check.optionalText('filter.riskIndicator', filter.riskIndicator, 100);
  return {
    ...(min !== undefined || max !== undefined ? { score: { gte: min, lte: max } } : {}),
    ...(filter.paymentStatus ? { paymentStatus: filter.paymentStatus } : {}),
    ...(risk ? { riskIndicators: { has: risk } } : {}),
  };
}

/**
 * At-risk lists are read worst first, so they page by (score, customerId): the cursor holds both,
 * zero-padded so the encoded value also sorts like the order.
 */
function scoreCursorId(row: HealthScore): string {
  return `${String(row.score).padStart(3, '0')}:${row.customerId}`;
}

function afterScoreWhere(afterId: string | undefined): Prisma.HealthScoreWhereInput {
  if (afterId === undefined) return {};
  const match = /^(\d{3}):(.+)$/.exec(afterId);
  if (!match?.[1] || !match[2]) throw badUserInput('after', 'is not a cursor returned by this API');
  const score = Number(match[1]);
  return { OR: [{ score: { gt: score } }, { score, customerId: { gt: match[2] } }] };
}

async function atRisk(args: QueryAtRiskCustomersArgs, ctx: Context) {
  const threshold = check.intInRange('threshold', args.threshold ?? 50, 0, 100);
  const where: Prisma.HealthScoreWhereInput = { score: { lt: threshold } };
  const { take, afterId } = pageWindow(args);
  const rows = await ctx.db.healthScore.findMany({
    where: { AND: [where, afterScoreWhere(afterId)] },
    orderBy: [{ score: 'asc' }, { customerId: 'asc' }],
    take,
  });
  return connectionFromRows(
    rows.map((row) => ({ ...row, id: scoreCursorId(row) })),
    take - 1,
    afterId !== undefined,
    () => ctx.db.healthScore.count({ where }),
  );
}

export const queryResolvers: Resolvers = {
  Query: {
    healthScores: (_parent, args, ctx) => {
      const where = healthWhere(args.filter);
      return paginate(
        args,
        async ({ take, afterId }) => {
          const rows = await ctx.db.healthScore.findMany({
            where: { ...where, ...(afterId === undefined ? {} : { customerId: { gt: afterId } }) },
            orderBy: { customerId: 'asc' },
            take,
          });
          return rows.map(withId);
        },
        () => ctx.db.healthScore.count({ where }),
      );
    },
    atRiskCustomers: (_parent, args, ctx) => atRisk(args, ctx),
  },

  Customer: {
    // The health store has no customer rows; the customers subgraph owns existence and visibility.
    __resolveReference: (reference) => ({ id: reference.id }),
    health: (customer, _args, ctx, info) => ctx.loaders.healthByCustomer.load(customer.id, info),
    healthHistory: async (customer, args, ctx) => {
      const { take, afterId } = pageWindow(args);
      const all = await ctx.loaders.historyByCustomer.load({
        customerId: customer.id,
        since: args.since ? args.since.toISOString() : null,
      });
      const rest = afterId === undefined ? all : all.filter((row) => row.id > afterId);
      return connectionFromRows(rest.slice(0, take), take - 1, afterId !== undefined, async () => all.length);
    },
  },

  CustomerHealth: {
    customer: (health) => ({ id: health.customerId }),
    // The override, while it applies, is what the score shows; its expiry needs no write (README "Health score").
    score: async (health, _args, ctx) => {
      const override = await ctx.loaders.overrideByCustomer.load(health.customerId);
      return applies(override, new Date()) ? override.score : health.score;
    },
    computedScore: (health) => health.score,
    override: async (health, _args, ctx) => {
      const override = await ctx.loaders.overrideByCustomer.load(health.customerId);
      return applies(override, new Date()) ? override : null;
    },
    metrics: (health) => health,
    trend: (health) => ({
      thirtyDayChange: health.trend30DayChange,
      riskIndicators: health.riskIndicators,
      improvementAreas: health.improvementAreas,
    }),
    domainImpacts: (health) => ({
      marketing: { campaignTriggers: health.marketingCampaignTriggers, segment: health.marketingSegment },
      sales: {
        expansionOpportunities: health.salesExpansionOpportunities,
        renewalConfidence: health.salesRenewalConfidence,
      },
      product: { featureAdoptionFocus: health.productFeatureAdoptionFocus, betaInterests: health.productBetaInterests },
    }),
  },

  HealthSnapshot: {
    metrics: (snapshot) => snapshot,
  },

  HealthOverride: {
    by: (override) => override.overriddenBy,
    at: (override) => override.overriddenAt,
  },
};
