/**
 * The producing side of `bench:events`: product's store, its sync pipeline and its outbox relay
 * publishing to a bus, offering usage events at a rate. It runs in the benchmark's thread (the
 * embedded bus, whose in-process subscribers read the producer's log straight) or in a thread of
 * its own (`threadProducer`, over NATS): as deployed, product's pipeline and relay run in
 * product's process and the health consumer in health's, each on its own event loop, so neither
 * waits behind the other's callbacks. Times cross threads as wall-clock milliseconds (`nowMs`).
 */
import { Worker } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { startRelay } from '@hub/core/events/relay';
import type { EventBus } from '@hub/core/events/types';
import { createSyncPipeline, MAX_BATCH } from '@hub/core/sync/engine';
import type { Store } from '@hub/store';
import { subgraph as product } from '@hub/subgraph-product/src/server.js';
import { sync as productSync } from '@hub/subgraph-product/src/sync.js';
import { nowMs, offer } from './bench-stream.js';
import { eventNumber, TENANT, usageEvent } from './bench-events-usage.js';

export interface ProducerEvents {
  /** Events numbered `from`..`to - 1` committed (their apply returned) at wall-clock `at`. */
  committed(from: number, to: number, at: number): void;
  /** The relay's publish of these events resolved at wall-clock `at`. */
  published(numbers: readonly number[], at: number): void;
}

export interface Producer {
  /** Offers `rate` events/s of `kind` for `seconds`; resolves when the last tick committed. */
  offer(rate: number, seconds: number, kind: string): Promise<{ busy: number }>;
  stop(): Promise<void>;
}

/** Product's pipeline and relay on `store` and `bus`, in this thread. */
export async function startProducer(store: Store<unknown>, bus: EventBus, events: ProducerEvents): Promise<Producer> {
  const relay = await startRelay({
    domain: 'product',
    store: store.backgroundSql,
    storeConfig: store.config,
    bus: {
      ...bus,
      async publish(domain, published) {
        await bus.publish(domain, published);
        events.published(published.map(eventNumber), nowMs());
      },
    },
  });
  const pipeline = createSyncPipeline({
    definition: productSync,
    client: store.client,
    scope: { tenantId: TENANT, customerIds: null },
    customerKeys: product.customerKeys,
    defaultSource: 'amplitude',
    claimableSources: 'all',
    actor: { type: 'integration', id: 'amplitude', role: 'integration' },
    onCommitted() {
      relay.wake();
      // A tick larger than one engine batch commits one transaction per MAX_BATCH events, in order:
      // each chunk's events are committed now, not when the whole apply returns.
      if (!tick || tick.next >= tick.end) return;
      const to = Math.min(tick.end, tick.next + MAX_BATCH);
      events.committed(tick.next, to, nowMs());
      tick.next = to;
    },
  });
  /** The events of the apply in progress not yet reported committed. */
  let tick: { next: number; end: number } | undefined;
  return {
    async offer(rate, seconds, kind) {
      let n = 0;
      const base = Date.now() - 86_400_000;
      const elu0 = performance.eventLoopUtilization();
      await offer(rate, seconds, async (count) => {
        const first = n;
        const batch = Array.from({ length: count }, () => {
          const i = n++;
          return usageEvent(kind, i, new Date(base + i));
        });
        tick = { next: first, end: n };
        await pipeline.apply(batch);
        if (tick.next < tick.end) events.committed(tick.next, tick.end, nowMs());
        tick = undefined;
      });
      return { busy: performance.eventLoopUtilization(elu0).utilization };
    },
    stop: () => relay.stop(),
  };
}

/** What the producer thread is started with (bench-events-producer-thread.ts). */
export interface ProducerThreadData {
  readonly storeConfig: Store<unknown>['config'];
  readonly natsServers: string;
  readonly prefix: string;
}

export type ProducerThreadMessage =
  | { readonly t: 'ready' }
  | { readonly t: 'committed'; readonly from: number; readonly to: number; readonly at: number }
  | { readonly t: 'published'; readonly numbers: readonly number[]; readonly at: number }
  | { readonly t: 'offered'; readonly busy: number }
  | { readonly t: 'stopped' }
  | { readonly t: 'failed'; readonly error: string };

/** The producer in a thread of its own, with its own store pool and NATS connection. */
export async function threadProducer(data: ProducerThreadData, events: ProducerEvents): Promise<Producer> {
  // tsx's loader hooks are per thread and a worker's entry is loaded before `--import` hooks
  // apply: a plain bootstrap registers tsx in the thread, then imports the TypeScript entry.
  const entry = new URL('./bench-events-producer-thread.ts', import.meta.url).href;
  const worker = new Worker(
    `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(entry)}); })`,
    { eval: true, workerData: data },
  );
  let waiting:
    | { t: ProducerThreadMessage['t']; resolve: (m: ProducerThreadMessage) => void; reject: (e: Error) => void }
    | undefined;
  const fail = (error: Error) => {
    const w = waiting;
    waiting = undefined;
    w?.reject(error);
  };
  worker.on('message', (message: ProducerThreadMessage) => {
    if (message.t === 'committed') events.committed(message.from, message.to, message.at);
    else if (message.t === 'published') events.published(message.numbers, message.at);
    else if (message.t === 'failed') fail(new Error(`producer thread: ${message.error}`));
    else if (waiting?.t === message.t) {
      const { resolve } = waiting;
      waiting = undefined;
      resolve(message);
    }
  });
  worker.on('error', fail);
  worker.on('exit', () => fail(new Error('producer thread exited')));
  const next = <T extends ProducerThreadMessage['t']>(t: T) =>
    new Promise<Extract<ProducerThreadMessage, { t: T }>>((resolve, reject) => {
      waiting = { t, resolve: resolve as (m: ProducerThreadMessage) => void, reject };
    });
  await next('ready');
  return {
    async offer(rate, seconds, kind) {
      const offered = next('offered');
      worker.postMessage({ t: 'offer', rate, seconds, kind });
      return { busy: (await offered).busy };
    },
    async stop() {
      const stopped = next('stopped');
      worker.postMessage({ t: 'stop' });
      await stopped;
      await worker.terminate();
    },
  };
}
