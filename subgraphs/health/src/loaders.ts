import { rowSpec } from '@hub/core/columns';
import { distinct, groupedLoader, keyedLoader } from '@hub/core/loaders';
import type { Viewer } from '@hub/core/viewer';
import {
  Prisma,
  type HealthOverride,
  type HealthScore,
  type HealthSnapshot,
  type PrismaClient,
} from '@hub/store/health';

/**
 * What `CustomerHealth` reads of a health row (@hub/core/columns): its resolvers (resolvers/queries.ts)
 * that are not one column each, and the columns they read; the value types below it read the row itself.
 */
const CUSTOMER_HEALTH = rowSpec({
  type: 'CustomerHealth',
  columns: Prisma.HealthScoreScalarFieldEnum,
  computed: {
    customer: [],
    computedScore: ['score'],
    override: [],
    metrics: ['usageScore', 'engagementScore', 'supportSatisfaction', 'paymentStatus'],
    trend: ['trend30DayChange', 'riskIndicators', 'improvementAreas'],
    domainImpacts: [
      'marketingCampaignTriggers',
      'marketingSegment',
      'salesExpansionOpportunities',
      'salesRenewalConfidence',
      'productFeatureAdoptionFocus',
      'productBetaInterests',
    ],
  },
});

/** Key of a customer's history: `since` is part of it so different windows never share rows. */
export interface HistoryKey {
  customerId: string;
  /** ISO instant, or null for the whole history. */
  since: string | null;
}

/**
 * Per-request DataLoaders over the tenant-scoped client: a page of N customers costs one
 * statement per table.
 */
/** A snapshot tagged with the window it was loaded for. */
export type HistoryRow = HealthSnapshot & { since: string | null };

export interface Loaders {
  healthByCustomer: ReturnType<typeof keyedLoader<string, HealthScore>>;
  historyByCustomer: ReturnType<typeof groupedLoader<HistoryKey, HistoryRow>>;
  overrideByCustomer: ReturnType<typeof keyedLoader<string, HealthOverride>>;
}

async function loadHistory(db: PrismaClient, keys: readonly HistoryKey[]): Promise<HistoryRow[]> {
  // A request normally asks every customer for the same window, so this is one statement; a
  // different `since` per customer costs one statement per distinct window.
  const windows = distinct(keys.map((key) => key.since));
  const results = await Promise.all(
    windows.map(async (since) => {
      const customerIds = distinct(keys.filter((key) => key.since === since).map((key) => key.customerId));
      const rows = await db.healthSnapshot.findMany({
        where: { customerId: { in: customerIds }, ...(since ? { recordedAt: { gte: new Date(since) } } : {}) },
        orderBy: { id: 'asc' },
      });
      return rows.map((row) => ({ ...row, since }));
    }),
  );
  return results.flat();
}

// The viewer is unused until row rules by book of business arrive (issue 3).
export function createLoaders(db: PrismaClient, _viewer: Viewer): Loaders {
  return {
    // The rows carry the selected columns only; their type says the whole row.
    healthByCustomer: keyedLoader(
      (customerIds, select) =>
        db.healthScore.findMany({ where: { customerId: { in: [...customerIds] } }, select }) as Promise<HealthScore[]>,
      (row) => row.customerId,
      CUSTOMER_HEALTH,
    ),
    overrideByCustomer: keyedLoader(
      (customerIds) => db.healthOverride.findMany({ where: { customerId: { in: [...customerIds] } } }),
      (row) => row.customerId,
    ),
    historyByCustomer: groupedLoader(
      (keys) => loadHistory(db, keys),
      (row) => ({ customerId: row.customerId, since: row.since }),
    ),
  };
}
