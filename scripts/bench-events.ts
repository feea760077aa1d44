/**
 * `npm run bench:events` (issue 8 item 8): a usage event committed in product -> recomputed health
 * readable in the health store. Product's own pipeline commits usage events (BENCH_KIND:
 * `record_feature_usage`, one row each, default; or the brief's `usage_analytics_sync`, four rows)
 * for 500 customers at BENCH_RATE events/s for BENCH_SECONDS, every 10 ms what is due in one
 * transaction (see `offer`); the outbox relay publishes them; the bus carries them to
 * the `health.usage` consumer, which keeps the inputs and recomputes health through the health
 * pipeline (batched: `HUB_CONSUMER_BATCH`/`HUB_CONSUMER_LINGER_MS` semantics, BENCH_BATCH and
 * BENCH_LINGER_MS here). Latency: from the producing transaction's commit (its apply returned) to
 * the health consumer's commit (health readable); not from `committedAt`, which is the producing
 * transaction's start. In the same run, side by side:
 *   - floors without our code: an in-process hand-off (setImmediate) and a raw JetStream
 *     publish -> durable pull consume -> ack round trip on the same server;
 *   - our path in-process (embedded bus, PostgreSQL stores), over NATS (PostgreSQL stores) and on
 *     PGlite (embedded bus, `npm start`'s stores);
 *   - the baseline: the embedded path with batches of one (a transaction per event, as before
 *     batching) for BENCH_BASELINE_SECONDS (its backlog drains long after the offer ends);
 *   - the daily health recompute (scripts/bench-health-recompute.ts) for BENCH_RECOMPUTE customers
 *     (default 10,000; `--full` or BENCH_RECOMPUTE=100000 for the issue's 100,000).
 * Options: BENCH_RATE (2000), BENCH_SECONDS (10), BENCH_PATHS (`embedded,nats,pglite,baseline`),
 * BENCH_BATCH (256), BENCH_LINGER_MS (5), BENCH_BASELINE_SECONDS (2), BENCH_RECOMPUTE, NATS_URL.
 * Last line: `bench:events p99_ms=<embedded>/<nats> rate=<embedded>/<nats> recompute_100k_s=<s>`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import { EnvReader } from '@hub/core/config';
import { createEmbeddedBus } from '@hub/core/events/bus-embedded';
import { createNatsBus } from '@hub/core/events/bus-nats';
import { createConsumerRuntime } from '@hub/core/events/consumer';
import { startRelay } from '@hub/core/events/relay';
import type { BatchPolicy, EventBus } from '@hub/core/events/types';
import { createSyncPipeline } from '@hub/core/sync/engine';
import { createTestDatabase, type TestDatabase } from '@hub/core/testing';
import { migrationsDirFor, openStore, type StoreConfig } from '@hub/store';
import { PrismaClient as HealthClient } from '@hub/store/health';
import { PrismaClient as ProductClient } from '@hub/store/product';
import { healthConsumers } from '@hub/subgraph-health/src/consumers.js';
import { customerKeys as healthKeys, sync as healthSync } from '@hub/subgraph-health/src/sync.js';
import { subgraph as product } from '@hub/subgraph-product/src/server.js';
import { sync as productSync } from '@hub/subgraph-product/src/sync.js';
import { benchHealthRecompute } from './bench-health-recompute.js';
import { stageProbe } from './bench-events-stages.js';
import { pgCpuSeconds } from './bench-pg-cpu.js';
import { inProcessFloor, natsFloor, offer as offerAt, summarize, type LatencySummary } from './bench-stream.js';

const read = new EnvReader();
const full = process.argv.includes('--full');
const config = read.done({
  rate: read.int('BENCH_RATE', 2000, { min: 1 }),
  seconds: read.int('BENCH_SECONDS', 10, { min: 1 }),
  baselineSeconds: read.int('BENCH_BASELINE_SECONDS', 2, { min: 1 }),
  paths: read.string('BENCH_PATHS', 'embedded,nats,pglite,baseline').split(','),
  batch: read.int('BENCH_BATCH', 256, { min: 1 }),
  lingerMs: read.int('BENCH_LINGER_MS', 5, { min: 0 }),
  recompute: read.int('BENCH_RECOMPUTE', full ? 100_000 : 10_000, { min: 0 }),
  nats: read.string('NATS_URL', 'nats://127.0.0.1:4222'),
  kind: read.string('BENCH_KIND', 'record_feature_usage'),
});
const CUSTOMERS = 500;
const TENANT = 'bench';

interface Result extends LatencySummary {
  /** Consumer transactions (a batch each). */
  readonly batches?: number;
  /** Where the time went (bench-events-stages.ts), printed after the table. */
  readonly stages?: readonly string[];
  /** CPU per event applied over the run: this process (producer, relay, consumer) and PostgreSQL's backends. */
  readonly nodeUs?: number;
  readonly pgUs?: number | null;
  /** Share of the run Node's event loop was busy. */
  readonly busy?: number;
}

