/**
 * `npm run bench:dos`: what the denial-of-service documents of tests/support/dos.ts cost
 * the gateway. Starts the hub on PostgreSQL (production mode, as tests/support/hub.ts does), then:
 *
 *  1. per document: HTTP status / error code, wall time, and the gateway process's CPU seconds
 *     (utime + stime from /proc/<pid>/stat) while it was answered;
 *  2. the latency of an ordinary request (README tour 1) alone, then while BENCH_ATTACKERS clients
 *     send the two 600-alias documents in a loop for BENCH_ATTACK_SECONDS.
 *
 * Every loop is bounded in count and time and talks only to 127.0.0.1.
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { EnvReader } from '@hub/core/config';
import { startHub, type Hub } from '../tests/support/hub.js';
import { ATTACK_DOCUMENTS, ORDINARY_QUERY } from '../tests/support/dos.js';

const read = new EnvReader();
const config = read.done({
  attackers: read.int('BENCH_ATTACKERS', 2, { min: 1, max: 8 }),
  attackSeconds: read.int('BENCH_ATTACK_SECONDS', 30, { min: 5, max: 300 }),
  requestTimeoutMs: read.int('BENCH_TIMEOUT_MS', 120_000, { min: 1000 }),
});

/** CPU seconds (user + system) the process has used so far. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function send(hub: Hub, query: string, token: string): Promise<{ status: number; code: string; ms: number }> {
  const t0 = performance.now();
  try {
    const response = await fetch(hub.gatewayUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query }),
      signal: AbortSignal.timeout(config.requestTimeoutMs),
    });
    const body = (await response.json()) as { errors?: { extensions?: { code?: string } }[] };
    return { status: response.status, code: body.errors?.[0]?.extensions?.code ?? '-', ms: performance.now() - t0 };
  } catch (error) {
    return { status: 0, code: error instanceof Error ? error.name : 'error', ms: performance.now() - t0 };
  }
}

function percentile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
}

async function ordinaryLatency(hub: Hub, token: string, until: () => boolean): Promise<number[]> {
  const durations: number[] = [];
  for (let i = 0; i < 10_000 && !until(); i++) durations.push((await send(hub, ORDINARY_QUERY, token)).ms);
  return durations;
}

const row = (cells: (string | number)[]) => `| ${cells.join(' | ')} |`;

async function main(): Promise<void> {
  const hub = await startHub();
  try {
    const pid = hub.gateway.child.pid ?? 0;
    const admin = await hub.token({ tenant: 'acme', roles: ['admin'] });
    const attacker = await hub.token({ tenant: 'acme', roles: ['cs_manager'], sub: 'u1', book: ['u1'] });
    for (let i = 0; i < 5; i++) await send(hub, ORDINARY_QUERY, admin); // warm-up

    console.log(row(['document', 'bytes', 'status', 'code', 'wall ms', 'gateway CPU s']));
    for (const doc of ATTACK_DOCUMENTS) {
      const cpu0 = cpuSeconds(pid);
      const result = await send(hub, doc.query, attacker);
      console.log(
        row([
          doc.name,
          doc.query.length,
          result.status,
          result.code,
          result.ms.toFixed(1),
          (cpuSeconds(pid) - cpu0).toFixed(2),
        ]),
      );
    }

    const quietEnd = performance.now() + 10_000;
    const quiet = await ordinaryLatency(hub, admin, () => performance.now() > quietEnd);
    const aliasDocs = ATTACK_DOCUMENTS.filter((doc) => doc.name.startsWith('600'));
    const attackEnd = performance.now() + config.attackSeconds * 1000;
    const answers = new Map<string, number>();
    const attackers = Array.from({ length: config.attackers }, async (_, a) => {
      for (let i = 0; i < 100_000 && performance.now() < attackEnd; i++) {
        const { status, code } = await send(hub, aliasDocs[(a + i) % aliasDocs.length]?.query ?? '', attacker);
        answers.set(`${status} ${code}`, (answers.get(`${status} ${code}`) ?? 0) + 1);
      }
    });
    const loaded = await ordinaryLatency(hub, admin, () => performance.now() > attackEnd);
    await Promise.all(attackers);
    console.log();
    console.log(row(['ordinary request (tour 1)', 'n', 'p50 ms', 'p95 ms', 'max ms']));
    for (const [label, values] of [
      ['alone', quiet],
      [`under ${config.attackers} attackers (${[...answers].map(([k, n]) => `${n} × ${k}`).join(', ')})`, loaded],
    ] as const) {
      console.log(
        row([
          label,
          values.length,
          percentile(values, 0.5).toFixed(1),
          percentile(values, 0.95).toFixed(1),
          Math.max(...values).toFixed(1),
        ]),
      );
    }
  } finally {
    await hub.stop();
  }
}

await main();
