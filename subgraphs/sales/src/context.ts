import type { SubgraphContext } from '@hub/core/subgraph';
import type { PrismaClient } from '@hub/store/sales';
import type { Loaders } from './loaders.js';

/** What every resolver of the sales subgraph receives; `db` is scoped to the viewer's tenant. */
export type Context = SubgraphContext<PrismaClient, Loaders>;
