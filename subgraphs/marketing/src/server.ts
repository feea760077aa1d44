import { loadSchema, startSubgraph, type SubgraphConfig, type SubgraphDefinition } from '@hub/core/subgraph';
import { PrismaClient } from '@hub/store/marketing';
import { createLoaders, type Loaders } from './loaders.js';
import { resolvers } from './resolvers/index.js';
import { consumers } from './consumers.js';
import { seedDemo } from './seed.js';
import { sync } from './sync.js';

/** The marketing subgraph: customer journeys, campaigns and their performance, segments, attribution. */
export const subgraph: SubgraphDefinition<PrismaClient, Loaders> = {
  name: 'marketing',
  typeDefs: loadSchema(import.meta.url, '../schema.graphql'),
  resolvers,
  PrismaClient,
  createLoaders,
  customerKeys: {
    Campaign: null,
    JourneyStageEntry: 'customerId',
    CustomerJourney: 'customerId',
    CampaignPerformance: 'customerId',
    CustomerSegment: 'customerId',
    AttributionAnalysis: 'customerId',
    HealthCampaignTrigger: 'customerId',
  },
  seedDemo,
  sync,
  consumers,
};

export function start(config: Partial<SubgraphConfig> = {}) {
  return startSubgraph(subgraph, config);
}
