import { provenance } from '@hub/core/validate';
import { afterIdWhere, paginate } from '@hub/core/pagination';
import { badUserInput, mapPrismaError } from '@hub/core/errors';
import type { Prisma } from '@hub/store/marketing';
import type { RecordJourneyStageInput, Resolvers } from '../generated/resolvers-types.js';
import * as check from '../validation.js';

function hasAny(...values: unknown[]): boolean {
  return values.some((value) => value !== null && value !== undefined);
}

/** Validates a stage move up front, so a bad field fails before the transaction starts. */
function parseMove(input: RecordJourneyStageInput) {
  const metrics = input.closedStageMetrics;
  const progress = input.progressIndicators;
  const prediction = input.nextStagePrediction;
  const entryDate = input.entryDate ? check.calendarDate(input.entryDate) : check.today();
  const predictedDate = prediction?.predictedDate ? check.calendarDate(prediction.predictedDate) : null;
  check.notBefore('input.nextStagePrediction.predictedDate', predictedDate, entryDate, 'input.entryDate');
  return {
    customerId: check.externalId('input.customerId', input.customerId),
    stage: input.stage,
    entryDate,
    closed: {
      completionRate: check.rate('input.closedStageMetrics.completionRate', metrics?.completionRate ?? null),
      timeToValueDays: check.nonNegativeInt(
        'input.closedStageMetrics.timeToValueDays',
        metrics?.timeToValueDays ?? null,
      ),
      satisfactionScore: check.inRange(
        'input.closedStageMetrics.satisfactionScore',
        metrics?.satisfactionScore ?? null,
        1,
        5,
      ),
    },
    progress: {
      featureAdoption: check.rate('input.progressIndicators.featureAdoption', progress?.featureAdoption ?? null),
      engagementScore: check.inRange(
        'input.progressIndicators.engagementScore',
        progress?.engagementScore ?? null,
        0,
        10,
      ),
      successMilestones: check.nonNegativeInt(
        'input.progressIndicators.successMilestones',
        progress?.successMilestones ?? null,
      ),
    },
    prediction: {
      targetStage: prediction?.targetStage ?? null,
      predictedDate,
      readinessScore: check.rate('input.nextStagePrediction.readinessScore', prediction?.readinessScore ?? null),
    },
    source: {
      ...provenance(input),
    },
  };
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
      const move = parseMove(input);
      const { customerId } = move;
      try {
        return await ctx.db.$transaction(async (tx) => {
          // Serialize moves of one customer: two concurrent moves would otherwise both close the
          // same open entry and leave two current ones (also for a customer's first move, when
          // there is no journey row to lock yet).
          await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${`marketing:journey:${tenantId}:${customerId}`}, 0))`;
          const open = await tx.journeyStageEntry.findFirst({
            where: { customerId, current: true },
            orderBy: [{ entryDate: 'desc' }, { createdAt: 'desc' }],
          });
          if (open && move.entryDate < open.entryDate) {
            throw badUserInput(
              'input.entryDate',
              `must not be before the current stage's entry date ${open.entryDate.toISOString().slice(0, 10)}`,
            );
          }
          const sameStage = open?.stage === move.stage;
          if (open && sameStage) {
            // A repeated report of the current stage refreshes its progress instead of opening a duplicate.
            await tx.journeyStageEntry.update({ where: { id: open.id }, data: { ...move.progress, ...move.source } });
          } else {
            await tx.journeyStageEntry.updateMany({
              where: { customerId, current: true },
              data: { current: false, exitDate: move.entryDate, ...move.closed },
            });
            await tx.journeyStageEntry.create({
              data: {
                tenantId,
                customerId,
                stage: move.stage,
                entryDate: move.entryDate,
                current: true,
                ...move.progress,
                ...move.source,
              },
            });
          }
          const journey = { currentStage: move.stage, ...move.prediction, ...move.source };
          return tx.customerJourney.upsert({
            where: { tenantId_customerId: { tenantId, customerId } },
            create: { tenantId, customerId, stageSince: move.entryDate, ...journey },
            update: sameStage ? journey : { ...journey, stageSince: move.entryDate },
          });
        });
      } catch (error) {
        throw mapPrismaError(error, 'CustomerJourney');
      }
    },
  },
};
