/**
 * `npm run bench:authz`: what the field rules and PII masks of packages/core/src/authz.ts cost per
 * request, in-process (no HTTP, no SQL): 100 customers with 8 fields and 5 contacts each (email and
 * phone masked or not), executed bare and under `applyAuthorization` for viewers whose rules take
 * each path — a tenant-wide role (no row check), a book role (a row check per field), and a pair of
 * roles whose masks depend on the row. Also the per-request cost of `isMutationRequest` (the subgraph
 * kit parses the operation once more to pick the read scope of a mutation).
 *
 * Options: BENCH_ITERATIONS (default 300).
 */
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/index.js';
import { parse, type GraphQLSchema } from 'graphql';
import type * as GraphQL from 'graphql';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { applyAuthorization, isMutationRequest } from '@hub/core/authz';
import { EnvReader } from '@hub/core/config';
import type { Role, ScopedViewer } from '@hub/core/viewer';

// The CommonJS build of graphql, the one @apollo/subgraph builds the schema with (as in production).
const { graphql } = createRequire(import.meta.url)('graphql') as typeof GraphQL;
const read = new EnvReader();
const config = read.done({ iterations: read.int('BENCH_ITERATIONS', 300, { min: 10 }) });

const typeDefs = parse(/* GraphQL */ `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
  type Customer @key(fields: "id") {
    id: ID!
    name: String!
    tier: String
    industry: String
    ownerId: String
    segment: String
    region: String
    status: String
    contacts: [Contact!]!
  }
  type Contact {
    id: ID!
    customerId: ID!
    email: String!
    phone: String
  }
  type Query {
    customers: [Customer!]!
  }
`);

const ids = Array.from({ length: 100 }, (_, i) => `cust_${String(i + 1).padStart(5, '0')}`);
const rows = ids.map((id, i) => ({
  id,
  name: `Customer ${i}`,
  tier: 'gold',
  industry: 'saas',
  ownerId: i % 2 === 0 ? 'u1' : 'u2',
  segment: 'mid',
  region: 'emea',
  status: 'active',
  contacts: Array.from({ length: 5 }, (_, k) => ({
    id: `${id}_c${k}`,
    customerId: id,
    email: `person${k}@${id}.example`,
    phone: `+1 555 010 ${String(k).padStart(4, '0')}`,
  })),
}));
const resolvers = { Query: { customers: () => rows } };
const QUERY = '{ customers { id name tier industry ownerId segment region status contacts { id email phone } } }';

const viewer = (roles: Role[], customerIds: string[] | null): ScopedViewer => ({
  userId: 'bench',
  tenantId: 'acme',
  roles,
  book: [],
  customerIds,
  requestId: 'bench',
});
const half = ids.filter((_, i) => i % 2 === 0);

async function measure(schema: GraphQLSchema, who: ScopedViewer): Promise<{ p50: number; p95: number }> {
  const run = async () => {
    const result = await graphql({ schema, source: QUERY, contextValue: { viewer: who } });
    if (result.errors) throw new Error(result.errors[0]?.message);
  };
  for (let i = 0; i < 20; i++) await run();
  const durations: number[] = [];
  for (let i = 0; i < config.iterations; i++) {
    const t0 = performance.now();
    await run();
    durations.push(performance.now() - t0);
  }
  durations.sort((a, b) => a - b);
  const at = (q: number) => durations[Math.min(durations.length - 1, Math.floor(q * durations.length))] ?? 0;
  return { p50: at(0.5), p95: at(0.95) };
}

const bare = buildSubgraphSchema([{ typeDefs, resolvers: resolvers as GraphQLResolverMap<unknown> }]);
const authorized = applyAuthorization('customers', bare);
const scenarios: [string, GraphQLSchema, ScopedViewer][] = [
  ['no authorization (baseline)', bare, viewer(['admin'], null)],
  ['admin (tenant-wide)', authorized, viewer(['admin'], null)],
  ['marketing (tenant-wide, masked)', authorized, viewer(['marketing'], null)],
  ['cs_manager, book of 100', authorized, viewer(['cs_manager'], ids)],
  ['marketing + sales_rep, book of 50', authorized, viewer(['marketing', 'sales_rep'], half)],
];
console.log(`authorization layer, 100 customers x (8 fields + 5 contacts), ${config.iterations} runs each`);
console.log('| scenario | p50 ms | p95 ms | ratio |');
console.log('| --- | --- | --- | --- |');
let baseline = 0;
for (const [name, schema, who] of scenarios) {
  const { p50, p95 } = await measure(schema, who);
  baseline ||= p50;
  console.log(`| ${name} | ${p50.toFixed(2)} | ${p95.toFixed(2)} | ${(p50 / baseline).toFixed(2)}x |`);
}

// A subgraph fetch as the gateway sends it: the entity query of the federated bench read.
const body = {
  query:
    'query Q__health__1($representations:[_Any!]!){_entities(representations:$representations){...on Customer{health{score trend{thirtyDayChange riskIndicators}}}}}',
};
const mutation = { query: 'mutation M__sales__0($input:CreateOpportunityInput!){createOpportunity(input:$input){id}}' };
const rounds = 20_000;
for (const [name, request, expected] of [
  ['query', body, false],
  ['mutation', mutation, true],
] as const) {
  const t0 = performance.now();
  for (let i = 0; i < rounds; i++) if (isMutationRequest(request) !== expected) throw new Error(`misread ${name}`);
  console.log(`isMutationRequest, ${name}: ${(((performance.now() - t0) / rounds) * 1000).toFixed(2)} µs per request`);
}
