/**
 * `npm run bench:gateway`: the hub's gateway beside plain Apollo Gateway 2.14, Hive Gateway (its
 * runtime 2.12, as in Hive Gateway 2.15) with its JavaScript planner and with Hive Router's Rust
 * planner, and the floor (the same subgraph calls made with no gateway), each its own process in
 * front of the same seven running subgraphs over PostgreSQL with the demo data
 * (tests/support/hub.ts). Peers: scripts/bench-gateway-peer.ts; workloads:
 * scripts/bench-gateway-workloads.ts; load: autocannon in its own process
 * (scripts/bench-gateway-load.ts).
 *
 * First every engine answers one request of each workload and the checks of federation features
 * our graph uses (compared with the hub's answers), then rounds: in each, every workload runs on
 * every target, the target order rotating per round so that drift in the machine's load spreads
 * over all. Figures are medians over rounds; CPU seconds from /proc/<pid>/stat of the gateway
 * process and of the seven subgraph processes; subgraph calls per request from the subgraphs'
 * `/metrics` (`hub_http_request_duration_seconds_count` of `/graphql`, so calls one subgraph
 * makes to another count too).
 *
 * Options: BENCH_SECONDS per measurement (default 5), BENCH_ROUNDS (default 2),
 * BENCH_CONNECTIONS (default 16), BENCH_DISTINCT customers drawn from (default 200), BENCH_TARGETS
 * (comma-separated subset of ALL_TARGETS; `hub,hub-entity,hub-nocache` compares the caches: both on as
 * shipped, the entity cache alone, none),
 * BENCH_WORKLOADS (comma-separated subset of small,hundred,distinct,mutations), BENCH_PROFILE
 * (comma-separated targets, or `subgraphs` for the seven subgraph processes, run under the
 * inspector's CPU profiler, scripts/bench-cpu-profile.mjs: each writes a `.cpuprofile` into
 * `.data/bench-profiles/<run>/<target>/` when it stops; open it in Chrome DevTools or speedscope. The
 * profiler costs CPU, so a profiled target's figures are not comparable with the others').
 * The full run of the README: BENCH_SECONDS=20 BENCH_ROUNDS=3.
 * Last line: `bench:gateway distinct=<hub/apollo RPS, distinct mix> identical=<hub/hive-rust RPS,
 * the lower of the two identical workloads> floor_p99=<hub p99 / floor p99, distinct mix>`.
 */
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import path from 'node:path';
import { DOMAINS, type Domain } from '@hub/core/domains';
import { EnvReader } from '@hub/core/config';
import { encodeKey } from '@hub/core/keys';
import { REPO_ROOT, spawnService, type ServiceProcess } from '@hub/core/process';
import { composeRepo } from '@hub/gateway/compose';
import { startHub, type Hub } from '../tests/support/hub.js';
import { checkEngines, printChecks } from './bench-gateway-checks.js';
import { startTimedRecorder, type FloorPlan } from './bench-gateway-record.js';
import { buildWorkloads, distinctBodies, type Workload } from './bench-gateway-workloads.js';
import { startLoadGenerator } from './bench-gateway-client.js';
import { cpuSeconds, median, printTable, subgraphCalls, type Measurement } from './bench-gateway-report.js';

const read = new EnvReader();
const config = read.done({
  seconds: read.int('BENCH_SECONDS', 5, { min: 1 }),
  rounds: read.int('BENCH_ROUNDS', 2, { min: 1 }),
  connections: read.int('BENCH_CONNECTIONS', 16, { min: 1, max: 512 }),
  distinct: read.int('BENCH_DISTINCT', 200, { min: 10 }),
});

export const ALL_TARGETS = ['hub', 'hub-entity', 'hub-nocache', 'apollo', 'hive', 'hive-rust', 'floor'] as const;
export type Target = (typeof ALL_TARGETS)[number];
/** `BENCH_TARGETS` (comma-separated) measures only these, e.g. `hub,hub-nocache` (caches on vs off). */
const TARGETS: readonly Target[] = (() => {
  const wanted = process.env['BENCH_TARGETS']?.split(',').map((t) => t.trim());
  if (!wanted) return ALL_TARGETS;
  const unknown = wanted.filter((t) => !(ALL_TARGETS as readonly string[]).includes(t));
  if (unknown.length > 0) throw new Error(`BENCH_TARGETS: unknown ${unknown.join(', ')} (${ALL_TARGETS.join(', ')})`);
  return ALL_TARGETS.filter((t) => wanted.includes(t));
})();

