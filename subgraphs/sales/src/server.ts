import { loadSchema, startSubgraph, type SubgraphConfig, type SubgraphDefinition } from '@hub/core/subgraph';
import { PrismaClient } from '@hub/store/sales';
import { createLoaders, type Loaders } from './loaders.js';
import { resolvers } from './resolvers/index.js';
import { consumers } from './consumers.js';
import { seedDemo } from './seed.js';
import { sync } from './sync.js';

/** The sales subgraph: expansion opportunities and renewal forecasts. */
export const subgraph: SubgraphDefinition<PrismaClient, Loaders> = {
  name: 'sales',
  typeDefs: loadSchema(import.meta.url, '../schema.graphql'),
  resolvers,
  PrismaClient,
  createLoaders,
  customerKeys: { ExpansionOpportunity: 'customerId', RenewalForecast: 'customerId', HealthSignal: 'customerId' },
  seedDemo,
  sync,
  consumers,
};

export function start(config: Partial<SubgraphConfig> = {}) {
  return startSubgraph(subgraph, config);
}
