import { groupedLoader, keyedLoader } from '@hub/core/loaders';
import type { Viewer } from '@hub/core/viewer';
import type { ExpansionOpportunity, PrismaClient, RenewalForecast } from '@hub/store/sales';
import { opportunityScope, renewalScope } from './scope.js';

/**
 * Per-request DataLoaders over the tenant-scoped client. Every fetch by key goes through one of
 * these, so a page of N customers costs one statement per table, not N.
 */
export interface Loaders {
  opportunityById: ReturnType<typeof keyedLoader<string, ExpansionOpportunity>>;
  /** Opportunities per customer, ordered by id; connections filter and page over them in memory. */
  opportunitiesByCustomer: ReturnType<typeof groupedLoader<string, ExpansionOpportunity>>;
  renewalByCustomer: ReturnType<typeof keyedLoader<string, RenewalForecast>>;
}

export function createLoaders(db: PrismaClient, viewer: Viewer): Loaders {
  const opportunities = opportunityScope(viewer);
  const renewals = renewalScope(viewer);
  return {
    opportunityById: keyedLoader(
      (ids) => db.expansionOpportunity.findMany({ where: { AND: [opportunities, { id: { in: [...ids] } }] } }),
      (row) => row.id,
    ),
    opportunitiesByCustomer: groupedLoader(
      (ids) =>
        db.expansionOpportunity.findMany({
          where: { AND: [opportunities, { customerId: { in: [...ids] } }] },
          orderBy: { id: 'asc' },
        }),
      (row) => row.customerId,
    ),
    renewalByCustomer: keyedLoader(
      (ids) => db.renewalForecast.findMany({ where: { AND: [renewals, { customerId: { in: [...ids] } }] } }),
      (row) => row.customerId,
    ),
  };
}
