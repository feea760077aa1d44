/**
 * `npm run bench:runtime`: the same hub run on tsx (TypeScript compiled on the fly, as in
 * development) and compiled (`npm run build:server`, plain node, as in production), side by side
 * in one run (issue 10 item 2: CPU per gateway request and per subgraph call, before and after).
 *
 * Two hubs over PostgreSQL with the demo data, both up for the whole run; bench:gateway's
 * workloads, load generator (its own process) and figures (CPU from /proc, subgraph calls from
 * `/metrics`); rounds alternate which hub goes first so that drift in the machine's load spreads
 * over both. Options: BENCH_SECONDS (default 5), BENCH_ROUNDS (default 2), BENCH_CONNECTIONS (16),
 * BENCH_WORKLOADS (default `distinct,hundred`).
 * Last line: `bench:runtime rps=<compiled/tsx, distinct> gateway_cpu=<compiled/tsx CPU per request>
 * subgraph_cpu=<compiled/tsx CPU per subgraph call>`.
 */
import { cpus, loadavg } from 'node:os';
import { DOMAINS } from '@hub/core/domains';
import { EnvReader } from '@hub/core/config';
import type { Runtime } from '@hub/core/process';
import { startHub, type Hub } from '../tests/support/hub.js';
import { buildServer } from './build-server.js';
import { startLoadGenerator } from './bench-gateway-client.js';
import type { LoadResult } from './bench-gateway-load.js';
import { cpuSeconds, median, subgraphCalls } from './bench-gateway-report.js';
import { buildWorkloads, type Workload } from './bench-gateway-workloads.js';

const read = new EnvReader();
const config = read.done({
  seconds: read.int('BENCH_SECONDS', 5, { min: 1 }),
  rounds: read.int('BENCH_ROUNDS', 2, { min: 1 }),
  connections: read.int('BENCH_CONNECTIONS', 16, { min: 1, max: 512 }),
  workloads: read.string('BENCH_WORKLOADS', 'distinct,hundred'),
});
const RUNTIMES: readonly Runtime[] = ['tsx', 'compiled'];

const { load, stop: stopLoad } = startLoadGenerator();

interface Running {
  hub: Hub;
  headers: Record<string, string>;
  workloads: Workload[];
  calls(): Promise<number>;
}

interface Figures {
  runtime: Runtime;
  workload: string;
  result: LoadResult;
  gatewayCpu: number;
  subgraphCpu: number;
  calls: number;
}

async function start(runtime: Runtime, wanted: readonly string[]): Promise<Running> {
  const hub = await startHub({
    runtime,
    gatewayEnv: { HUB_LIMITS_ROLES: JSON.stringify({ admin: { requestsPerWindow: 1e9, costPerWindow: 1e12 } }) },
  });
  const token = await hub.token({ tenant: 'acme', roles: ['admin'], sub: 'u1', expiresIn: '6h' });
  const workloads = (
    await buildWorkloads(
      async (query, variables) => {
        const answer = await hub.query(query, variables, token);
        if (!answer.data || answer.errors) throw new Error(`setup query failed: ${JSON.stringify(answer.errors)}`);
        return answer.data;
      },
      { distinct: 200 },
    )
  ).filter((w) => wanted.includes(w.name));
  const metricsUrls = DOMAINS.map((d) => hub.subgraphs[d].metricsUrl ?? '');
  const calls = async () =>
    (await Promise.all(metricsUrls.map(async (url) => subgraphCalls(await hub.scrapeMetrics(url))))).reduce(
      (a, b) => a + b,
      0,
    );
  return { hub, headers: { authorization: `Bearer ${token}` }, workloads, calls };
}

