import type { Resolvers } from '../generated/resolvers-types.js';
import { queryResolvers } from './queries.js';
import { overrideResolvers } from './override.js';
import { recordResolvers } from './record.js';

/** All resolvers of the health subgraph. */
export const resolvers: Resolvers = {
  ...queryResolvers,
  Mutation: { ...recordResolvers.Mutation, ...overrideResolvers.Mutation },
};
