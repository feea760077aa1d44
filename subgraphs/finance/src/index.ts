import { runSubgraph } from '@hub/core/subgraph';
import { subgraph } from './server.js';

await runSubgraph(subgraph);
