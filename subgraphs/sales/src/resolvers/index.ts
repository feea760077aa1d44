import type { Resolvers } from '../generated/resolvers-types.js';
import { customerResolvers } from './customer.js';
import { opportunityResolvers } from './opportunity.js';
import { renewalResolvers } from './renewal.js';

/** All resolvers of the sales subgraph, one file per type family. */
export const resolvers: Resolvers = {
  Query: { ...opportunityResolvers.Query, ...renewalResolvers.Query },
  Mutation: { ...opportunityResolvers.Mutation, ...renewalResolvers.Mutation },
  Customer: customerResolvers.Customer,
  Opportunity: opportunityResolvers.Opportunity,
  RenewalForecast: renewalResolvers.RenewalForecast,
};
