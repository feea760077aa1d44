import { groupedLoader, keyedLoader } from '@hub/core/loaders';
import type { Viewer } from '@hub/core/viewer';
import type { ExpansionOpportunity, HealthSignal, PrismaClient, RenewalForecast } from '@hub/store/sales';

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
    opportunityById: keyedLoader(
      (ids) => db.expansionOpportunity.findMany({ where: { id: { in: [...ids] } } }),
      (row) => row.id,
    ),
    opportunitiesByCustomer: groupedLoader(
      (ids) =>
        db.expansionOpportunity.findMany({
          where: { customerId: { in: [...ids] } },
          orderBy: { id: 'asc' },
        }),
      (row) => row.customerId,
    ),
    renewalByCustomer: keyedLoader(
      (ids) => db.renewalForecast.findMany({ where: { customerId: { in: [...ids] } } }),
      (row) => row.customerId,
    ),
    healthSignalByCustomer: keyedLoader(
      (ids) => db.healthSignal.findMany({ where: { customerId: { in: [...ids] } } }),
      (row) => row.customerId,
    ),
  };
}
