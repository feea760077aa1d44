import { rowSpec } from '@hub/core/columns';
import { groupedLoader, keyedLoader } from '@hub/core/loaders';
import type { Viewer } from '@hub/core/viewer';
import {
  Prisma,
  type ExpansionOpportunity,
  type HealthSignal,
  type PrismaClient,
  type RenewalForecast,
} from '@hub/store/sales';

/**
 * What each served type reads of its row (@hub/core/columns): the fields whose resolvers are not
 * one column each, and the columns they read.
 */
const OPPORTUNITY = {
  type: 'Opportunity',
  columns: Prisma.ExpansionOpportunityScalarFieldEnum,
  computed: {
    customer: [],
    weightedValue: ['value', 'probability'],
    csContribution: ['csHealthScore', 'csSuccessEvidence', 'csRiskMitigation'],
  },
};
const OPPORTUNITY_ROW = rowSpec(OPPORTUNITY);
/** `Customer.opportunities`: a connection whose filter runs in memory over the columns it names. */
const OPPORTUNITY_PAGE = rowSpec({
  ...OPPORTUNITY,
  path: ['edges', 'node'],
  always: ['type', 'stage', 'ownerId', 'value', 'probability'],
});
const RENEWAL = rowSpec({
  type: 'RenewalForecast',
  columns: Prisma.RenewalForecastScalarFieldEnum,
  computed: { customer: [] },
});
const HEALTH_SIGNAL = rowSpec({ type: 'HealthSignal', columns: Prisma.HealthSignalScalarFieldEnum });

/**
 * Per-request DataLoaders over the tenant-scoped client. Every fetch by key goes through one of
 * these, so a page of N customers costs one statement per table, not N.
 */
export interface Loaders {
  opportunityById: ReturnType<typeof keyedLoader<string, ExpansionOpportunity>>;
  /** Opportunities per customer, ordered by id; connections filter and page over them in memory. */
  opportunitiesByCustomer: ReturnType<typeof groupedLoader<string, ExpansionOpportunity>>;
  renewalByCustomer: ReturnType<typeof keyedLoader<string, RenewalForecast>>;
  healthSignalByCustomer: ReturnType<typeof keyedLoader<string, HealthSignal>>;
}

// Row rules need no filter here: `db` is the viewer-scoped client (tenant and row scope on every
// query); the viewer parameter is the subgraph kit's fixed signature.
export function createLoaders(db: PrismaClient, _viewer: Viewer): Loaders {
  return {
    // The rows carry the selected columns only; their type says the whole row.
    opportunityById: keyedLoader(
      (ids, select) =>
        db.expansionOpportunity.findMany({ where: { id: { in: [...ids] } }, select }) as Promise<
          ExpansionOpportunity[]
        >,
      (row) => row.id,
      OPPORTUNITY_ROW,
    ),
    opportunitiesByCustomer: groupedLoader(
      (ids, select) =>
        db.expansionOpportunity.findMany({
          where: { customerId: { in: [...ids] } },
          orderBy: { id: 'asc' },
          select,
        }) as Promise<ExpansionOpportunity[]>,
      (row) => row.customerId,
      OPPORTUNITY_PAGE,
    ),
    renewalByCustomer: keyedLoader(
      (ids, select) =>
        db.renewalForecast.findMany({ where: { customerId: { in: [...ids] } }, select }) as Promise<RenewalForecast[]>,
      (row) => row.customerId,
      RENEWAL,
    ),
    healthSignalByCustomer: keyedLoader(
      (ids, select) =>
        db.healthSignal.findMany({ where: { customerId: { in: [...ids] } }, select }) as Promise<HealthSignal[]>,
      (row) => row.customerId,
      HEALTH_SIGNAL,
    ),
  };
}
