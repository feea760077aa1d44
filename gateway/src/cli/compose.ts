/**
 * `npm run compose [-- --out <file>] [--hints]`: composes the seven subgraph schemas into the supergraph
 * SDL that production serves (`SUPERGRAPH_PATH`). A composition error fails the build (exit 1).
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError } from '@hub/core/config';
import { DEFAULT_SUPERGRAPH_PATH, composeRepo } from '../compose.js';
import { loadGatewayConfig } from '../config.js';

const { values } = parseArgs({ options: { out: { type: 'string' }, hints: { type: 'boolean' } } });
const outFile = values.out !== undefined ? path.resolve(values.out) : DEFAULT_SUPERGRAPH_PATH;

let urls: Map<string, string>;
try {
  // Routing URLs come from the same SUBGRAPH_<NAME>_URL variables the gateway reads. Composing
  // is not serving, so production secrets are not needed here.
  const config = loadGatewayConfig({ ...process.env, NODE_ENV: 'development' });
  urls = new Map(config.subgraphs.map((subgraph) => [subgraph.name, subgraph.url]));
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`compose: ${error.message}\n`);
  process.exit(1);
}

const outcome = composeRepo({ outFile, urlOf: (name) => urls.get(name) ?? '' });
if (!outcome.ok) {
  process.stderr.write(`compose: composition failed with ${outcome.errors.length} error(s):\n`);
  for (const error of outcome.errors) process.stderr.write(`  - ${error}\n`);
  process.exit(1);
}
if (values.hints) {
  for (const hint of outcome.hints) process.stderr.write(`hint: ${hint}\n`);
} else if (outcome.hints.length > 0) {
  process.stderr.write(`compose: ${outcome.hints.length} composition hint(s); run with --hints to list them\n`);
}
process.stdout.write(`compose: wrote ${path.relative(process.cwd(), outFile)} (${urls.size} subgraphs)\n`);