const WORKLOADS = process.env['BENCH_WORKLOADS']?.split(',').map((w) => w.trim());
const PROFILED = new Set(process.env['BENCH_PROFILE']?.split(',').map((t) => t.trim()) ?? []);
for (const target of PROFILED)
  if (target !== 'subgraphs' && !(ALL_TARGETS as readonly string[]).includes(target))
    throw new Error(`BENCH_PROFILE: unknown target ${target} (${ALL_TARGETS.join(', ')}, or subgraphs)`);
const profileDir = path.join(REPO_ROOT, '.data', 'bench-profiles', new Date().toISOString().replace(/[:.]/g, '-'));
/** The environment that makes `target`'s process write a CPU profile into its own directory on exit. */
const profileEnv = (target: Target | 'subgraphs'): Record<string, string> =>
  PROFILED.has(target)
    ? {
        // Node refuses --cpu-prof in NODE_OPTIONS; the preload starts the same profiler (inspector).
        NODE_OPTIONS:
          `${process.env['NODE_OPTIONS'] ?? ''} --import ${path.join(REPO_ROOT, 'scripts/bench-cpu-profile.mjs')}`.trim(),
        BENCH_PROFILE_DIR: path.join(profileDir, target),
      }
    : {};

let hub: Hub | undefined;
const started: ServiceProcess[] = [];
const { load, stop: stopLoad } = startLoadGenerator();

async function spawnPeer(running: Hub, peer: string, supergraphPath: string, extra: Record<string, string> = {}) {
  const service = await spawnService({
    name: peer,
    entry: 'scripts/bench-gateway-peer.ts',
    env: {
      NODE_ENV: 'production',
      BENCH_PEER: peer,
      SUPERGRAPH_PATH: supergraphPath,
      HUB_GATEWAY_PRIVATE_KEY: encodeKey(running.keys.gateway.privateKey),
      PORT: '0',
      ...extra,
    },
    readyMessage: 'peer ready',
    logFile: path.join(running.logDir, `${peer}.log`),
  });
  started.push(service);
  return service;
}

/** Records, through an Apollo Gateway composed against timed proxies, each body's subgraph calls. */
async function recordFloor(running: Hub, bodies: readonly string[], headers: Record<string, string>) {
  const recorder = await startTimedRecorder(
    Object.fromEntries(DOMAINS.map((domain) => [domain, running.subgraphs[domain].url])),
  );
  const supergraphPath = path.join(running.logDir, 'supergraph-recording.graphql');
  const composed = composeRepo({ outFile: supergraphPath, urlOf: (name) => recorder.urlOf(name) });
  if (!composed.ok) throw new Error(`composition failed:\n${composed.errors.join('\n')}`);
  const recording = await spawnPeer(running, 'apollo', supergraphPath);
  const plan: FloorPlan = {};
  try {
    for (const body of bodies) {
      plan[body] = await recorder.record(async () => {
        const response = await fetch(recording.url, { method: 'POST', headers, body });
        const answer = (await response.json()) as { errors?: unknown };
        if (!response.ok || answer.errors) throw new Error(`recording failed: ${JSON.stringify(answer).slice(0, 300)}`);
      });
    }
  } finally {
    await recording.stop();
    await recorder.stop();
  }
  const planPath = path.join(running.logDir, 'floor-plan.json');
  writeFileSync(planPath, JSON.stringify(plan));
  return planPath;
}

