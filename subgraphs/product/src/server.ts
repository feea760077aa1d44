import { loadSchema, startSubgraph, type SubgraphConfig, type SubgraphDefinition } from '@hub/core/subgraph';
import { PrismaClient } from '@hub/store/product';
import { createLoaders, type Loaders } from './loaders.js';
import { mutationResolvers } from './resolvers/mutations.js';
import { queryResolvers } from './resolvers/queries.js';
import { seedDemo } from './seed.js';
import { jobs } from './jobs.js';
import { sync } from './sync.js';
import type { Resolvers } from './generated/resolvers-types.js';

const resolvers: Resolvers = { ...queryResolvers, ...mutationResolvers };

/** The product subgraph: feature usage per period and adoption metrics; writes through the sync pipeline. */
export const subgraph: SubgraphDefinition<PrismaClient, Loaders> = {
  name: 'product',
  typeDefs: loadSchema(import.meta.url, '../schema.graphql'),
  resolvers,
  PrismaClient,
  createLoaders,
  customerKeys: { FeatureUsage: 'customerId', AdoptionMetrics: 'customerId', UsageDailyRollup: 'customerId' },
  seedDemo,
  sync,
  jobs,
};

export function start(config?: Partial<SubgraphConfig>) {
  return startSubgraph(subgraph, config);
}