const summary = summarize;
const offer = (seconds: number, tick: (n: number) => Promise<void>) => offerAt(config.rate, seconds, tick);

/** The event number a usage event carries (its usage count, `usageCount: i` in `usageEvent`). */
function eventNumber(event: { payload: Record<string, unknown> }): number {
  const data = (event.payload as { data?: Record<string, unknown> }).data ?? {};
  if (typeof data['usageCount'] === 'number') return data['usageCount'];
  const features = data['featureUsage'] as { coreFeatures?: { usageCount?: number }[] } | undefined;
  return features?.coreFeatures?.[0]?.usageCount ?? NaN;
}

const customerOf = (i: number) => `cust_${String(i % CUSTOMERS).padStart(5, '0')}`;

/** A usage event for customer `i % 500`; its figures vary with `i`, so every event changes an input. */
function usageEvent(i: number, at: Date) {
  if (config.kind === 'record_feature_usage')
    return {
      kind: 'record_feature_usage',
      payload: {
        customerId: customerOf(i),
        periodStart: '2026-11-01',
        periodEnd: '2026-11-30',
        feature: ['email_campaigns', 'analytics_dashboard', 'api_integrations'][i % 3],
        category: i % 3 === 2 ? 'ADVANCED' : 'CORE',
        usageCount: i,
        adoptionScore: (i % 100) / 100,
        successCorrelation: 0.9,
        sourceUpdatedAt: at.toISOString(),
      },
    };
  // The brief's usage_analytics_sync: three features and an adoption record (four rows).
  return {
    kind: 'usage_analytics_sync',
    payload: {
      customerId: customerOf(i),
      usagePeriod: '2026-11-01_to_2026-11-30',
      featureUsage: {
        coreFeatures: [
          { feature: 'email_campaigns', usageCount: i, adoptionScore: 0.85, successCorrelation: 0.92 },
          { feature: 'analytics_dashboard', usageCount: 23, adoptionScore: 0.65, successCorrelation: 0.78 },
        ],
        advancedFeatures: [
          { feature: 'api_integrations', usageCount: 2, adoptionScore: 0.1, successCorrelation: 0.95 },
        ],
      },
      adoptionMetrics: {
        overallAdoptionRate: (i % 100) / 100,
        featureDiscoveryRate: 0.45,
        activationTime: '14_days',
        maturityLevel: 'intermediate',
      },
      successCorrelation: { highUsageHealth: 0.88, featureCompleteness: 0.65, roiAchievement: 0.92 },
      syncTimestamp: at.toISOString(),
    },
  };
}

type Kind = 'embedded' | 'nats' | 'pglite';

