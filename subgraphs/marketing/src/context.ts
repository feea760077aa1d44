import type { SubgraphContext } from '@hub/core/subgraph';
import type { PrismaClient } from '@hub/store/marketing';
import type { Loaders } from './loaders.js';

/** What every resolver of the marketing subgraph receives; `db` is scoped to the viewer's tenant. */
export type Context = SubgraphContext<PrismaClient, Loaders>;
