/**
 * `npx tsx gateway/bench/subgraph-fetch.ts`: cost of one signed subgraph fetch through
 * `HubDataSource`, with `@apollo/gateway`'s default fetcher (make-fetch-happen), undici's WHATWG
 * `fetch` over a pool (the gateway's fetcher before) and the pooled undici `request` fetcher the
 * gateway now uses, against the same tiny real HTTP subgraph. Prints wall time
 * and CPU per fetch (the gateway process's CPU: what the fetch stack costs it; the subgraph runs
 * in a child process).
 *
 * Options: BENCH_FETCHES (default 3000), BENCH_CONCURRENCY (default 8).
 */
import { fork } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Fetcher } from '@apollo/utils.fetcher';
import { Agent, fetch as undiciFetch } from 'undici';
import { EnvReader } from '@hub/core/config';
import { createLogger } from '@hub/core/logger';
import { devKeyPair, GATEWAY_PRINCIPAL } from '@hub/core/keys';
import { createViewerSigner } from '@hub/core/viewer';
import { HubDataSource } from '../src/datasource.js';
import { createSubgraphFetcher } from '../src/fetcher.js';
import { createSubgraphResilience } from '../src/resilience.js';

const read = new EnvReader();
const config = read.done({
  fetches: read.int('BENCH_FETCHES', 3000, { min: 100 }),
  concurrency: read.int('BENCH_CONCURRENCY', 8, { min: 1, max: 64 }),
});

// The subgraph runs in a child process, so the CPU measured here is the gateway side's alone.
if (process.argv[2] === 'subgraph') {
  const BODY = JSON.stringify({ data: { _entities: Array.from({ length: 100 }, (_, i) => ({ score: i })) } });
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(BODY));
  });
  server.listen(0, '127.0.0.1', () => process.send?.((server.address() as AddressInfo).port));
  process.on('disconnect', () => process.exit(0));
} else {
  await main();
}

async function main() {
  const child = fork(new URL(import.meta.url).pathname, ['subgraph'], { execArgv: ['--import', 'tsx'] });
  const port = await new Promise<number>((resolve) => child.once('message', (message) => resolve(Number(message))));
  const url = `http://127.0.0.1:${port}/graphql`;

  const log = createLogger('bench', 'silent');
  const signer = createViewerSigner({
    issuer: GATEWAY_PRINCIPAL,
    privateKey: devKeyPair(GATEWAY_PRINCIPAL).privateKey,
  });
  const viewer = {
    userId: 'u1',
    tenantId: 'acme',
    roles: ['admin' as const],
    book: [],
    requestId: 'b',
  };
  const query = 'query($r: [_Any!]!) { _entities(representations: $r) { ... on Customer { health { score } } } }';

  async function run(source: HubDataSource) {
    const call = () =>
      source.process({
        kind: 'incoming operation',
        request: { query, variables: { r: [] } },
        context: { viewer, requestId: 'b', log },
        incomingRequestContext: {},
        pathInIncomingRequest: [],
      } as never);
    for (let i = 0; i < 200; i++) await call(); // warm-up: JIT, sockets
    const cpu = process.cpuUsage();
    const started = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: config.concurrency }, async () => {
        while (next++ < config.fetches) {
          const result = await call();
          if (result.errors) throw new Error(JSON.stringify(result.errors));
        }
      }),
    );
    const wallMs = performance.now() - started;
    const used = process.cpuUsage(cpu);
    return { perSecond: config.fetches / (wallMs / 1000), cpuUs: (used.user + used.system) / config.fetches };
  }

  console.log(
    `${config.fetches} fetches per round, concurrency ${config.concurrency}, 100-entity JSON answer; median of 3 interleaved rounds`,
  );
  const fetcher = createSubgraphFetcher();
  const policy = createSubgraphResilience({
    timeoutMs: 5000,
    retries: 2,
    breakerFailures: 5,
    halfOpenAfterMs: 5000,
  }).forSubgraph('health');
  // What src/fetcher.ts used before it moved to undici's request API: the same pool, WHATWG fetch.
  const agent = new Agent({ connections: 64, keepAliveTimeout: 30_000 });
  const whatwg = {
    fetch: ((target, init) => undiciFetch(target, { ...init, dispatcher: agent })) as Fetcher,
    withSignal: <T>(_signal: AbortSignal, fn: () => Promise<T>) => fn(),
    close: () => agent.close(),
  };
  const variants: [string, HubDataSource][] = [
    ['make-fetch-happen (gateway default)', new HubDataSource({ name: 'health', url, signer, log })],
    ['undici fetch (WHATWG), no policy', new HubDataSource({ name: 'health', url, signer, log, fetcher: whatwg })],
    ['undici request, no policy', new HubDataSource({ name: 'health', url, signer, log, fetcher })],
    ['undici request + cockatiel policy', new HubDataSource({ name: 'health', url, signer, log, fetcher, policy })],
  ];
  const results = new Map<string, { perSecond: number; cpuUs: number }[]>();
  for (let round = 0; round < 3; round++) {
    for (const [label, source] of variants) results.set(label, [...(results.get(label) ?? []), await run(source)]);
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
  console.log('| fetcher                              | fetches/s | CPU µs/fetch |');
  console.log('|--------------------------------------|-----------|--------------|');
  for (const [label, rounds] of results) {
    console.log(
      `| ${label.padEnd(36)} | ${median(rounds.map((r) => r.perSecond))
        .toFixed(0)
        .padStart(9)} | ${median(rounds.map((r) => r.cpuUs))
        .toFixed(0)
        .padStart(12)} |`,
    );
  }
  await fetcher.close();
  await whatwg.close();
  child.disconnect();
}
