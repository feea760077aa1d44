/**
 * `npx tsx scripts/bench-subgraph-calls.ts`: CPU per subgraph call of the customers subgraph, in one
 * process, without the gateway (issue 10 item 2: entity loaders' columns, per-request setup). The
 * subgraph runs in-process over a fresh PostgreSQL database with the demo data (encryption on, as in
 * production); calls are signed like the gateway's: an entity fetch of 10 customers' `name tier`
 * (what the gateway asks customers for a page of another domain) and a root page of 10 customers,
 * alternating, 4 in flight. CPU is the whole process's (the client's signing and fetch included, the
 * same whatever the subgraph does), so compare runs of this script, e.g. main's checkout against a
 * branch's, back to back.
 *
 * Options: BENCH_CALLS (default 3000), BENCH_CONCURRENCY (default 4).
 *
 * `BENCH_SCOPES_BOOK=5000 npx tsx scripts/bench-subgraph-calls.ts`: instead, the per-request scope
 * path of a viewer with a book of that many customers (a cs_manager in sales, reads and writes in
 * its book), as the subgraph's context runs it: the directory's `scope` (its one query answered by a
 * stub with fresh id strings each call, as the driver gives them, so only the CPU around it
 * counts), `requestScopes` twice (the client's and the sync engine's) and `forScopes`; µs per call
 * of each. Imported by relative path, so the script copied into a checkout of another commit
 * measures that commit. BENCH_SCOPES_CALLS (default 2000).
 */
import { EnvReader } from '@hub/core/config';
import { GATEWAY_PRINCIPAL, devKeyPair } from '@hub/core/keys';
import { startSubgraph } from '@hub/core/subgraph';
import { createTestDatabase } from '@hub/core/testing';
import { createViewerSigner, REQUEST_ID_HEADER, VIEWER_HEADER, type Viewer } from '@hub/core/viewer';
import { loadavg } from 'node:os';
import { subgraph } from '../subgraphs/customers/src/server.js';

const read = new EnvReader();
const config = read.done({
  calls: read.int('BENCH_CALLS', 3000, { min: 10 }),
  concurrency: read.int('BENCH_CONCURRENCY', 4, { min: 1, max: 64 }),
  scopesBook: read.int('BENCH_SCOPES_BOOK', 0),
  scopesCalls: read.int('BENCH_SCOPES_CALLS', 2000, { min: 10 }),
});
const loadNow = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');

if (config.scopesBook > 0) {
  const { replicaDirectory } = await import('../packages/core/src/replica.js');
  const { requestScopes } = await import('../packages/core/src/authz.js');
  const { viewerClients } = await import('../prisma/src/tenant.js');
  const size = config.scopesBook;
  // Ids as long as the hub's (cuid-like), in byte order, as the replica's query gives them (COLLATE "C").
  const ids = Array.from({ length: size }, (_, i) => `c${String((i * 7919) % size).padStart(24, '0')}`).sort();
  let rows: { customer_id: string }[] = [];
  const sql = { query: async () => rows } as unknown as Parameters<typeof replicaDirectory>[0]['sql'];
  const directory = replicaDirectory({ sql, behind: async () => false });
  // A client stand-in: `$extends` runs only when a scope's client is first built.
  const clients = viewerClients({ $extends: () => ({}) }, { Opportunity: 'customerId' });
  const viewer: Viewer = { userId: 'm1', tenantId: 'acme', roles: ['cs_manager'], book: ['m1'], requestId: 'r' };
  const spent = { scope: 0, requestScopes: 0, forScopes: 0 };
  const run = async (calls: number) => {
    for (let i = 0; i < calls; i++) {
      // Fresh strings per call, as the driver parses them (not the same string objects every time).
      rows = ids.map((id) => ({ customer_id: Buffer.from(id).toString() }));
      const t0 = performance.now();
      const scoped = await directory.scope(viewer);
      const t1 = performance.now();
      const scopes = requestScopes(scoped, 'sales', false);
      requestScopes(scoped, 'sales', true);
      const t2 = performance.now();
      clients.forScopes(scopes);
      const t3 = performance.now();
      spent.scope += t1 - t0;
      spent.requestScopes += t2 - t1;
      spent.forScopes += t3 - t2;
    }
  };
  await run(200); // warm-up: JIT
  Object.assign(spent, { scope: 0, requestScopes: 0, forScopes: 0 });
  const before = loadNow();
  await run(config.scopesCalls);
  const us = (ms: number) => ((ms * 1000) / config.scopesCalls).toFixed(1);
  console.log(
    `bench:subgraph-calls scopes, book of ${size}, ${config.scopesCalls} calls: µs per call ` +
      `directory scope ${us(spent.scope)}, requestScopes x2 ${us(spent.requestScopes)}, ` +
      `forScopes ${us(spent.forScopes)} (${clients.size} clients kept; load average ${before} before, ${loadNow()} after)`,
  );
  process.exit(0);
}

const ENTITIES = `query($representations: [_Any!]!) { _entities(representations: $representations) { ... on Customer { name tier } } }`;
const PAGE = `query($after: String) { customers(first: 10, after: $after) { edges { node { id name tier } } } }`;

const database = await createTestDatabase('hub_t_bench_calls');
const running = await startSubgraph(subgraph, {
  port: 0,
  seedDemo: true,
  migrate: true,
  logLevel: 'warn',
  store: { kind: 'postgres', url: database.url, schema: 'customers' },
});
const signer = createViewerSigner({ issuer: GATEWAY_PRINCIPAL, privateKey: devKeyPair(GATEWAY_PRINCIPAL).privateKey });
let counter = 0;
async function call(query: string, variables: Record<string, unknown>): Promise<unknown> {
  const viewer: Viewer = { userId: 'u1', tenantId: 'acme', roles: ['admin'], book: [], requestId: `b-${++counter}` };
  const response = await fetch(running.url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      [VIEWER_HEADER]: signer.sign(viewer, 'customers', { query, variables }),
      [REQUEST_ID_HEADER]: viewer.requestId,
    },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: unknown; errors?: unknown[] };
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

try {
  const first = (await call(`{ customers(first: 200) { edges { cursor node { id } } } }`, {})) as {
    customers: { edges: { cursor: string; node: { id: string } }[] };
  };
  const ids = first.customers.edges.map((edge) => edge.node.id);
  const cursors = first.customers.edges.map((edge) => edge.cursor);
  const body = (i: number): [string, Record<string, unknown>] =>
    i % 2 === 0
      ? [
          ENTITIES,
          {
            representations: ids
              .slice((i * 5) % 190, ((i * 5) % 190) + 10)
              .map((id) => ({ __typename: 'Customer', id })),
          },
        ]
      : [PAGE, { after: cursors[(i * 7) % 190] }];
  const run = async (calls: number) => {
    let next = 0;
    await Promise.all(
      Array.from({ length: config.concurrency }, async () => {
        while (next < calls) await call(...body(next++));
      }),
    );
  };
  await run(Math.min(500, config.calls)); // warm-up: JIT, pools, the decrypted-value cache
  const load = loadNow();
  const cpu = process.cpuUsage();
  const started = performance.now();
  await run(config.calls);
  const used = process.cpuUsage(cpu);
  const wall = performance.now() - started;
  console.log(
    `bench:subgraph-calls ${config.calls} calls, ${config.concurrency} in flight: ` +
      `${((used.user + used.system) / config.calls / 1000).toFixed(3)} ms CPU per call, ` +
      `${(wall / config.calls).toFixed(3)} ms wall per call (load average ${load} before, ${loadNow()} after)`,
  );
} finally {
  await running.stop();
  await database.drop();
}