const t0 = Date.now();
try {
  const load0 = loadavg();
  console.log(
    `bench:gateway: ${String(cpus().length)} x ${cpus()[0]?.model ?? '?'}, Node ${process.version}, load average ${load0.map((n) => n.toFixed(1)).join(' ')}`,
  );
  console.log(
    `${String(config.seconds)} s per measurement, ${String(config.rounds)} rounds, ${String(config.connections)} connections. Starting the hub on PostgreSQL…`,
  );
  hub = await startHub({
    // The bench's admin sends tens of thousands of requests a minute: lift its rate budget (the
    // check itself still runs on every request, as in production).
    gatewayEnv: {
      HUB_LIMITS_ROLES: JSON.stringify({ admin: { requestsPerWindow: 1e9, costPerWindow: 1e12 } }),
      ...profileEnv('hub'),
    },
    // `subgraphs`: all seven, each writing `<pid>.cpuprofile` (the pids are printed below).
    subgraphEnv: profileEnv('subgraphs'),
  });
  const running = hub;
  const token = await running.token({ tenant: 'acme', roles: ['admin'], sub: 'u1', expiresIn: '6h' });
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${token}` };
  const allWorkloads: Workload[] = await buildWorkloads(
    async (query, variables) => {
      const response = await running.query(query, variables, token);
      if (!response.data || response.errors) throw new Error(`setup query failed: ${JSON.stringify(response.errors)}`);
      return response.data;
    },
    { distinct: config.distinct },
  );
  const workloads = allWorkloads.filter((w) => !WORKLOADS || WORKLOADS.includes(w.name));
  if (workloads.length === 0) throw new Error(`BENCH_WORKLOADS: none of ${allWorkloads.map((w) => w.name).join(', ')}`);
  const supergraphPath = path.join(running.logDir, 'supergraph.graphql');
  const bodies = distinctBodies(workloads);
  if (TARGETS.includes('floor'))
    console.log(`Recording the floor: ${String(bodies.length)} distinct requests through Apollo Gateway…`);
  const planPath = TARGETS.includes('floor') ? await recordFloor(running, bodies, headers) : '';

  const hubGateway = running.gateway;
  const spawn: Record<Target, () => Promise<ServiceProcess>> = {
    hub: async () => hubGateway,
    // The same gateway with its response cache off (the entity cache alone), and with both off
    // (HUB_ENTITY_CACHE=false turns the response cache off too), beside the default.
    'hub-entity': () => running.startGateway({ HUB_RESPONSE_CACHE: 'false', ...profileEnv('hub-entity') }),
    'hub-nocache': () => running.startGateway({ HUB_ENTITY_CACHE: 'false', ...profileEnv('hub-nocache') }),
    apollo: () => spawnPeer(running, 'apollo', supergraphPath, profileEnv('apollo')),
    hive: () => spawnPeer(running, 'hive', supergraphPath, profileEnv('hive')),
    'hive-rust': () => spawnPeer(running, 'hive-rust', supergraphPath, profileEnv('hive-rust')),
    floor: () => spawnPeer(running, 'floor', supergraphPath, { BENCH_FLOOR_PLAN: planPath, ...profileEnv('floor') }),
  };
  const processes = {} as Record<Target, ServiceProcess>;
  for (const target of TARGETS) processes[target] = await spawn[target]();
  console.log(`${String(Math.round((Date.now() - t0) / 1000))} s: hub started, floor recorded, peers running`);
  const engines = TARGETS.filter((t) => t !== 'floor');
  // The hub's gateway always runs (startHub): its answers are the reference even when it is not a target.
  const engineUrls = { hub: hubGateway.url, ...Object.fromEntries(engines.map((t) => [t, processes[t].url])) };
  printChecks(await checkEngines(engineUrls, allWorkloads, headers));

  const subgraphPids = DOMAINS.map((domain: Domain) => running.subgraphs[domain].child.pid ?? 0);
  if (PROFILED.size > 0)
    console.log(
      `CPU profiles into ${profileDir} (subgraph pids: ${DOMAINS.map((d, i) => `${d}=${String(subgraphPids[i])}`).join(' ')})`,
    );
  const metricsUrls = DOMAINS.map((domain: Domain) => running.subgraphs[domain].metricsUrl ?? '');
  const scrapeCalls = async () =>
    (await Promise.all(metricsUrls.map(async (url) => subgraphCalls(await running.scrapeMetrics(url))))).reduce(
      (a, b) => a + b,
      0,
    );
  /** Waits until no subgraph call is made for half a second: the previous run's abandoned requests are done. */
  const quiesce = async () => {
    for (let last = -1, deadline = Date.now() + 30_000; Date.now() < deadline;) {
      const now = await scrapeCalls();
      if (now === last) return;
      last = now;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  };
  // Subgraph calls per request: 10 requests (the workload's bodies spread over its pool) sent one at
  // a time, less the calls the hub makes meanwhile on its own (the gateway's periodic API-key
  // checks, event consumers), measured as a rate over an idle interval.
  await quiesce();
  const idleStart = { calls: await scrapeCalls(), at: Date.now() };
  await new Promise((resolve) => setTimeout(resolve, 3000));
  const idleRate = ((await scrapeCalls()) - idleStart.calls) / (Date.now() - idleStart.at);
  const callsPerRequest: Record<string, number> = {};
  for (const workload of workloads) {
    const n = workload.bodies.length;
    const sample = Array.from({ length: 10 }, (_, i) => workload.bodies[Math.floor((i * n) / 10) % n] ?? '');
    for (const target of TARGETS) {
      await quiesce();
      const before = { calls: await scrapeCalls(), at: Date.now() };
      for (const body of sample) await (await fetch(processes[target].url, { method: 'POST', headers, body })).text();
      const calls = (await scrapeCalls()) - before.calls - idleRate * (Date.now() - before.at);
      callsPerRequest[`${workload.name}/${target}`] = calls / sample.length;
    }
  }
  const measurements: Measurement[] = [];
  for (let round = 0; round < config.rounds; round++) {
    for (const workload of workloads) {
      const order = TARGETS.map((_, i) => TARGETS[(i + round) % TARGETS.length] ?? 'hub');
      for (const target of order) {
        const job = { url: processes[target].url, headers, bodies: workload.bodies, connections: config.connections };
        if (round === 0) await load({ ...job, seconds: 1 }); // warm-up: JIT, pools, plan caches
        await quiesce();
        const gatewayPid = processes[target].child.pid ?? 0;
        const before = {
          gateway: cpuSeconds([gatewayPid]),
          subgraphs: cpuSeconds(subgraphPids),
          calls: await scrapeCalls(),
        };
        const result = await load({ ...job, seconds: config.seconds });
        measurements.push({
          workload: workload.name,
          target,
          round,
          result,
          gatewayCpu: cpuSeconds([gatewayPid]) - before.gateway,
          subgraphCpu: cpuSeconds(subgraphPids) - before.subgraphs,
        });
        process.stdout.write(
          `  ${String(Math.round((Date.now() - t0) / 1000)).padStart(4)} s  round ${String(round + 1)} ${workload.name.padEnd(9)} ${target.padEnd(9)} ${result.rps.toFixed(1).padStart(8)} RPS  p99 ${result.p99.toFixed(0)} ms\n`,
        );
      }
    }
  }
  printTable(workloads, measurements, callsPerRequest);
  const at = (workload: string, target: Target, pick: (m: Measurement) => number) =>
    median(measurements.filter((m) => m.workload === workload && m.target === target).map(pick));
  const rps = (m: Measurement) => m.result.rps;
  const p99 = (m: Measurement) => m.result.p99;
  const distinct = at('distinct', 'hub', rps) / at('distinct', 'apollo', rps);
  const identical = Math.min(
    at('small', 'hub', rps) / at('small', 'hive-rust', rps),
    at('hundred', 'hub', rps) / at('hundred', 'hive-rust', rps),
  );
  const floorP99 = at('distinct', 'hub', p99) / at('distinct', 'floor', p99);
  console.log(
    `load average at the end ${loadavg()
      .map((n) => n.toFixed(1))
      .join(' ')}`,
  );
  console.log(
    `bench:gateway distinct=${distinct.toFixed(2)} identical=${identical.toFixed(2)} floor_p99=${floorP99.toFixed(2)}`,
  );
} finally {
  stopLoad();
  for (const service of started) await service.stop();
  await hub?.stop();
}
