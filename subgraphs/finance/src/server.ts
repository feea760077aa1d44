import { loadSchema, startSubgraph, type SubgraphConfig, type SubgraphDefinition } from '@hub/core/subgraph';
import { PrismaClient } from '@hub/store/finance';
import { createLoaders, type Loaders } from './loaders.js';
import { mutationResolvers } from './resolvers/mutations.js';
import { queryResolvers } from './resolvers/queries.js';
import { seedDemo } from './seed.js';
import { jobs } from './jobs.js';
import { sync } from './sync.js';
import type { Resolvers } from './generated/resolvers-types.js';

const resolvers: Resolvers = { ...queryResolvers, ...mutationResolvers };

/** The finance subgraph: revenue attribution, value realization, financial health, invoices. */
export const subgraph: SubgraphDefinition<PrismaClient, Loaders> = {
  name: 'finance',
  typeDefs: loadSchema(import.meta.url, '../schema.graphql'),
  resolvers,
  PrismaClient,
  createLoaders,
  customerKeys: {
    RevenueAttribution: 'customerId',
    ValueRealization: 'customerId',
    FinancialHealth: 'customerId',
    Invoice: 'customerId',
    FinanceDailyRollup: 'customerId',
  },
  // Financial records outlive the customer (bookkeeping and tax law keep invoices and revenue
  // recognition for years): an erasure keeps them under the customer id, their personal fields
  // (none today: every field of both is INTERNAL) anonymised; the analytics rows go.
  erasure: {
    retain: {
      Invoice: 'financial record: invoices are kept for the statutory retention period (10 years)',
      RevenueAttribution: 'financial record: revenue recognition is kept for the statutory retention period',
    },
  },
  seedDemo,
  sync,
  jobs,
};

export function start(config?: Partial<SubgraphConfig>) {
  return startSubgraph(subgraph, config);
}
