/**
 * `npm run bench:live` (issue 9 item 8; a benchmark, not a test): commit -> subscriber latency of
 * live subscriptions, p50 and p99, at set event rates with N concurrent subscribers, on the
 * embedded default (`npm start`: PGlite stores, the outbox tails), on PostgreSQL with the embedded
 * bus, and on PostgreSQL + NATS JetStream (gateway tails on the streams), beside the bus round trip
 * as the floor (an in-process hand-off and a raw JetStream publish -> consume, same rates, same run).
 *
 * The subscribers (scripts/bench-live-clients.ts, their own process) are N graphql-ws connections,
 * each with `customerChanged(domains: [PRODUCT], customerIds: [one of BENCH_CUSTOMERS])` selecting
 * `cursor committedAt customer { id }` — so the payload is resolved through the federated graph per
 * event (customers subgraph, plus the probe of the product domain), shared by the subscribers of
 * one customer (same query, variables and scope). The producer sends the brief's usage lines to
 * `POST /sync/product` (the bulk import, committed through product's pipeline) every 50 ms, what
 * is due at the rate. Latency: the delivery's arrival at the client minus the event's
 * `committedAt` (the producing transaction's start, so it includes the transaction's own time).
 *
 * Options: BENCH_SUBSCRIBERS (1000), BENCH_CUSTOMERS (50), BENCH_RATES (events/s, `100,500,2000`),
 * BENCH_SECONDS per rate (10), BENCH_PATHS (`embedded,postgres,nats`), NATS_URL.
 * Last line: `bench:live p99_ms@<rate>=<embedded>/<postgres>/<nats> ... subscribers=<N>`.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { DEV_JWT_SECRET, EnvReader } from '@hub/core/config';
import { REPO_ROOT } from '@hub/core/process';
import { BRIEF_USAGE_ANALYTICS } from '../gateway/tests/syncFixtures.js';
import { launch, stop, type Launched } from '../tests/support/embedded.js';
import { startHub, type Hub } from '../tests/support/hub.js';
import { post, signToken } from '../tests/support/tokens.js';
import { inProcessFloor, natsFloor, offer, type LatencySummary } from './bench-stream.js';

const read = new EnvReader();
const config = read.done({
  subscribers: read.int('BENCH_SUBSCRIBERS', 1000, { min: 1 }),
  customers: read.int('BENCH_CUSTOMERS', 50, { min: 1, max: 500 }),
  rates: read
    .string('BENCH_RATES', '100,500,2000')
    .split(',')
    .map((r) => Number(r)),
  seconds: read.int('BENCH_SECONDS', 10, { min: 1 }),
  paths: read.string('BENCH_PATHS', 'embedded,postgres,nats').split(','),
  nats: read.string('NATS_URL', 'nats://127.0.0.1:4222'),
});
const PATHS = ['embedded', 'postgres', 'nats'] as const;
type PathName = (typeof PATHS)[number];
const TENANT = 'acme';

interface Target {
  readonly url: string;
  readonly token: string;
  stop(): Promise<void>;
}

async function startTarget(name: PathName): Promise<Target> {
  if (name === 'embedded') {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'bench-live-'));
    const launched: Launched = await launch(dataDir);
    return {
      url: launched.url,
      token: await signToken(DEV_JWT_SECRET, { tenant: TENANT, roles: ['admin'] }),
      async stop() {
        await stop(launched);
        await rm(dataDir, { recursive: true, force: true });
      },
    };
  }
  const nats: Record<string, string> =
    name === 'nats'
      ? { NATS_URL: config.nats, HUB_NATS_PREFIX: `BLIVE${randomBytes(4).toString('hex').toUpperCase()}` }
      : {};
  const hub: Hub = await startHub({ subgraphEnv: nats, gatewayEnv: nats });
  return { url: hub.gatewayUrl, token: await hub.token({ tenant: TENANT, roles: ['admin'] }), stop: () => hub.stop() };
}

const usage = BRIEF_USAGE_ANALYTICS.usage_analytics_sync;
let lineNo = 0;
/** A brief usage line of `customerId` for a month of its own, with a later source time than the last. */
function usageLine(customerId: string): string {
  const n = ++lineNo;
  const year = 3000 + Math.floor(n / 12);
  const mm = String((n % 12) + 1).padStart(2, '0');
  return JSON.stringify({
    usage_analytics_sync: {
      ...usage,
      customer_id: customerId,
      usage_period: `${year}-${mm}-01_to_${year}-${mm}-28`,
      sync_timestamp: new Date(Date.UTC(2026, 0, 1) + n * 1000).toISOString().replace('.000', ''),
    },
  });
}

