import type { Resolvers } from '../generated/resolvers-types.js';
import { queryResolvers } from './queries.js';
import { recordResolvers } from './record.js';

/** All resolvers of the health subgraph. */
export const resolvers: Resolvers = { ...queryResolvers, ...recordResolvers };