const hubs: Partial<Record<Runtime, Running>> = {};
try {
  console.log(
    `bench:runtime: ${String(cpus().length)} x ${cpus()[0]?.model ?? '?'}, Node ${process.version}, load average ${loadavg()
      .map((n) => n.toFixed(1))
      .join(' ')}`,
  );
  const built = await buildServer();
  console.log(`built the processes in ${String(built.ms)} ms; starting a hub on each runtime…`);
  const wanted = config.workloads.split(',').map((w) => w.trim());
  for (const runtime of RUNTIMES) hubs[runtime] = await start(runtime, wanted);
  const figures: Figures[] = [];
  for (let round = 0; round < config.rounds; round++) {
    const order = round % 2 === 0 ? RUNTIMES : [...RUNTIMES].reverse();
    for (const name of wanted) {
      for (const runtime of order) {
        const running = hubs[runtime];
        const workload = running?.workloads.find((w) => w.name === name);
        if (!running || !workload) throw new Error(`no workload ${name}`);
        const job = {
          url: running.hub.gatewayUrl,
          headers: running.headers,
          bodies: workload.bodies,
          connections: config.connections,
        };
        if (round === 0) await load({ ...job, seconds: 2 }); // warm-up: JIT, pools, plan caches
        const gatewayPid = [running.hub.gateway.child.pid ?? 0];
        const subgraphPids = DOMAINS.map((d) => running.hub.subgraphs[d].child.pid ?? 0);
        const before = {
          gateway: cpuSeconds(gatewayPid),
          subgraphs: cpuSeconds(subgraphPids),
          calls: await running.calls(),
        };
        const result = await load({ ...job, seconds: config.seconds });
        figures.push({
          runtime,
          workload: name,
          result,
          gatewayCpu: cpuSeconds(gatewayPid) - before.gateway,
          subgraphCpu: cpuSeconds(subgraphPids) - before.subgraphs,
          calls: (await running.calls()) - before.calls,
        });
        console.log(
          `  round ${String(round + 1)} ${name.padEnd(9)} ${runtime.padEnd(9)} ${result.rps.toFixed(1).padStart(8)} RPS  p99 ${result.p99.toFixed(0)} ms`,
        );
      }
    }
  }
  const of = (runtime: Runtime, workload: string) =>
    figures.filter((f) => f.runtime === runtime && f.workload === workload);
  const perRequest = (runs: Figures[]) =>
    (1000 * runs.reduce((n, f) => n + f.gatewayCpu, 0)) /
    runs.reduce((n, f) => n + f.result.ok + f.result.graphqlErrors, 0);
  const perCall = (runs: Figures[]) =>
    (1000 * runs.reduce((n, f) => n + f.subgraphCpu, 0)) / runs.reduce((n, f) => n + f.calls, 0);
  console.log(
    '\n| workload | runtime | RPS | p50 ms | p99 ms | gateway CPU ms/request | subgraph CPU ms/call | failed | GraphQL errors |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const workload of wanted)
    for (const runtime of RUNTIMES) {
      const runs = of(runtime, workload);
      console.log(
        `| ${workload} | ${runtime} | ${median(runs.map((f) => f.result.rps)).toFixed(1)} | ${median(runs.map((f) => f.result.p50)).toFixed(1)} | ` +
          `${median(runs.map((f) => f.result.p99)).toFixed(1)} | ${perRequest(runs).toFixed(2)} | ${perCall(runs).toFixed(2)} | ` +
          `${String(runs.reduce((n, f) => n + f.result.failed, 0))} | ${String(runs.reduce((n, f) => n + f.result.graphqlErrors, 0))} |`,
      );
    }
  const first = wanted[0] ?? 'distinct';
  const ratio = (pick: (runs: Figures[]) => number) => pick(of('compiled', first)) / pick(of('tsx', first));
  console.log(
    `load average at the end ${loadavg()
      .map((n) => n.toFixed(1))
      .join(' ')}`,
  );
  console.log(
    `bench:runtime rps=${ratio((runs) => median(runs.map((f) => f.result.rps))).toFixed(2)} gateway_cpu=${ratio(perRequest).toFixed(2)} subgraph_cpu=${ratio(perCall).toFixed(2)}`,
  );
} finally {
  stopLoad();
  for (const running of Object.values(hubs)) await running.hub.stop();
}
