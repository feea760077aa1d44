/**
 * Figures of `npm run bench:gateway`: CPU seconds of processes from /proc, subgraph calls from the
 * subgraphs' Prometheus text, and the printed table (medians over the rounds).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { LoadResult } from './bench-gateway-load.js';
import type { Workload } from './bench-gateway-workloads.js';

export interface Measurement {
  readonly workload: string;
  readonly target: string;
  readonly round: number;
  readonly result: LoadResult;
  /** CPU seconds (user + system) of the target's process during the measurement. */
  readonly gatewayCpu: number;
  /** CPU seconds of the seven subgraph processes together. */
  readonly subgraphCpu: number;
}

const TICKS_PER_SECOND = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

/** utime + stime of each pid (fields 14 and 15 of /proc/<pid>/stat, after the parenthesised name). */
export function cpuSeconds(pids: readonly number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    const stat = readFileSync(`/proc/${String(pid)}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks / TICKS_PER_SECOND;
}

/** GraphQL HTTP requests a subgraph has served, from its `/metrics`. */
export function subgraphCalls(metrics: string): number {
  let total = 0;
  for (const line of metrics.split('\n'))
    if (line.startsWith('hub_http_request_duration_seconds_count{') && line.includes('route="/graphql"'))
      total += Number(line.slice(line.lastIndexOf(' ') + 1));
  return total;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] ?? Number.NaN) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

const LABELS: Record<string, string> = {
  hub: 'hub gateway',
  'hub-entity': 'hub gateway, response cache off',
  'hub-nocache': 'hub gateway, both caches off',
  apollo: 'Apollo Gateway 2.14',
  hive: 'Hive Gateway (JS planner)',
  'hive-rust': 'Hive + Rust planner',
  floor: 'floor (no gateway)',
};

const fixed = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : '–');

/** `callsPerRequest`: HTTP requests to the subgraphs' `/graphql` per request, by `<workload>/<target>`. */
export function printTable(
  workloads: readonly Workload[],
  measurements: readonly Measurement[],
  callsPerRequest: Readonly<Record<string, number>>,
): void {
  console.log(
    '\n| workload | target | RPS | vs Apollo | vs floor | p50 ms | p99 ms | gateway CPU s | subgraphs CPU s | gateway CPU ms/req | subgraphs CPU ms/req | subgraph calls/req | failed | GraphQL errors |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const workload of workloads) {
    const of = (target: string) => measurements.filter((m) => m.workload === workload.name && m.target === target);
    const rps = (target: string) => median(of(target).map((m) => m.result.rps));
    for (const target of Object.keys(LABELS)) {
      const runs = of(target);
      if (runs.length === 0) continue;
      const sum = (pick: (m: Measurement) => number) => runs.reduce((n, m) => n + pick(m), 0);
      const requests = sum((m) => m.result.ok + m.result.graphqlErrors);
      console.log(
        `| ${workload.name} | ${LABELS[target] ?? target} | ${fixed(rps(target))} | ${fixed(rps(target) / rps('apollo'), 2)}x | ${fixed(rps(target) / rps('floor'), 2)}x | ` +
          `${fixed(median(runs.map((m) => m.result.p50)))} | ${fixed(median(runs.map((m) => m.result.p99)))} | ` +
          `${fixed(sum((m) => m.gatewayCpu) / runs.length)} | ${fixed(sum((m) => m.subgraphCpu) / runs.length)} | ` +
          `${fixed((1000 * sum((m) => m.gatewayCpu)) / requests, 2)} | ${fixed((1000 * sum((m) => m.subgraphCpu)) / requests, 2)} | ` +
          `${fixed(callsPerRequest[`${workload.name}/${target}`] ?? Number.NaN, 1)} | ${String(sum((m) => m.result.failed))} | ${String(sum((m) => m.result.graphqlErrors))} |`,
      );
    }
  }
  console.log(
    'RPS, p50, p99: medians over rounds; CPU s: mean per measurement; per request: over all rounds; subgraph calls: ' +
      'up to 10 of the bodies sent one at a time (calls a subgraph makes to another included). "floor (no gateway)": ' +
      "the subgraph calls Apollo Gateway made for the same requests, made directly (its gateway CPU is the replaying client's).",
  );
  for (const workload of workloads)
    console.log(`  ${workload.name}: ${workload.title} (${String(workload.bodies.length)} distinct bodies)`);
}
