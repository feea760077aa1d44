import { loadSchema, startSubgraph, type SubgraphConfig, type SubgraphDefinition } from '@hub/core/subgraph';
import { PrismaClient } from '@hub/store/health';
import { createLoaders, type Loaders } from './loaders.js';
import { resolvers } from './resolvers/index.js';
import { consumers } from './consumers.js';
import { jobs } from './jobs.js';
import { healthCheck } from './reconcile.js';
import { seedDemo } from './seed.js';
import { customerKeys, sync } from './sync.js';

/** The health subgraph: current health scores and their history, extending Customer. */
export const subgraph: SubgraphDefinition<PrismaClient, Loaders> = {
  name: 'health',
  typeDefs: loadSchema(import.meta.url, '../schema.graphql'),
  resolvers,
  PrismaClient,
  createLoaders,
  customerKeys,
  // The consumers' inputs (per customer, from the other domains' events) are no graph type, so not
  // a customer key; an erasure removes them too.
  erasure: { models: { HealthInputRow: 'customerId' } },
  // Health is computed; the one hand-set value is an admin's override, recorded as such (override.ts).
  permissions: {
    'Mutation.overrideHealth': ['admin'],
    'Mutation.clearHealthOverride': ['admin'],
  },
  seedDemo,
  sync,
  consumers,
  jobs,
  // The reconcile job's third check: stored health against the formula over the stored inputs.
  reconcile: [healthCheck],
};

export function start(config: Partial<SubgraphConfig> = {}) {
  return startSubgraph(subgraph, config);
}
