import { loadSchema, startSubgraph, type SubgraphConfig, type SubgraphDefinition } from '@hub/core/subgraph';
import { PrismaClient } from '@hub/store/customers';
import { createLoaders, type Loaders } from './loaders.js';
import { resolvers } from './resolvers/index.js';
import { seedDemo } from './seed.js';
import { sync } from './sync.js';

/** The customers subgraph: tenants, the Customer entity, contacts and account teams. */
export const subgraph: SubgraphDefinition<PrismaClient, Loaders> = {
  name: 'customers',
  typeDefs: loadSchema(import.meta.url, '../schema.graphql'),
  resolvers,
  PrismaClient,
  createLoaders,
  // API keys are the tenant admin's business alone; the matrix would also let cs_manager write here.
  permissions: {
    'Query.apiKeys': ['admin'],
    'Mutation.createApiKey': ['admin'],
    'Mutation.revokeApiKey': ['admin'],
    'ApiKey.*': ['admin'],
    'ApiKeyConnection.*': ['admin'],
    'ApiKeyEdge.*': ['admin'],
    'CreateApiKeyPayload.*': ['admin'],
    'Mutation.deleteCustomer': ['admin'],
    'Mutation.eraseCustomer': ['admin'],
    'Query.customerErasure': ['admin'],
    // The other domains' own call (service principals), filling a new store's customer replica.
    'Query._replicaSnapshot': ['service'],
    'ReplicaSnapshot.*': ['service'],
    'ReplicaCustomer.*': ['service'],
    'ReplicaGrant.*': ['service'],
  },
  customerKeys: { Tenant: null, Customer: 'id', Contact: 'customerId', OwnerAssignment: 'customerId', ApiKey: null },
  seedDemo,
  sync,
};

export function start(config: Partial<SubgraphConfig> = {}) {
  return startSubgraph(subgraph, config);
}
