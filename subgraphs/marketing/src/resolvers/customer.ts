import type { Resolvers } from '../generated/resolvers-types.js';
import { connectionFromList } from '@hub/core/pagination';

/** Marketing's fields on the federated Customer; every one is read through a per-request loader. */
export const customerResolvers: Resolvers = {
  Customer: {
    // Customers owns the entity; marketing only needs the key. Tenant isolation holds because
    // every field below reads through the tenant-scoped loaders (another tenant's id finds nothing).
    __resolveReference: (reference) => ({ id: reference.id }),
    journey: (customer, _args, ctx, info) => ctx.loaders.journeyByCustomer.load(customer.id, info),
    campaigns: async (customer, args, ctx) =>
      connectionFromList(await ctx.loaders.performanceByCustomer.load(customer.id), args),
    segment: async (customer, _args, ctx) => (await ctx.loaders.segmentByCustomer.load(customer.id))?.segment ?? null,
    attribution: (customer, _args, ctx) => ctx.loaders.attributionByCustomer.load(customer.id),
    healthTriggers: (customer, _args, ctx) => ctx.loaders.healthTriggersByCustomer.load(customer.id),
  },
};
