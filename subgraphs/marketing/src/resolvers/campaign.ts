import { afterIdWhere, paginate } from '@hub/core/pagination';
import { badUserInput, notFound } from '@hub/core/errors';
import type { Prisma } from '@hub/store/marketing';
import { randomBytes, randomUUID } from 'node:crypto';
import type { Context } from '../context.js';
import type { CampaignFilter, Resolvers } from '../generated/resolvers-types.js';
import {
  mapCampaignPerformance,
  type CreateCampaignPayload,
  type RecordCampaignPerformancePayload,
  type UpdateCampaignPayload,
} from '../sync.js';
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
      const { idempotencyKey, sourceSystem, ...fields } = input;
      const id = fields.id ?? `camp_${randomBytes(6).toString('hex')}`;
      // No key given: the engine derives one from the payload, so the same campaign sent again
      // (same id, same fields) replays; the same id with other fields is a CONFLICT (insert mode).
      const result = await ctx.sync.applyOne({
        kind: 'create_campaign',
        payload: { input: { ...fields, id } } satisfies CreateCampaignPayload,
        idempotencyKey,
        source: sourceSystem,
      });
      return ctx.db.campaign.findFirstOrThrow({
        where: { id: result.rows.find((row) => row.model === 'Campaign')?.id ?? '' },
      });
    },

    updateCampaign: async (_parent, { id, input }, ctx) => {
      const { idempotencyKey, sourceSystem, ...changes } = input;
      const current = await ctx.loaders.campaignById.load(id);
      if (current) {
        const startsAt = changes.startsAt === undefined ? current.startsAt : changes.startsAt;
        const endsAt = changes.endsAt === undefined ? current.endsAt : changes.endsAt;
        check.notBefore('input.endsAt', endsAt, startsAt, 'startsAt');
      }
      // Every call is a change of its own unless the caller names it: a repeated update applies again.
      const result = await ctx.sync.applyOne({
        kind: 'update_campaign',
        payload: { id, input: changes } satisfies UpdateCampaignPayload,
        idempotencyKey: idempotencyKey ?? randomUUID(),
        source: sourceSystem,
      });
      return ctx.db.campaign.findFirstOrThrow({
        where: { id: result.rows.find((row) => row.model === 'Campaign')?.id ?? '' },
      });
    },

    recordCampaignPerformance: async (_parent, { input }, ctx) => {
      const { idempotencyKey, sourceSystem, ...figures } = input;
      const payload = { input: figures } satisfies RecordCampaignPerformancePayload;
      // Input errors first, then the unknown campaign (NOT_FOUND), as this mutation always answered.
      mapCampaignPerformance(payload);
      await existingCampaign(ctx, input.campaignId);
      const result = await ctx.sync.applyOne({
        kind: 'record_campaign_performance',
        payload,
        idempotencyKey: idempotencyKey ?? randomUUID(),
        source: sourceSystem,
      });
      return ctx.db.campaignPerformance.findFirstOrThrow({
        where: { id: result.rows.find((row) => row.model === 'CampaignPerformance')?.id ?? '' },
      });
    },
  },
};
