import type { SubgraphContext } from '@hub/core/subgraph';
import type { PrismaClient } from '@hub/store/support';
import type { Loaders } from './loaders.js';

/** What every support resolver receives; `db` is already scoped to the viewer's tenant. */
export type Context = SubgraphContext<PrismaClient, Loaders>;
