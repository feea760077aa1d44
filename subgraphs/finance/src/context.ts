import type { SubgraphContext } from '@hub/core/subgraph';
import type { PrismaClient } from '@hub/store/finance';
import type { Loaders } from './loaders.js';

/** What every finance resolver receives; `db` is already scoped to the viewer's tenant. */
export type Context = SubgraphContext<PrismaClient, Loaders>;
