import { loadSchema, startSubgraph, type SubgraphConfig, type SubgraphDefinition } from '@hub/core/subgraph';
import { PrismaClient } from '@hub/store/support';
import { createLoaders, type Loaders } from './loaders.js';
import { mutationResolvers } from './resolvers/mutations.js';
import { queryResolvers } from './resolvers/queries.js';
import { seedDemo } from './seed.js';
import { jobs } from './jobs.js';
import { sync } from './sync.js';
import type { Resolvers } from './generated/resolvers-types.js';

const resolvers: Resolvers = { ...queryResolvers, ...mutationResolvers };

/** The support subgraph: tickets and the satisfaction computed from them. */
export const subgraph: SubgraphDefinition<PrismaClient, Loaders> = {
  name: 'support',
  typeDefs: loadSchema(import.meta.url, '../schema.graphql'),
  resolvers,
  PrismaClient,
  createLoaders,
  customerKeys: { Ticket: 'customerId', SupportDailyRollup: 'customerId' },
  seedDemo,
  sync,
  jobs,
};

export function start(config?: Partial<SubgraphConfig>) {
  return startSubgraph(subgraph, config);
}
