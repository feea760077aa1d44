/**
 * `npm run bench:events`: commit -> consumer-applied latency (p50/p99) and events/s through the
 * outbox relay, a bus and a consumer that writes through its own sync pipeline, at a fixed offered
 * rate, on each path in the same run:
 *   - embedded bus on PGlite (in-memory stores), embedded bus on PostgreSQL, NATS JetStream on PostgreSQL;
 *   - beside the floors without our code: an in-process hand-off (setImmediate) and a raw JetStream
 *     publish -> durable pull consume round trip on the same server.
 * The producer commits BENCH_RATE events/s for BENCH_SECONDS in ticks of 10 ms (one pipeline
 * transaction per tick); latency is from the producing transaction's commit time (`committedAt`)
 * to the consumer's own commit.
 *
 * The consumer is a parameter: BENCH_CONSUMER=<module>#<export> names a ConsumerDefinition of the
 * `product` stream and BENCH_CONSUMER_SYNC=<module>#<export> the consuming domain's SyncDefinition
 * (default: the tests' mirror consumer, which re-applies each usage event through the pipeline).
 * Options: BENCH_RATE (2000), BENCH_SECONDS (10), BENCH_PATHS (`pglite,postgres,nats`), NATS_URL.
 */
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import { connect } from '@nats-io/transport-node';
import { AckPolicy, jetstream, jetstreamManager, StorageType } from '@nats-io/jetstream';
import { EnvReader } from '@hub/core/config';
import { createEmbeddedBus } from '@hub/core/events/bus-embedded';
import { createNatsBus } from '@hub/core/events/bus-nats';
import { createConsumerRuntime } from '@hub/core/events/consumer';
import { startRelay } from '@hub/core/events/relay';
import type { ConsumerDefinition, EventBus } from '@hub/core/events/types';
import type { SyncDefinition } from '@hub/core/sync/types';
import { CUSTOMER_KEYS, definition, fixturePipeline } from '../packages/core/tests/sync/fixture.js';
import { mirrorConsumer, openStorePair, type StoreKind } from '../packages/core/tests/events/harness.js';

const read = new EnvReader();
const config = read.done({
  rate: read.int('BENCH_RATE', 2000, { min: 1 }),
  seconds: read.int('BENCH_SECONDS', 10, { min: 1 }),
  paths: read.string('BENCH_PATHS', 'pglite,postgres,nats').split(','),
  nats: read.string('NATS_URL', 'nats://127.0.0.1:4222'),
  consumer: read.optional('BENCH_CONSUMER'),
  consumerSync: read.optional('BENCH_CONSUMER_SYNC'),
});

async function imported<T>(spec: string | undefined, fallback: T): Promise<T> {
  if (!spec) return fallback;
  const [module = '', name = 'default'] = spec.split('#');
  return ((await import(module)) as Record<string, T>)[name] as T;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

interface Result {
  path: string;
  events: number;
  seconds: number;
  p50: number;
  p99: number;
}

function summary(path: string, latencies: number[], seconds: number): Result {
  const sorted = [...latencies].sort((a, b) => a - b);
  return { path, events: sorted.length, seconds, p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
}

/** Offers `rate` events/s for `seconds` in 10 ms ticks; `tick(n)` produces n events. */
async function offer(tick: (n: number) => Promise<void>): Promise<number> {
  const perTick = config.rate / 100;
  const started = performance.now();
  let sent = 0;
  const total = config.rate * config.seconds;
  const inflight: Promise<void>[] = [];
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - started) / 10 + 1) * perTick));
    if (due > sent) {
      inflight.push(tick(due - sent));
      sent = due;
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  await Promise.all(inflight);
  return (performance.now() - started) / 1000;
}

