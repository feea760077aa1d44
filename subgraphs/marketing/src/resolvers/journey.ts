import { dayKey } from '@hub/core/validate';
import { randomUUID } from 'node:crypto';
import { afterIdWhere, paginate } from '@hub/core/pagination';
import type { Prisma } from '@hub/store/marketing';
import type { Resolvers } from '../generated/resolvers-types.js';
import type { RecordJourneyStagePayload } from '../sync.js';
import * as check from '../validation.js';

/**
 * Runs `task` after every earlier task of the same key has settled. A journey move reads the open
 * stay before its event is applied; two concurrent moves of one customer would both close the same
 * stay and leave two current ones. This serializes them within the process (the subgraph runs as
 * one process per domain); see docs/design/sync-pipeline.md for the cross-process gap.
 */
const moveQueues = new Map<string, Promise<unknown>>();
function oneAtATime<T>(key: string, task: () => Promise<T>): Promise<T> {
  const previous = moveQueues.get(key) ?? Promise.resolve();
  const run = previous.then(task, task);
  const settled = run.catch(() => undefined);
  moveQueues.set(key, settled);
  void settled.then(() => {
    if (moveQueues.get(key) === settled) moveQueues.delete(key);
  });
  return run;
}

function hasAny(...values: unknown[]): boolean {
  return values.some((value) => value !== null && value !== undefined);
}

export const journeyResolvers: Resolvers = {
  Query: {
    journeys: (_parent, args, ctx) => {
      const where: Prisma.CustomerJourneyWhereInput = args.filter?.stage ? { currentStage: args.filter.stage } : {};
      return paginate(
        args,
        ({ take, afterId }) =>
          ctx.db.customerJourney.findMany({
            where: { ...where, ...afterIdWhere(afterId) },
            orderBy: { id: 'asc' },
            take,
          }),
        () => ctx.db.customerJourney.count({ where }),
      );
    },
  },

  CustomerJourney: {
    customer: (journey) => ({ id: journey.customerId }),
    stageHistory: (journey, _args, ctx) => ctx.loaders.stageEntriesByCustomer.load(journey.customerId),
    nextStagePrediction: (journey) =>
      journey.targetStage === null
        ? null
        : {
            targetStage: journey.targetStage,
            predictedDate: journey.predictedDate,
            readinessScore: journey.readinessScore,
          },
  },

  JourneyStageEntry: {
    successMetrics: (entry) =>
      hasAny(entry.completionRate, entry.timeToValueDays, entry.satisfactionScore)
        ? {
            completionRate: entry.completionRate,
            timeToValueDays: entry.timeToValueDays,
            satisfactionScore: entry.satisfactionScore,
          }
        : null,
    progressIndicators: (entry) =>
      hasAny(entry.featureAdoption, entry.engagementScore, entry.successMilestones)
        ? {
            featureAdoption: entry.featureAdoption,
            engagementScore: entry.engagementScore,
            successMilestones: entry.successMilestones,
          }
        : null,
  },

  Mutation: {
    recordJourneyStage: async (_parent, { input }, ctx) => {
      const tenantId = check.requireTenant(ctx.viewer);
      const { idempotencyKey, sourceSystem, ...move } = input;
      const customerId = check.externalId('input.customerId', move.customerId);
      const entryDate = move.entryDate ?? dayKey(check.today());
      // The move is decided from the stay open now, so moves of one customer run one after the other.
      return oneAtATime(`${tenantId}:${customerId}`, async () => {
        const open = await ctx.db.journeyStageEntry.findFirst({
          where: { customerId, current: true },
          orderBy: [{ entryDate: 'desc' }, { createdAt: 'desc' }],
        });
        const payload: RecordJourneyStagePayload = {
          input: { ...move, entryDate },
          open: open ? { stage: open.stage, entryDate: dayKey(open.entryDate) } : null,
        };
        const result = await ctx.sync.applyOne({
          kind: 'record_journey_stage',
          payload,
          // Every call is a move of its own unless the caller names it.
          idempotencyKey: idempotencyKey ?? randomUUID(),
          source: sourceSystem,
        });
        return ctx.db.customerJourney.findFirstOrThrow({
          where: { id: result.rows.find((row) => row.model === 'CustomerJourney')?.id ?? '' },
        });
      });
    },
  },
};
