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
 *     PGlite (embedded bus, `npm start`'s stores). Over NATS the producer (product's pipeline and
 *     relay) runs in a thread of its own, as product's process does when deployed
 *     (bench-events-producer.ts); on the embedded bus it shares the consumer's thread, whose
 *     in-process subscribers read its log straight;
 *   - the baseline: the embedded path with batches of one (a transaction per event, as before
 *     batching) for BENCH_BASELINE_SECONDS (its backlog drains long after the offer ends);
 *   - the daily health recompute (scripts/bench-health-recompute.ts) for BENCH_RECOMPUTE customers
 *     (default 10,000; `--full` or BENCH_RECOMPUTE=100000 for the issue's 100,000).
 * Options: BENCH_RATE (2000), BENCH_SECONDS (10), BENCH_PATHS (`embedded,nats,pglite,baseline`),
 * BENCH_NATS_PRODUCER (`thread`; `inline`: the producer in the consumer's thread, as before),
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
import { jetstreamManager } from '@nats-io/jetstream';
import { createNatsBus } from '@hub/core/events/bus-nats';
import { createConsumerRuntime } from '@hub/core/events/consumer';
import type { BatchPolicy, EventBus } from '@hub/core/events/types';
import { createTestDatabase, type TestDatabase } from '@hub/core/testing';
import { migrationsDirFor, openStore, type StoreConfig } from '@hub/store';
import { PrismaClient as HealthClient } from '@hub/store/health';
import { PrismaClient as ProductClient } from '@hub/store/product';
import { healthConsumers } from '@hub/subgraph-health/src/consumers.js';
import { customerKeys as healthKeys, sync as healthSync } from '@hub/subgraph-health/src/sync.js';
import { benchHealthRecompute } from './bench-health-recompute.js';
import { stageProbe } from './bench-events-stages.js';
import { startProducer, threadProducer, type Producer, type ProducerEvents } from './bench-events-producer.js';
import { CUSTOMERS, eventNumber, TENANT } from './bench-events-usage.js';
import { pgCpuSeconds } from './bench-pg-cpu.js';
import { inProcessFloor, natsFloor, summarize, type LatencySummary } from './bench-stream.js';

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
  natsProducer: read.string('BENCH_NATS_PRODUCER', 'thread'),
});

interface Result extends LatencySummary {
  /** Consumer transactions (a batch each). */
  readonly batches?: number;
  /** Where the time went (bench-events-stages.ts), printed after the table. */
  readonly stages?: readonly string[];
  /** CPU per event applied over the run: this process (producer, relay, consumer) and PostgreSQL's backends. */
  readonly nodeUs?: number;
  readonly pgUs?: number | null;
  /** Share of the run Node's event loop was busy (this thread's: with the producer in it, both sides). */
  readonly busy?: number;
  /** The producer thread's event loop, when it has its own (NATS). */
  readonly producerBusy?: number | undefined;
}

const summary = summarize;

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
  /** When each event's producing transaction committed (its apply returned), by event number. */
  const committed = new Map<number, number>();
  // Wall-clock times (the producer thread's) in this thread's performance.now() frame.
  const local = (at: number) => at - performance.timeOrigin;
  const events: ProducerEvents = {
    committed(from, to, at) {
      for (let i = from; i < to; i++) committed.set(i, local(at));
      probe.committed(from, to, local(at));
    },
    published: (numbers, at) => probe.published(numbers, local(at)),
  };
  let consumerBus: EventBus;
  /** The run's own NATS stream, deleted at the end (scripts/nats-clean.ts catches a killed run's). */
  let dropStream = () => Promise.resolve();
  let producer: Producer;
  let closeProducerBus = () => Promise.resolve();
  if (kind === 'nats') {
    const prefix = `B${randomBytes(4).toString('hex').toUpperCase()}`;
    const nats = await createNatsBus({ servers: config.nats, prefix });
    consumerBus = nats;
    dropStream = async () => {
      await (await jetstreamManager(nats.connection)).streams.delete(nats.streamName('product'));
    };
    if (config.natsProducer === 'inline') {
      const producerBus = await createNatsBus({ servers: config.nats, prefix });
      producer = await startProducer(stores.producer, producerBus, events);
      closeProducerBus = () => producerBus.close();
    } else
      producer = await threadProducer(
        { storeConfig: stores.producer.config, natsServers: config.nats, prefix },
        events,
      );
  } else {
    const log = createEmbeddedBus({ domain: 'product', store: stores.producer.backgroundSql });
    // In one process the health consumer reads product's log straight (another process: `_events`).
    consumerBus = createEmbeddedBus({
      domain: 'health',
      store: stores.consumer.backgroundSql,
      remote: (_d, q) => log.readLocal(q),
    });
    producer = await startProducer(stores.producer, log, events);
    closeProducerBus = () => log.close();
  }
  const latencies: number[] = [];
  const sizes: number[] = [];
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
      afterCommit: (_c, applied) => {
        const now = performance.now();
        lastApplied = now;
        sizes.push(applied.length);
        probe.applied(applied, now);
        for (const event of applied) latencies.push(now - (committed.get(eventNumber(event)) ?? NaN));
      },
    },
    usage,
  );
  await runtime.start();
  const total = config.rate * seconds;
  const pg0 = await stores.pgCpu();
  const cpu0 = process.cpuUsage();
  const elu0 = performance.eventLoopUtilization();
  const started = performance.now();
  const offered = await producer.offer(config.rate, seconds, config.kind);
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
  await producer.stop();
  await dropStream();
  await consumerBus.close();
  await closeProducerBus();
  await stores.close();
  return {
    ...summary(label, total, latencies, elapsed),
    batches: sizes.length,
    stages: probe.report(label),
    nodeUs: (cpu.user + cpu.system) / applied,
    pgUs: pg0 === null || pg1 === null ? null : ((pg1 - pg0) * 1e6) / applied,
    busy,
    producerBusy: kind === 'nats' && config.natsProducer !== 'inline' ? offered.busy : undefined,
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
      (r.producerBusy === undefined
        ? `${((r.busy ?? 0) * 100).toFixed(0)} %`
        : `${((r.busy ?? 0) * 100).toFixed(0)} % consumer thread, ${(r.producerBusy * 100).toFixed(0)} % producer thread`) +
      `), PostgreSQL ${r.pgUs === null || r.pgUs === undefined ? '-' : r.pgUs.toFixed(0)} µs`,
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