async function ourPath(kind: 'pglite' | 'postgres' | 'nats'): Promise<Result> {
  const store: StoreKind = kind === 'pglite' ? 'pglite' : 'postgres';
  const pair = await openStorePair(store);
  const consumer = await imported<ConsumerDefinition>(config.consumer, mirrorConsumer());
  const sync = await imported<SyncDefinition>(config.consumerSync, definition);
  let producerBus: EventBus;
  let consumerBus: EventBus;
  if (kind === 'nats') {
    const prefix = `B${randomBytes(4).toString('hex').toUpperCase()}`;
    producerBus = await createNatsBus({ servers: config.nats, prefix });
    consumerBus = await createNatsBus({ servers: config.nats, prefix });
  } else {
    const local = createEmbeddedBus({ domain: 'product', store: pair.producer.sql });
    producerBus = local;
    consumerBus = createEmbeddedBus({
      domain: 'health',
      store: pair.consumer.sql,
      remote: (_d, q) => local.readLocal(q),
    });
  }
  const relay = await startRelay({
    domain: 'product',
    store: pair.producer.sql,
    storeConfig: pair.producer.config,
    bus: producerBus,
  });
  const latencies: number[] = [];
  const runtime = createConsumerRuntime(
    {
      domain: 'health',
      client: pair.consumer.client,
      store: pair.consumer.sql,
      bus: consumerBus,
      sync,
      customerKeys: CUSTOMER_KEYS,
      afterCommit: (_c, events) => {
        const now = Date.now();
        for (const event of events) latencies.push(now - Date.parse(event.committedAt));
      },
    },
    [consumer],
  );
  await runtime.start();
  const pipeline = fixturePipeline(pair.producer.client, 'acme', { onCommitted: () => relay.wake() });
  let n = 0;
  const base = Date.now() - 86_400_000;
  const total = config.rate * config.seconds;
  const started = performance.now();
  await offer(async (count) => {
    const events = Array.from({ length: count }, () => {
      const i = n++;
      return {
        kind: 'usage',
        payload: {
          customerId: `cust_${i % 500}`,
          period: '2026-11-01',
          feature: `f${i}`,
          usageCount: i,
          at: new Date(base + i).toISOString(),
        },
      };
    });
    await pipeline.apply(events);
  });
  const deadline = Date.now() + 120_000;
  while (latencies.length < total && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const seconds = (performance.now() - started) / 1000;
  await runtime.stop();
  await relay.stop();
  await consumerBus.close();
  await producerBus.close();
  await pair.close();
  return summary(`${kind === 'nats' ? 'nats' : 'embedded'} bus on ${store}`, latencies, seconds);
}

async function inProcessFloor(): Promise<Result> {
  const latencies: number[] = [];
  const seconds = await offer(async (count) => {
    const sent = Date.now();
    for (let i = 0; i < count; i++) setImmediate(() => latencies.push(Date.now() - sent));
  });
  return summary('floor: in-process hand-off', latencies, seconds);
}

async function natsFloor(): Promise<Result> {
  const nc = await connect({ servers: config.nats });
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  const name = `BFLOOR_${randomBytes(4).toString('hex').toUpperCase()}`;
  await jsm.streams.add({ name, subjects: [`${name.toLowerCase()}.>`], storage: StorageType.File });
  await jsm.consumers.add(name, { durable_name: 'floor', ack_policy: AckPolicy.Explicit });
  const consumer = await js.consumers.get(name, 'floor');
  const latencies: number[] = [];
  const messages = await consumer.consume({ max_messages: 256 });
  const done = (async () => {
    for await (const msg of messages) {
      latencies.push(Date.now() - Number(new TextDecoder().decode(msg.data)));
      msg.ack();
      if (latencies.length >= config.rate * config.seconds) break;
    }
  })();
  const seconds = await offer(async (count) => {
    await Promise.all(
      Array.from({ length: count }, () =>
        js.publish(`${name.toLowerCase()}.x`, new TextEncoder().encode(String(Date.now())), { timeout: 30_000 }),
      ),
    );
  });
  await Promise.race([done, new Promise((r) => setTimeout(r, 30_000))]);
  await messages.close();
  await jsm.streams.delete(name);
  await nc.close();
  return summary('floor: raw JetStream publish -> consume', latencies, seconds);
}

const results: Result[] = [await inProcessFloor()];
if (config.paths.includes('nats')) results.push(await natsFloor());
for (const kind of ['pglite', 'postgres', 'nats'] as const) {
  if (config.paths.includes(kind)) results.push(await ourPath(kind));
}
console.log(
  `offered ${config.rate} events/s for ${config.seconds} s (${config.rate * config.seconds} events per path)`,
);
for (const r of results) {
  console.log(
    `${r.path.padEnd(42)} ${String(r.events).padStart(7)} events  ${(r.events / r.seconds).toFixed(0).padStart(6)} ev/s  p50 ${r.p50.toFixed(1).padStart(7)} ms  p99 ${r.p99.toFixed(1).padStart(7)} ms`,
  );
}
const ours = results.filter((r) => !r.path.startsWith('floor'));
console.log(
  `bench:events summary: ${ours.map((r) => `${r.path} p99 ${r.p99.toFixed(0)} ms @ ${(r.events / r.seconds).toFixed(0)} ev/s`).join('; ')} (target p99 < 100 ms at 2000 ev/s)`,
);
process.exit(0);