/** The subscribers' process: requests are answered in order, one at a time. */
function clientsProcess() {
  const child: ChildProcess = fork(path.join(REPO_ROOT, 'scripts/bench-live-clients.ts'), [], {
    execArgv: ['--import', 'tsx'],
  });
  const ask = <T>(message: Record<string, unknown>) =>
    new Promise<T>((resolve) => {
      child.once('message', (answer) => resolve(answer as T));
      child.send(message);
    });
  return { ask, child };
}

interface Report {
  deliveries: number;
  p50: number;
  p99: number;
  max: number;
  minPerSubscriber: number;
  errors: number;
  firstError?: string;
}

interface Row {
  readonly path: string;
  readonly rate: number;
  readonly applied: number;
  readonly seconds: number;
  readonly expected: number;
  readonly report: Report;
}

async function runPath(name: PathName): Promise<Row[]> {
  const target = await startTarget(name);
  const rows: Row[] = [];
  const clients = clientsProcess();
  try {
    const page = await post<{ customers: { edges: { node: { id: string } }[] } }>(
      target.url,
      `{ customers(first: ${config.customers}) { edges { node { id } } } }`,
      {},
      target.token,
    );
    const ids = page.data?.customers.edges.map((e) => e.node.id) ?? [];
    if (ids.length === 0) throw new Error(`no customers of ${TENANT}: ${JSON.stringify(page.errors)}`);
    const syncUrl = `${new URL(target.url).origin}/sync/product`;
    const wsUrl = target.url.replace(/^http/, 'ws');
    let next = 0;
    let refused = 0;
    let firstRefusal: string | undefined;
    /** Sends `n` usage lines in one NDJSON request; answers how many were applied. */
    const sendLines = async (n: number): Promise<number> => {
      const body = Array.from({ length: n }, () => usageLine(ids[next++ % ids.length] ?? '')).join('\n');
      const response = await fetch(syncUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-ndjson', authorization: `Bearer ${target.token}` },
        body,
      });
      const answers = (await response.text())
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as { outcome?: string });
      const applied = answers.filter((a) => a.outcome === 'APPLIED').length;
      // Lines not applied (an overloaded subgraph's timeout, say) are counted and reported, not retried:
      // the measure is of what was committed.
      if (applied < n) {
        refused += n - applied;
        firstRefusal ??= `HTTP ${response.status}: ${JSON.stringify(answers.at(-1)).slice(0, 300)}`;
      }
      return applied;
    };

    await clients.ask({
      type: 'open',
      url: wsUrl,
      token: target.token,
      subscribers: config.subscribers,
      customerIds: ids,
    });
    // Warm-up: every customer changes until every subscriber has had an event (all subscribed).
    const warmUntil = Date.now() + 120_000;
    for (;;) {
      await sendLines(ids.length);
      await new Promise((r) => setTimeout(r, 1000));
      const report = await clients.ask<Report>({ type: 'report' });
      if (report.minPerSubscriber > 0) break;
      if (Date.now() > warmUntil)
        throw new Error(`subscribers never all received: ${JSON.stringify(report).slice(0, 500)}`);
    }
    for (const rate of config.rates) {
      await new Promise((r) => setTimeout(r, 2000));
      await clients.ask({ type: 'phase' });
      // A mark for whoever profiles the processes of this phase (the README's live section).
      console.log(`${name} @ ${rate}/s: offering for ${config.seconds} s`);
      let applied = 0;
      const seconds = await offer(
        rate,
        config.seconds,
        async (n) => {
          applied += await sendLines(n);
        },
        50,
      );
      // Every applied event reaches the subscribers of its customer (subscribers / customers each).
      const perCustomer = (i: number) => Math.ceil((config.subscribers - i) / ids.length);
      const expected = Array.from({ length: ids.length }, (_, i) => perCustomer(i)).reduce((a, b) => a + b, 0);
      const expectedDeliveries = Math.round((applied / ids.length) * expected);
      // Drain: until every delivery arrived, or nothing new came for 10 s.
      let report = await clients.ask<Report>({ type: 'report' });
      let last = report.deliveries;
      let quietSince = Date.now();
      while (report.deliveries < expectedDeliveries && Date.now() - quietSince < 10_000) {
        await new Promise((r) => setTimeout(r, 500));
        report = await clients.ask<Report>({ type: 'report' });
        if (report.deliveries > last) {
          last = report.deliveries;
          quietSince = Date.now();
        }
      }
      rows.push({ path: name, rate, applied, seconds, expected: expectedDeliveries, report });
      console.log(
        `${name} @ ${rate}/s: applied ${applied} in ${seconds.toFixed(1)} s (${(applied / seconds).toFixed(0)}/s), ` +
          `deliveries ${report.deliveries}/${expectedDeliveries}, p50 ${report.p50} ms, p99 ${report.p99} ms, max ${report.max} ms` +
          (report.errors ? `, errors ${report.errors}: ${report.firstError}` : '') +
          (refused ? `, lines not applied ${refused}: ${firstRefusal}` : ''),
      );
      refused = 0;
      firstRefusal = undefined;
    }
  } finally {
    await clients.ask({ type: 'close' }).catch(() => undefined);
    await target.stop();
  }
  return rows;
}

