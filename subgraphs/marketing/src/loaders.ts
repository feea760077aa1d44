import { rowSpec } from '@hub/core/columns';
import { groupedLoader, keyedLoader } from '@hub/core/loaders';
import type { Viewer } from '@hub/core/viewer';
import { Prisma } from '@hub/store/marketing';
import type {
  AttributionAnalysis,
  HealthCampaignTrigger,
  Campaign,
  CampaignPerformance,
  CustomerJourney,
  CustomerSegment,
  JourneyStageEntry,
  PrismaClient,
} from '@hub/store/marketing';

/** Aggregate performance of one campaign (one row of a GROUP BY campaignId). */
export interface CampaignAggregate {
  campaignId: string;
  customerCount: number;
  openRate: number | null;
  clickRate: number | null;
  conversionRate: number | null;
  retentionImpact: number | null;
}

/**
 * What `CustomerJourney` reads of its row (@hub/core/columns): the fields whose resolvers are not
 * one column each (resolvers/journey.ts), and the columns they read.
 */
const JOURNEY = rowSpec({
  type: 'CustomerJourney',
  columns: Prisma.CustomerJourneyScalarFieldEnum,
  computed: { customer: [], stageHistory: [], nextStagePrediction: ['targetStage', 'predictedDate', 'readinessScore'] },
});

/** Averages of 0–1 rates, to four decimals: more digits are noise to a reader. */
function round4(value: number | null): number | null {
  return value === null ? null : Math.round(value * 10_000) / 10_000;
}

/**
 * Per-request DataLoaders over the tenant-scoped client. Every fetch by key goes through one of
 * these, so a page of N customers costs one statement per table, not N.
 */
export interface Loaders {
  journeyByCustomer: ReturnType<typeof keyedLoader<string, CustomerJourney>>;
  /** Stage history per customer, oldest entry first. */
  stageEntriesByCustomer: ReturnType<typeof groupedLoader<string, JourneyStageEntry>>;
  campaignById: ReturnType<typeof keyedLoader<string, Campaign>>;
  campaignAggregate: ReturnType<typeof keyedLoader<string, CampaignAggregate>>;
  /** Campaign performance per customer, ordered by id; connections page over it in memory. */
  performanceByCustomer: ReturnType<typeof groupedLoader<string, CampaignPerformance>>;
  segmentByCustomer: ReturnType<typeof keyedLoader<string, CustomerSegment>>;
  attributionByCustomer: ReturnType<typeof keyedLoader<string, AttributionAnalysis>>;
  healthTriggersByCustomer: ReturnType<typeof keyedLoader<string, HealthCampaignTrigger>>;
}

// Row rules need no filter here: `db` is the viewer-scoped client (tenant and row scope on every
// query); the viewer parameter is the subgraph kit's fixed signature.
export function createLoaders(db: PrismaClient, _viewer: Viewer): Loaders {
  return {
    // The rows carry the selected columns only; their type says the whole row.
    journeyByCustomer: keyedLoader(
      (ids, select) =>
        db.customerJourney.findMany({ where: { customerId: { in: [...ids] } }, select }) as Promise<CustomerJourney[]>,
      (row) => row.customerId,
      JOURNEY,
    ),
    stageEntriesByCustomer: groupedLoader(
      (ids) =>
        db.journeyStageEntry.findMany({
          where: { customerId: { in: [...ids] } },
          orderBy: [{ entryDate: 'asc' }, { createdAt: 'asc' }, { id: 'asc' }],
        }),
      (row) => row.customerId,
    ),
    campaignById: keyedLoader(
      (ids) => db.campaign.findMany({ where: { id: { in: [...ids] } } }),
      (row) => row.id,
    ),
    campaignAggregate: keyedLoader(
      async (ids) => {
        const groups = await db.campaignPerformance.groupBy({
          by: ['campaignId'],
          where: { campaignId: { in: [...ids] } },
          _count: { _all: true },
          _avg: { openRate: true, clickRate: true, conversionRate: true, retentionImpact: true },
        });
        return groups.map((group) => ({
          campaignId: group.campaignId,
          customerCount: group._count._all,
          openRate: round4(group._avg.openRate),
          clickRate: round4(group._avg.clickRate),
          conversionRate: round4(group._avg.conversionRate),
          retentionImpact: round4(group._avg.retentionImpact),
        }));
      },
      (row) => row.campaignId,
    ),
    performanceByCustomer: groupedLoader(
      (ids) => db.campaignPerformance.findMany({ where: { customerId: { in: [...ids] } }, orderBy: { id: 'asc' } }),
      (row) => row.customerId,
    ),
    segmentByCustomer: keyedLoader(
      (ids) => db.customerSegment.findMany({ where: { customerId: { in: [...ids] } } }),
      (row) => row.customerId,
    ),
    attributionByCustomer: keyedLoader(
      (ids) => db.attributionAnalysis.findMany({ where: { customerId: { in: [...ids] } } }),
      (row) => row.customerId,
    ),
    healthTriggersByCustomer: keyedLoader(
      (ids) => db.healthCampaignTrigger.findMany({ where: { customerId: { in: [...ids] } } }),
      (row) => row.customerId,
    ),
  };
}
