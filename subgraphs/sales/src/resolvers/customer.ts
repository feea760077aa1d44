import type { Resolvers } from '../generated/resolvers-types.js';
import { parseOpportunityFilter } from './opportunity.js';
import { connectionFromList } from '@hub/core/pagination';

/** Sales' fields on the federated Customer; every one is read through a per-request loader. */
export const customerResolvers: Resolvers = {
  Customer: {
    // Customers owns the entity; sales only needs the key. Tenant isolation holds because every
    // field below reads through the tenant-scoped loaders (another tenant's id finds nothing).
    __resolveReference: (reference) => ({ id: reference.id }),
    opportunities: async (customer, args, ctx, info) => {
      const filter = parseOpportunityFilter(args.filter);
      const all = await ctx.loaders.opportunitiesByCustomer.load(customer.id, info);
      return connectionFromList(all.filter(filter.matches), args);
    },
    renewal: (customer, _args, ctx, info) => ctx.loaders.renewalByCustomer.load(customer.id, info),
    healthSignal: (customer, _args, ctx, info) => ctx.loaders.healthSignalByCustomer.load(customer.id, info),
  },
};
