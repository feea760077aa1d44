import type { SubgraphContext } from '@hub/core/subgraph';
import type { PrismaClient } from '@hub/store/health';
import type { Loaders } from './loaders.js';

/** What every resolver of the health subgraph receives; `db` is scoped to the viewer's tenant. */
export type Context = SubgraphContext<PrismaClient, Loaders>;