const floors: LatencySummary[] = [];
for (const rate of config.rates) {
  floors.push({ ...(await inProcessFloor(rate, Math.min(config.seconds, 5))), offered: rate });
  if (config.paths.includes('nats'))
    floors.push({ ...(await natsFloor(config.nats, rate, Math.min(config.seconds, 5))), offered: rate });
}
const rows: Row[] = [];
for (const name of PATHS) if (config.paths.includes(name)) rows.push(...(await runPath(name)));

console.log(
  `\nmachine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, load average ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}; ${config.subscribers} subscribers on ${config.customers} customers, ${config.seconds} s per rate\n`,
);
console.log('| path | offered events/s | applied events/s | deliveries (got / expected) | p50 ms | p99 ms | max ms |');
console.log('|---|---|---|---|---|---|---|');
for (const f of floors)
  console.log(
    `| ${f.path} | ${f.offered} | ${(f.events / f.seconds).toFixed(0)} | ${f.events} | ${f.p50.toFixed(2)} | ${f.p99.toFixed(2)} | |`,
  );
for (const r of rows)
  console.log(
    `| ${r.path} | ${r.rate} | ${(r.applied / r.seconds).toFixed(0)} | ${r.report.deliveries} / ${r.expected} | ${r.report.p50} | ${r.report.p99} | ${r.report.max} |`,
  );
const p99s = config.rates
  .map((rate) => {
    const of = (name: PathName) => rows.find((r) => r.path === name && r.rate === rate)?.report.p99 ?? NaN;
    return `p99_ms@${rate}=${PATHS.filter((p) => config.paths.includes(p))
      .map(of)
      .join('/')}`;
  })
  .join(' ');
console.log(`bench:live ${p99s} subscribers=${config.subscribers}`);
process.exit(0);
