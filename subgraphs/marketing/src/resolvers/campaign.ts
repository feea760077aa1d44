import { provenance } from '@hub/core/validate';
import { afterIdWhere, paginate } from '@hub/core/pagination';
import { badUserInput, mapPrismaError, notFound } from '@hub/core/errors';
import type { Prisma } from '@hub/store/marketing';
import { randomBytes } from 'node:crypto';
import type { Context } from '../context.js';
import type { CampaignFilter, Resolvers } from '../generated/resolvers-types.js';
import * as check from '../validation.js';

const MAX_SEARCH = 200;

/** Prisma `where` for a campaign filter; validated here so errors name the filter field. */
export function campaignWhere(filter: CampaignFilter | null | undefined): Prisma.CampaignWhereInput {
  if (!filter) return {};
  const where: Prisma.CampaignWhereInput = {};
  if (filter.campaignType) where.campaignType = filter.campaignType;
  if (filter.targetSegment) where.targetSegment = filter.targetSegment;
  const search = filter.search?.trim();
  if (search) {
    if (search.length > MAX_SEARCH) throw badUserInput('filter.search', `must be at most ${MAX_SEARCH} characters`);
    where.OR = [{ name: { contains: search, mode: 'insensitive' } }, { id: { contains: search, mode: 'insensitive' } }];
  }
  return where;
}

/** A campaign of the viewer's tenant, or NOT_FOUND (also for another tenant's id). */
async function existingCampaign(ctx: Context, id: string) {
  const campaign = await ctx.loaders.campaignById.load(id);
  if (!campaign) throw notFound('Campaign', id);
  return campaign;
}

const NO_RESULTS = { customerCount: 0, openRate: null, clickRate: null, conversionRate: null, retentionImpact: null };

export const campaignResolvers: Resolvers = {
  Query: {
    campaigns: (_parent, args, ctx) => {
      const where = campaignWhere(args.filter);
      return paginate(
        args,
        ({ take, afterId }) =>
          ctx.db.campaign.findMany({ where: { ...where, ...afterIdWhere(afterId) }, orderBy: { id: 'asc' }, take }),
        () => ctx.db.campaign.count({ where }),
      );
    },
    campaign: (_parent, { id }, ctx) => ctx.loaders.campaignById.load(id),
  },

  Campaign: {
    // A campaign first seen in a sync payload has no name yet (the brief's payload names none).
    name: (campaign) => campaign.name ?? campaign.id,
    results: async (campaign, _args, ctx) => (await ctx.loaders.campaignAggregate.load(campaign.id)) ?? NO_RESULTS,
  },

  CampaignPerformance: {
    campaign: (performance, _args, ctx) => existingCampaign(ctx, performance.campaignId),
    customer: (performance) => ({ id: performance.customerId }),
  },

  Mutation: {
    createCampaign: async (_parent, { input }, ctx) => {
      const tenantId = check.requireTenant(ctx.viewer);
      const startsAt = input.startsAt ?? null;
      const endsAt = input.endsAt ?? null;
      check.notBefore('input.endsAt', endsAt, startsAt, 'input.startsAt');
      const data = {
        tenantId,
        id: input.id ? check.externalId('input.id', input.id) : `camp_${randomBytes(6).toString('hex')}`,
        name: check.requiredText('input.name', input.name, 200),
        campaignType: input.campaignType,
        targetSegment: check.segment('input.targetSegment', input.targetSegment),
        startsAt,
        endsAt,
        sourceSystem: check.optionalText('input.sourceSystem', input.sourceSystem, 100) ?? null,
      } satisfies Prisma.CampaignUncheckedCreateInput;
      try {
        return await ctx.db.campaign.create({ data });
      } catch (error) {
        throw mapPrismaError(error, 'Campaign');
      }
    },

    updateCampaign: async (_parent, { id, input }, ctx) => {
      const tenantId = check.requireTenant(ctx.viewer);
      const data: Prisma.CampaignUpdateInput = {
        name: input.name === undefined ? undefined : check.requiredText('input.name', input.name, 200),
        campaignType: check.notNull('input.campaignType', input.campaignType),
        targetSegment:
          input.targetSegment === undefined ? undefined : check.segment('input.targetSegment', input.targetSegment),
        startsAt: input.startsAt,
        endsAt: input.endsAt,
        sourceSystem: check.optionalText('input.sourceSystem', input.sourceSystem, 100),
      };
      const current = await existingCampaign(ctx, id);
      const startsAt = input.startsAt === undefined ? current.startsAt : input.startsAt;
      const endsAt = input.endsAt === undefined ? current.endsAt : input.endsAt;
      check.notBefore('input.endsAt', endsAt, startsAt, 'startsAt');
      try {
        return await ctx.db.campaign.update({ where: { tenantId_id: { tenantId, id } }, data });
      } catch (error) {
        throw mapPrismaError(error, 'Campaign');
      }
    },

    recordCampaignPerformance: async (_parent, { input }, ctx) => {
      const tenantId = check.requireTenant(ctx.viewer);
      const figures = {
        openRate: check.rate('input.openRate', input.openRate),
        clickRate: check.rate('input.clickRate', input.clickRate),
        conversionRate: check.rate('input.conversionRate', input.conversionRate),
        retentionImpact: check.rate('input.retentionImpact', input.retentionImpact),
        ...provenance(input),
      };
      const customerId = check.externalId('input.customerId', input.customerId);
      await existingCampaign(ctx, input.campaignId);
      const key = { tenantId, campaignId: input.campaignId, customerId };
      try {
        return await ctx.db.campaignPerformance.upsert({
          where: { tenantId_campaignId_customerId: key },
          create: { ...key, ...figures },
          update: figures,
        });
      } catch (error) {
        throw mapPrismaError(error, 'CampaignPerformance');
      }
    },
  },
};
