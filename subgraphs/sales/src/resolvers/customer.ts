import type { Resolvers } from '../generated/resolvers-types.js';
import { parseOpportunityFilter } from './opportunity.js';
import { connectionFromList } from '@hub/core/pagination';

/** Sales' fields on the federated Customer; every one is read through a per-request loader. */
export const customerResolvers: Resolvers = {
  Customer: {
    // Customers owns the entity; sales only needs the key. Tenant isolation holds because every
    // field below reads through the tenant-scoped loaders (another tenant's id finds nothing).
    __resolveReference: (reference) => ({ id: reference.id }),
    opportunities: async (customer, args, ctx) => {
      const filter = parseOpportunityFilter(args.filter);
      const all = await ctx.loaders.opportunitiesByCustomer.load(customer.id);
      return connectionFromList(all.filter(filter.matches), args);
    },
    renewal: (customer, _args, ctx) => ctx.loaders.renewalByCustomer.load(customer.id),
    healthSignal: (customer, _args, ctx) => ctx.loaders.healthSignalByCustomer.load(customer.id),
  },
};
