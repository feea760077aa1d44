import type { Resolvers } from '../generated/resolvers-types.js';
import { apiKeyResolvers } from './apiKey.js';
import { contactResolvers } from './contact.js';
import { customerResolvers } from './customer.js';

/** All resolvers of the customers subgraph, one file per type family. */
export const resolvers: Resolvers = {
  Query: { ...customerResolvers.Query, ...contactResolvers.Query, ...apiKeyResolvers.Query },
  Mutation: { ...customerResolvers.Mutation, ...contactResolvers.Mutation, ...apiKeyResolvers.Mutation },
  Customer: customerResolvers.Customer,
  Contact: contactResolvers.Contact,
  ApiKey: apiKeyResolvers.ApiKey,
};
