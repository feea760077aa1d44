/**
 * GraphQL Code Generator schema loader: the public API schema of the hub, i.e. the supergraph the
 * gateway serves minus every `@inaccessible` field, plus the gateway's own subscriptions. Composed here from the repo's subgraph SDL
 * (subgraphs/<d>/schema.graphql + packages/core/src/graphql/common.graphql, plus the sync SDL of a
 * domain that declares it, as the subgraph kit serves them), so operations are validated exactly
 * as the gateway will validate them.
 * It returns a parsed DocumentNode (plain data), not a GraphQLSchema: the federation packages are
 * CommonJS with their own graphql-js instance, and a schema object would cross the two.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { composeServices } from '@apollo/composition';
import { Supergraph, printSchema } from '@apollo/federation-internals';
import { parse } from 'graphql';
import { withoutClassification } from '../packages/core/src/classification.ts';
import { declaresSync, syncSdl } from '../packages/core/src/sync/sdl.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export default function loadHubApiSchema() {
  const common = readFileSync(path.join(ROOT, 'packages/core/src/graphql/common.graphql'), 'utf8');
  const sync = readFileSync(path.join(ROOT, 'packages/core/src/graphql/sync.graphql'), 'utf8');
  const events = readFileSync(path.join(ROOT, 'packages/core/src/graphql/events.graphql'), 'utf8');
  // The same SDL the subgraph kit serves (subgraphSdl): a domain declaring sync gets its sync fields.
  const sdlOf = (name) => {
    const own = readFileSync(path.join(ROOT, 'subgraphs', name, 'schema.graphql'), 'utf8');
    const shared = `${own}\n${common}\n${events}`;
    return declaresSync(name, own) ? `${shared}\n${sync}\n${syncSdl(name)}` : shared;
  };
  const services = readdirSync(path.join(ROOT, 'subgraphs'))
    .filter((name) => existsSync(path.join(ROOT, 'subgraphs', name, 'schema.graphql')))
    .sort()
    .map((name) => ({
      name,
      url: `http://${name}.invalid/graphql`,
      typeDefs: parse(sdlOf(name)),
    }));
  const result = composeServices(services);
  if (result.errors) {
    throw new Error(`the subgraphs do not compose:\n${result.errors.map((error) => error.message).join('\n')}`);
  }
  // Plus the gateway-owned Subscription type (gateway/src/live/schema.graphql), which the gateway
  // serves on the same API schema.
  const live = readFileSync(path.join(ROOT, 'gateway/src/live/schema.graphql'), 'utf8');
  // Its @classification directives are metadata (checked by codegen:check), not part of the API.
  return withoutClassification(
    parse(`${printSchema(Supergraph.build(result.supergraphSdl).apiSchema())}\n${live}`, { noLocation: true }),
  );
}
