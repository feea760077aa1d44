/**
 * `npm run bench`: read-path figures of the federated graph, each beside a baseline run in the
 * same process against the same stores (PostgreSQL on 127.0.0.1:5432, a fresh database):
 *
 *  1. federated   — 100 customers with fields from six subgraphs, through the gateway
 *     baseline    — the same 100 customers' own fields straight from the customers subgraph
 *     ratio       = the cost of federation (query planning, six subgraph fetches, merging)
 *  2. batched     — health of 100 customers in ONE `_entities` call (DataLoader: 1 SQL statement)
 *     baseline    — the same 100 customers as 100 `_entities` calls of one each (what N+1 costs)
 *
 * Options: BENCH_ITERATIONS (default 60), BENCH_CONCURRENCY (default 4).
 */
import { performance } from 'node:perf_hooks';
import { GATEWAY_PRINCIPAL } from '@hub/core/keys';
import { createViewerSigner, REQUEST_ID_HEADER, VIEWER_HEADER, type Viewer } from '@hub/core/viewer';
import { EnvReader } from '@hub/core/config';
import { startHub, type Hub } from '../tests/support/hub.js';

const read = new EnvReader();
const config = read.done({
  iterations: read.int('BENCH_ITERATIONS', 60, { min: 5 }),
  concurrency: read.int('BENCH_CONCURRENCY', 4, { min: 1, max: 64 }),
});

const FEDERATED = `query($first: Int!) { customers(first: $first) { edges { node { id name tier
  health { score } renewal { renewalProbability } adoption { overallAdoptionRate }
  journey { currentStage } supportSatisfaction { averageScore } finance { financialHealth { paymentStatus } } } } } }`;
const DIRECT = `query($first: Int!) { customers(first: $first) { edges { node { id name tier } } } }`;
const ENTITIES = `query($r: [_Any!]!) { _entities(representations: $r) { ... on Customer { health { score } } } }`;

interface Stats {
  p50: number;
  p95: number;
  perSecond: number;
}

async function measure(run: () => Promise<void>): Promise<Stats> {
  for (let i = 0; i < 5; i++) await run(); // warm-up: JIT, connection pools, query plans
  const durations: number[] = [];
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: config.concurrency }, async () => {
      while (next++ < config.iterations) {
        const t0 = performance.now();
        await run();
        durations.push(performance.now() - t0);
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  durations.sort((a, b) => a - b);
  const at = (q: number) => durations[Math.min(durations.length - 1, Math.floor(q * durations.length))] ?? 0;
  return { p50: at(0.5), p95: at(0.95), perSecond: durations.length / elapsed };
}

async function post(url: string, query: string, variables: object, headers: Record<string, string>): Promise<void> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { errors?: unknown[] };
  if (!response.ok || body.errors) throw new Error(`bench request failed: ${JSON.stringify(body).slice(0, 300)}`);
}

function row(name: string, stats: Stats, statements: number, baseline?: Stats): string {
  const ratio = baseline ? `${(stats.p50 / baseline.p50).toFixed(2)}x` : '';
  return `| ${name.padEnd(44)} | ${stats.p50.toFixed(1).padStart(7)} | ${stats.p95.toFixed(1).padStart(7)} | ${stats.perSecond.toFixed(1).padStart(7)} | ${String(statements).padStart(5)} | ${ratio.padStart(6)} |`;
}

let hub: Hub | undefined;
try {
  console.log(`Starting the hub on PostgreSQL (iterations ${config.iterations}, concurrency ${config.concurrency})…`);
  hub = await startHub();
  const running = hub;
  const token = await running.token({ tenant: 'acme', roles: ['admin'] });
  const signer = createViewerSigner({ issuer: GATEWAY_PRINCIPAL, privateKey: running.keys.gateway.privateKey });
  const viewer: Viewer = {
    userId: 'bench',
    tenantId: 'acme',
    roles: ['admin'],
    book: [],
    requestId: 'bench',
  };
  // Signed per request, as the gateway does: a viewer token is addressed to one subgraph and used once.
  const signedPost = (domain: 'customers' | 'health', query: string, variables: Record<string, unknown>) =>
    post(running.subgraphs[domain].url, query, variables, {
      [VIEWER_HEADER]: signer.sign(viewer, domain, { query, variables }),
      [REQUEST_ID_HEADER]: 'bench',
    });
  const ids = Array.from({ length: 100 }, (_, i) => `cust_${String(i + 1).padStart(5, '0')}`);
  const sum = (counts: Record<string, Record<string, number>>) =>
    Object.values(counts).reduce((n, perTable) => n + Object.values(perTable).reduce((a, b) => a + b, 0), 0);

  const federatedRun = () => post(running.gatewayUrl, FEDERATED, { first: 100 }, { authorization: `Bearer ${token}` });
  const directRun = () => signedPost('customers', DIRECT, { first: 100 });
  const batchedRun = () => signedPost('health', ENTITIES, { r: ids.map((id) => ({ __typename: 'Customer', id })) });
  const unbatchedRun = async () => {
    for (const id of ids) await signedPost('health', ENTITIES, { r: [{ __typename: 'Customer', id }] });
  };

  const federatedSql = sum(await running.countStatements(federatedRun));
  const directSql = sum(await running.countStatements(directRun));
  const batchedSql = sum(await running.countStatements(batchedRun));
  const unbatchedSql = sum(await running.countStatements(unbatchedRun));

  const direct = await measure(directRun);
  const federated = await measure(federatedRun);
  const unbatched = await measure(unbatchedRun);
  const batched = await measure(batchedRun);

  console.log('\n| scenario (100 customers)                     | p50 ms  | p95 ms  |  req/s  |  SQL  | ratio  |');
  console.log('|----------------------------------------------|---------|---------|---------|-------|--------|');
  console.log(row('baseline: customers subgraph alone', direct, directSql));
  console.log(row('federated: six subgraphs via the gateway', federated, federatedSql, direct));
  console.log(row('baseline: health, 100 _entities calls of 1', unbatched, unbatchedSql));
  console.log(row('batched: health, 1 _entities call of 100', batched, batchedSql, unbatched));
  console.log('\nratio = p50 of the row / p50 of the baseline above it. SQL = statements per request, all subgraphs.');
} finally {
  await hub?.stop();
}
