import type { Viewer } from '@hub/core/viewer';
import type { Prisma } from '@hub/store/sales';

/**
 * Row rules for sales data beyond the tenant (which the scoped client already enforces). Every
 * read — root lists, single lookups, per-customer loaders — ANDs these in, so the book-of-business
 * rule of issue 3 (a sales rep sees only their owners' rows) lands here once and holds on every path.
 * Until then every row of the tenant is visible.
 */
export function opportunityScope(_viewer: Viewer): Prisma.ExpansionOpportunityWhereInput {
  return {};
}

/** Same as opportunityScope, for renewal forecasts (their `ownerId` is the account owner). */
export function renewalScope(_viewer: Viewer): Prisma.RenewalForecastWhereInput {
  return {};
}
