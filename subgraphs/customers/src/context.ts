import type { SubgraphContext } from '@hub/core/subgraph';
import type { PrismaClient } from '@hub/store/customers';
import type { Loaders } from './loaders.js';

/** What every resolver of the customers subgraph receives; `db` is scoped to the viewer's tenant. */
export type Context = SubgraphContext<PrismaClient, Loaders>;
