/**
 * `npm run bench:gateway:spec`: which Federation 2 features each engine of `npm run bench:gateway`
 * executes correctly, beyond those the hub's graph uses (which bench:gateway checks on the hub
 * itself). Four small subgraphs (@apollo/subgraph, real HTTP on port 0) exercise `@key` (single and
 * compound), `@requires`, `@provides`, `@shareable`, `@external`, interface entities
 * (`@interfaceObject`), `@override`, `@inaccessible` and `_entities` batching; each engine — Apollo
 * Gateway 2.14 (the hub's gateway runs it), Hive Gateway's runtime with its JavaScript planner and
 * with Hive Router's Rust planner — answers every case, compared with the expected answer. Also
 * counts the subgraph calls of the batching case.
 */
import { composeServices } from '@apollo/composition';
import { ApolloGateway } from '@apollo/gateway';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { startStandaloneServer } from '@apollo/server/standalone';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { createGatewayRuntime } from '@graphql-hive/gateway-runtime';
import { unifiedGraphHandler } from '@graphql-hive/router-runtime';
import { parse } from 'graphql';
import { canonicalJson } from '@hub/core/canonicalJson';
import { SPEC_CASES, SUBGRAPHS } from './bench-gateway-spec-graph.js';

const calls: Record<string, number> = {};
const counting = (name: string): ApolloServerPlugin => ({
  requestDidStart: async () => {
    calls[name] = (calls[name] ?? 0) + 1;
    return {};
  },
});

const servers: ApolloServer[] = [];
const services = [];
for (const subgraph of SUBGRAPHS) {
  const typeDefs = parse(subgraph.sdl);
  const server = new ApolloServer({
    schema: buildSubgraphSchema({ typeDefs, resolvers: subgraph.resolvers }),
    plugins: [counting(subgraph.name), ApolloServerPluginInlineTraceDisabled()],
  });
  const { url } = await startStandaloneServer(server, { listen: { port: 0, host: '127.0.0.1' } });
  servers.push(server);
  services.push({ name: subgraph.name, typeDefs, url });
}
const composed = composeServices(services);
if (composed.errors) throw new Error(`composition failed: ${composed.errors.map((e) => e.message).join('\n')}`);
const supergraphSdl = composed.supergraphSdl;

type Execute = (query: string) => Promise<unknown>;

async function apolloEngine(): Promise<{ execute: Execute; stop: () => Promise<void> }> {
  const server = new ApolloServer({ gateway: new ApolloGateway({ supergraphSdl }) });
  const { url } = await startStandaloneServer(server, { listen: { port: 0, host: '127.0.0.1' } });
  return { execute: (query) => post(url, query), stop: () => server.stop() };
}

function hiveEngine(rust: boolean): { execute: Execute; stop: () => Promise<void> } {
  const gateway = createGatewayRuntime({
    supergraph: supergraphSdl,
    // BENCH_PEER_LOG=error shows why a case failed (Hive masks errors to clients).
    logging: (process.env['BENCH_PEER_LOG'] as 'error' | undefined) ?? false,
    ...(rust ? { unifiedGraphHandler } : {}),
  });
  return {
    execute: async (query) =>
      (
        await gateway.fetch('http://gateway/graphql', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ query }),
        })
      ).json(),
    stop: async () => {
      await gateway.dispose();
    },
  };
}

async function post(url: string, query: string): Promise<unknown> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query }),
  });
  return response.json();
}

const engines: [string, () => Promise<{ execute: Execute; stop: () => Promise<void> }>][] = [
  ['Apollo Gateway 2.14', apolloEngine],
  ['Hive (JS planner)', () => Promise.resolve(hiveEngine(false))],
  ['Hive + Rust planner', () => Promise.resolve(hiveEngine(true))],
];
const results: Record<string, Record<string, string>> = {};
for (const [name, start] of engines) {
  const engine = await start();
  for (const specCase of SPEC_CASES) {
    for (const key of Object.keys(calls)) delete calls[key];
    let outcome: string;
    try {
      const answer = (await engine.execute(specCase.query)) as { data?: unknown; errors?: unknown[] };
      const expected = specCase.expect;
      outcome =
        expected === 'refused'
          ? answer.errors?.length && !answer.data
            ? 'yes'
            : `NO (${JSON.stringify(answer).slice(0, 100)})`
          : canonicalJson(answer) === canonicalJson({ data: expected })
            ? 'yes'
            : `NO (${JSON.stringify(answer).slice(0, 160)})`;
      if (specCase.calls && outcome === 'yes') {
        const made = calls[specCase.calls.subgraph] ?? 0;
        outcome =
          made === specCase.calls.count
            ? 'yes'
            : `NO (${String(made)} calls to ${specCase.calls.subgraph}, ${String(specCase.calls.count)} expected)`;
      }
    } catch (error) {
      outcome = `NO (${String(error).slice(0, 100)})`;
    }
    (results[specCase.name] ??= {})[name] = outcome;
  }
  await engine.stop();
}
for (const server of servers) await server.stop();

const names = engines.map(([name]) => name);
console.log(`| feature | ${names.join(' | ')} |`);
console.log(`|---|${names.map(() => '---').join('|')}|`);
for (const specCase of SPEC_CASES)
  console.log(
    `| ${specCase.name} | ${names.map((n) => (results[specCase.name]?.[n]?.startsWith('yes') ? 'yes' : 'NO')).join(' | ')} |`,
  );
for (const [feature, byEngine] of Object.entries(results))
  for (const [engine, outcome] of Object.entries(byEngine))
    if (outcome !== 'yes') console.log(`  ${engine}, ${feature}: ${outcome}`);
const passed = names.map(
  (n) => `${n} ${String(SPEC_CASES.filter((c) => results[c.name]?.[n] === 'yes').length)}/${String(SPEC_CASES.length)}`,
);
console.log(`bench:gateway:spec ${passed.join(', ')}`);