async function openStores(kind: Kind) {
  let database: TestDatabase | undefined;
  let dir: string | undefined;
  const configOf = (domain: string): StoreConfig => {
    if (kind === 'pglite') return { kind: 'embedded', dataDir: path.join(dir ?? '', domain) };
    return { kind: 'postgres', url: database?.url ?? '', schema: domain };
  };
  if (kind === 'pglite') dir = mkdtempSync(path.join(tmpdir(), 'hub-bench-events-'));
  else database = await createTestDatabase('hub_bench_events');
  const databaseName = database ? new URL(database.url).pathname.slice(1) : null;
  const producer = await openStore({
    domain: 'product',
    config: configOf('product'),
    PrismaClient: ProductClient,
    migrationsDir: migrationsDirFor('product'),
  });
  const consumer = await openStore({
    domain: 'health',
    config: configOf('health'),
    PrismaClient: HealthClient,
    migrationsDir: migrationsDirFor('health'),
  });
  await producer.migrate();
  await consumer.migrate();
  return {
    producer,
    consumer,
    /** CPU seconds of the database's PostgreSQL backends (null on PGlite: it runs in this process). */
    pgCpu: () => (databaseName ? pgCpuSeconds(producer.backgroundSql, databaseName) : Promise.resolve(null)),
    async close() {
      await Promise.all([producer.close(), consumer.close()]);
      await database?.drop();
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Product commit -> relay -> bus -> health.usage -> health committed, at the offered rate. */
async function healthPath(kind: Kind, batch: BatchPolicy, seconds: number, label: string): Promise<Result> {
  const stores = await openStores(kind);
  const probe = stageProbe(eventNumber);
  let producerBus: EventBus;
  let consumerBus: EventBus;
  if (kind === 'nats') {
    const prefix = `B${randomBytes(4).toString('hex').toUpperCase()}`;
    producerBus = await createNatsBus({ servers: config.nats, prefix });
    consumerBus = await createNatsBus({ servers: config.nats, prefix });
  } else {
    const local = createEmbeddedBus({ domain: 'product', store: stores.producer.backgroundSql });
    producerBus = local;
    // In one process the health consumer reads product's log straight (another process: `_events`).
    consumerBus = createEmbeddedBus({
      domain: 'health',
      store: stores.consumer.backgroundSql,
      remote: (_d, q) => local.readLocal(q),
    });
  }
  const relay = await startRelay({
    domain: 'product',
    store: stores.producer.backgroundSql,
    storeConfig: stores.producer.config,
    bus: probe.producerBus(producerBus),
  });
  const latencies: number[] = [];
  const sizes: number[] = [];
  /** When each event's producing transaction committed (its apply returned), by event number. */
  const committed = new Map<number, number>();
  let lastApplied = 0;
  const usage = healthConsumers().filter((c) => c.name === 'health.usage');
  const runtime = createConsumerRuntime(
    {
      domain: 'health',
      client: stores.consumer.client,
      store: probe.consumerStore(stores.consumer.backgroundSql),
      bus: probe.consumerBus(consumerBus),
      sync: healthSync,
      customerKeys: healthKeys,
      batch,
      afterCommit: (_c, events) => {
        const now = performance.now();
        lastApplied = now;
        sizes.push(events.length);
        probe.applied(events, now);
        for (const event of events) latencies.push(now - (committed.get(eventNumber(event)) ?? NaN));
      },
    },
    usage,
  );
  await runtime.start();
  const pipeline = createSyncPipeline({
    definition: productSync,
    client: stores.producer.client,
    scope: { tenantId: TENANT, customerIds: null },
    customerKeys: product.customerKeys,
    defaultSource: 'amplitude',
    claimableSources: 'all',
    actor: { type: 'integration', id: 'amplitude', role: 'integration' },
    onCommitted: () => relay.wake(),
  });
  let n = 0;
  const base = Date.now() - 86_400_000;
  const total = config.rate * seconds;
  const pg0 = await stores.pgCpu();
  const cpu0 = process.cpuUsage();
  const elu0 = performance.eventLoopUtilization();
  const started = performance.now();
  await offer(seconds, async (count) => {
    const first = n;
    const events = Array.from({ length: count }, () => {
      const i = n++;
      return usageEvent(i, new Date(base + i));
    });
    await pipeline.apply(events);
    const at = performance.now();
    for (let i = first; i < n; i++) committed.set(i, at);
    probe.committed(first, n, at);
  });
  const deadline = Date.now() + 300_000;
  while (latencies.length < total && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const elapsed = ((lastApplied || performance.now()) - started) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const busy = performance.eventLoopUtilization(elu0).utilization;
  const pg1 = await stores.pgCpu();
  const applied = Math.max(1, latencies.length);
  // Health readable: one score per customer, and the inbox holds every event once.
  const [check] = await stores.consumer.sql.query<{ scores: number; inbox: number }>(
    `SELECT (SELECT count(*)::int FROM "HealthScore" WHERE "tenantId" = $1) AS scores,
            (SELECT count(*)::int FROM "hub_event_inbox") AS inbox`,
    [TENANT],
  );
  if (check?.scores !== Math.min(CUSTOMERS, total) || check.inbox !== latencies.length)
    console.warn(`${label}: ${check?.scores} health scores, ${check?.inbox} inbox rows, ${latencies.length} applied`);
  await runtime.stop();
  await relay.stop();
  await consumerBus.close();
  await producerBus.close();
  await stores.close();
  return {
    ...summary(label, total, latencies, elapsed),
    batches: sizes.length,
    stages: probe.report(label),
    nodeUs: (cpu.user + cpu.system) / applied,
    pgUs: pg0 === null || pg1 === null ? null : ((pg1 - pg0) * 1e6) / applied,
    busy,
  };
}

const batch: BatchPolicy = { maxEvents: config.batch, lingerMs: config.lingerMs };
const results: Result[] = [await inProcessFloor(config.rate, config.seconds)];
if (config.paths.includes('nats')) results.push(await natsFloor(config.nats, config.rate, config.seconds));
const ours: Partial<Record<Kind | 'baseline', Result>> = {};
if (config.paths.includes('embedded'))
  ours.embedded = await healthPath('embedded', batch, config.seconds, 'health, embedded bus on postgres');
if (config.paths.includes('nats'))
  ours.nats = await healthPath('nats', batch, config.seconds, 'health, NATS JetStream on postgres');
if (config.paths.includes('pglite'))
  ours.pglite = await healthPath('pglite', batch, config.seconds, 'health, embedded bus on PGlite');
if (config.paths.includes('baseline'))
  ours.baseline = await healthPath(
    'embedded',
    { maxEvents: 1, lingerMs: 0 },
    config.baselineSeconds,
    'baseline: batches of 1, embedded, postgres',
  );
results.push(...Object.values(ours));
const recompute = config.recompute > 0 ? await benchHealthRecompute(config.recompute) : undefined;

const floorOf = (r: Result) => results.find((f) => f.floor === (r.path.includes('NATS') ? 'nats' : 'in-process'));
const ratio = (a: number, b: number | undefined) => (b && b > 0 ? `${(a / b).toFixed(0)}x` : 'n/a');
console.log(
  `offered ${config.rate} events/s (${config.seconds} s; baseline ${config.baselineSeconds} s); batches of ${config.batch}, linger ${config.lingerMs} ms; ` +
    `machine: ${os.cpus().length} cores, load average ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')} at the end (figures are relative: compare with the floors of this run)`,
);
for (const r of results) {
  const floor = r.floor ? undefined : floorOf(r);
  console.log(
    `${r.path.padEnd(44)} ${String(r.events).padStart(6)}/${String(r.offered).padEnd(6)} ` +
      `${(r.events / r.seconds).toFixed(0).padStart(6)} ev/s  p50 ${r.p50.toFixed(1).padStart(7)} ms  p99 ${r.p99.toFixed(1).padStart(8)} ms` +
      (r.batches ? `  ${(r.events / r.batches).toFixed(1).padStart(5)} events/tx` : '') +
      (floor ? `  p99 ${ratio(r.p99, floor.p99)} the floor's` : ''),
  );
}
for (const r of results) {
  if (!r.stages) continue;
  for (const line of r.stages) console.log(line);
  console.log(
    `  CPU per event applied: Node ${r.nodeUs?.toFixed(0) ?? '?'} µs (producer, relay and consumer; event loop busy ` +
      `${((r.busy ?? 0) * 100).toFixed(0)} %), PostgreSQL ${r.pgUs === null || r.pgUs === undefined ? '-' : r.pgUs.toFixed(0)} µs`,
  );
}
if (recompute)
  console.log(
    `health-recompute: ${recompute.customers} customers in ${(recompute.recomputeMs / 1000).toFixed(1)} s ` +
      `(${recompute.customersPerSecond.toFixed(0)} customers/s, ${recompute.chunks} chunks) outcomes ${JSON.stringify(recompute.outcomes)}`,
  );
const fig = (r: Result | undefined, f: (r: Result) => string) => (r ? f(r) : '-');
const recompute100k = !recompute
  ? '-'
  : recompute.customers >= 100_000
    ? (recompute.recomputeMs / 1000).toFixed(1)
    : `~${((recompute.recomputeMs / 1000) * (100_000 / recompute.customers)).toFixed(0)}(extrapolated_from_${recompute.customers})`;
console.log(
  `bench:events p99_ms=${fig(ours.embedded, (r) => r.p99.toFixed(0))}/${fig(ours.nats, (r) => r.p99.toFixed(0))} ` +
    `rate=${fig(ours.embedded, (r) => (r.events / r.seconds).toFixed(0))}/${fig(ours.nats, (r) => (r.events / r.seconds).toFixed(0))} ` +
    `recompute_100k_s=${recompute100k} (embedded/nats; targets p99 < 100 ms at 2000 ev/s, recompute < 600 s)`,
);
process.exit(0);
