/**
 * `npm run bench:otel`: what OpenTelemetry tracing (packages/core/src/tracing.ts) costs, side by
 * side in one run: the same workloads of `bench:gateway` (scripts/bench-gateway-workloads.ts)
 * through three gateway processes in front of the same seven subgraphs over PostgreSQL —
 *
 *   off       no OTLP endpoint: no SDK registered in the gateway, so no traceparent goes out;
 *   on 100 %  endpoint set, every request sampled (`OTEL_TRACES_SAMPLER=always_on`);
 *   on 10 %   endpoint set, `parentbased_traceidratio` 0.1.
 *
 * The subgraphs have the endpoint set with `OTEL_TRACES_SAMPLER=parentbased_always_off`: they trace
 * exactly the requests the gateway sampled and never start a trace of their own, so behind the
 * `off` gateway they make no recording span (their SDK is registered, though: a subgraph without
 * an endpoint has none; restarting seven subgraphs per configuration would cost minutes per run).
 * Spans go to an OTLP/HTTP sink in this process that drains and counts bytes.
 *
 * Rounds alternate the configurations (rotating order) so the machine's drifting load spreads over
 * all; figures are medians over rounds: RPS, p50, p99, CPU ms per request of the gateway and of the
 * seven subgraphs together, and the ratios to `off`.
 *
 * Options: BENCH_SECONDS per measurement (default 5), BENCH_ROUNDS (default 3), BENCH_CONNECTIONS
 * (default 16). Last line: `bench:otel on100=<RPS ratio to off, distinct mix> on10=<...>`.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, loadavg } from 'node:os';
import { EnvReader } from '@hub/core/config';
import { DOMAINS } from '@hub/core/domains';
import type { ServiceProcess } from '@hub/core/process';
import { startHub, type Hub } from '../tests/support/hub.js';
import { startLoadGenerator } from './bench-gateway-client.js';
import type { LoadResult } from './bench-gateway-load.js';
import { cpuSeconds, median } from './bench-gateway-report.js';
import { buildWorkloads } from './bench-gateway-workloads.js';

const read = new EnvReader();
const config = read.done({
  seconds: read.int('BENCH_SECONDS', 5, { min: 1 }),
  rounds: read.int('BENCH_ROUNDS', 3, { min: 1 }),
  connections: read.int('BENCH_CONNECTIONS', 16, { min: 1, max: 512 }),
});

const CONFIGS = ['off', 'on 100 %', 'on 10 %'] as const;
type Config = (typeof CONFIGS)[number];
const WORKLOADS = ['small', 'distinct'] as const;

// The sink: accepts OTLP/HTTP exports and counts what arrives (parsing would compete for the CPU).
let exportedBytes = 0;
const sink = createServer((req, res) => {
  req.on('data', (chunk: Buffer) => (exportedBytes += chunk.length));
  req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
});
await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
const endpoint = `http://127.0.0.1:${String((sink.address() as AddressInfo).port)}`;

const { load, stop: stopLoad } = startLoadGenerator();

interface Row {
  config: Config;
  workload: string;
  result: LoadResult;
  gatewayCpuMs: number;
  subgraphCpuMs: number;
  exportedKb: number;
}

let hub: Hub | undefined;
const t0 = Date.now();
try {
  console.log(
    `bench:otel: ${String(cpus().length)} x ${cpus()[0]?.model ?? '?'}, Node ${process.version}, load average ${loadavg()
      .map((n) => n.toFixed(1))
      .join(' ')}`,
  );
  console.log(
    `${String(config.seconds)} s per measurement, ${String(config.rounds)} rounds, ${String(config.connections)} connections. Starting the hub on PostgreSQL…`,
  );
  const limits = { HUB_LIMITS_ROLES: JSON.stringify({ admin: { requestsPerWindow: 1e9, costPerWindow: 1e12 } }) };
  // Batches every 500 ms (the SDK's default is 5 s), so each run's spans are counted in that run.
  const batching = { OTEL_BSP_SCHEDULE_DELAY: '500' };
  hub = await startHub({
    gatewayEnv: { ...limits, ...batching, OTEL_EXPORTER_OTLP_ENDPOINT: '' },
    subgraphEnv: { ...batching, OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_TRACES_SAMPLER: 'parentbased_always_off' },
  });
  const running = hub;
  const gateways: Record<Config, ServiceProcess> = {
    off: running.gateway,
    'on 100 %': await running.startGateway({ OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_TRACES_SAMPLER: 'always_on' }),
    'on 10 %': await running.startGateway({
      OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0.1',
    }),
  };
  const token = await running.token({ tenant: 'acme', roles: ['admin'], sub: 'u1', expiresIn: '6h' });
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${token}` };
  const workloads = (
    await buildWorkloads(
      async (query, variables) => {
        const response = await running.query(query, variables, token);
        if (!response.data || response.errors)
          throw new Error(`setup query failed: ${JSON.stringify(response.errors)}`);
        return response.data;
      },
      { distinct: 200 },
    )
  ).filter((w) => (WORKLOADS as readonly string[]).includes(w.name));
  const subgraphPids = DOMAINS.map((domain) => running.subgraphs[domain].child.pid ?? 0);
  const rows: Row[] = [];
  for (let round = 0; round < config.rounds; round++) {
    for (const workload of workloads) {
      const order = CONFIGS.map((_, i) => CONFIGS[(i + round) % CONFIGS.length] ?? 'off');
      for (const target of order) {
        const gateway = gateways[target];
        const job = { url: gateway.url, headers, bodies: workload.bodies, connections: config.connections };
        if (round === 0) await load({ ...job, seconds: 1 }); // warm-up: JIT, pools, plan caches
        // Let the previous run's batched spans leave before this one is measured.
        await new Promise((resolve) => setTimeout(resolve, 1000));
        const before = {
          gateway: cpuSeconds([gateway.child.pid ?? 0]),
          subgraphs: cpuSeconds(subgraphPids),
          bytes: exportedBytes,
        };
        const result = await load({ ...job, seconds: config.seconds });
        // The run's last batch leaves within the schedule delay (OTEL_BSP_SCHEDULE_DELAY below).
        await new Promise((resolve) => setTimeout(resolve, 1000));
        const answered = Math.max(1, result.ok + result.graphqlErrors);
        rows.push({
          config: target,
          workload: workload.name,
          result,
          gatewayCpuMs: ((cpuSeconds([gateway.child.pid ?? 0]) - before.gateway) * 1000) / answered,
          subgraphCpuMs: ((cpuSeconds(subgraphPids) - before.subgraphs) * 1000) / answered,
          exportedKb: (exportedBytes - before.bytes) / 1024 / result.seconds,
        });
        process.stdout.write(
          `  ${String(Math.round((Date.now() - t0) / 1000)).padStart(4)} s  round ${String(round + 1)} ${workload.name.padEnd(9)} ${target.padEnd(9)} ${result.rps.toFixed(1).padStart(8)} RPS  p99 ${result.p99.toFixed(0)} ms${result.failed + result.graphqlErrors > 0 ? `  (${String(result.failed)} failed, ${String(result.graphqlErrors)} with errors)` : ''}\n`,
        );
      }
    }
  }

  const at = (workload: string, target: Config, pick: (r: Row) => number) =>
    median(rows.filter((r) => r.workload === workload && r.config === target).map(pick));
  console.log(
    '\n| workload | tracing | RPS | p50 ms | p99 ms | RPS / off | p99 / off | gateway CPU ms/req | subgraphs CPU ms/req | exported KB/s |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|');
  for (const workload of workloads) {
    const offRps = at(workload.name, 'off', (r) => r.result.rps);
    const offP99 = at(workload.name, 'off', (r) => r.result.p99);
    for (const target of CONFIGS) {
      const rps = at(workload.name, target, (r) => r.result.rps);
      const p99 = at(workload.name, target, (r) => r.result.p99);
      console.log(
        `| ${workload.name} | ${target} | ${rps.toFixed(1)} | ${at(workload.name, target, (r) => r.result.p50).toFixed(0)} | ${p99.toFixed(0)} | ${(rps / offRps).toFixed(2)} | ${(p99 / offP99).toFixed(2)} | ${at(workload.name, target, (r) => r.gatewayCpuMs).toFixed(2)} | ${at(workload.name, target, (r) => r.subgraphCpuMs).toFixed(2)} | ${at(workload.name, target, (r) => r.exportedKb).toFixed(0)} |`,
      );
    }
  }
  const ratio = (target: Config) =>
    at('distinct', target, (r) => r.result.rps) / at('distinct', 'off', (r) => r.result.rps);
  console.log(
    `load average at the end ${loadavg()
      .map((n) => n.toFixed(1))
      .join(' ')}`,
  );
  console.log(`bench:otel on100=${ratio('on 100 %').toFixed(2)} on10=${ratio('on 10 %').toFixed(2)}`);
} finally {
  stopLoad();
  await hub?.stop();
  await new Promise<void>((resolve) => sink.close(() => resolve()));
}
