/**
 * The producer thread of `bench:events` over NATS (bench-events-producer.ts `threadProducer`):
 * opens product's store (migrated by the benchmark) and a NATS connection of its own, then offers
 * what the benchmark asks and reports commits and publishes back as wall-clock times.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createNatsBus } from '@hub/core/events/bus-nats';
import { migrationsDirFor, openStore } from '@hub/store';
import { PrismaClient as ProductClient } from '@hub/store/product';
import { startProducer, type ProducerThreadData, type ProducerThreadMessage } from './bench-events-producer.js';

const data = workerData as ProducerThreadData;
const port = parentPort;
if (!port) throw new Error('bench-events-producer-thread runs as a worker thread');
const post = (message: ProducerThreadMessage) => port.postMessage(message);

try {
  const store = await openStore({
    domain: 'product',
    config: data.storeConfig,
    PrismaClient: ProductClient,
    migrationsDir: migrationsDirFor('product'),
  });
  const bus = await createNatsBus({ servers: data.natsServers, prefix: data.prefix });
  const producer = await startProducer(store, bus, {
    committed: (from, to, at) => post({ t: 'committed', from, to, at }),
    published: (numbers, at) => post({ t: 'published', numbers, at }),
  });
  port.on('message', (message: { t: 'offer'; rate: number; seconds: number; kind: string } | { t: 'stop' }) => {
    const run =
      message.t === 'offer'
        ? producer.offer(message.rate, message.seconds, message.kind).then(({ busy }) => post({ t: 'offered', busy }))
        : (async () => {
            await producer.stop();
            await bus.close();
            await store.close();
            post({ t: 'stopped' });
          })();
    run.catch((error: unknown) => post({ t: 'failed', error: String(error) }));
  });
  post({ t: 'ready' });
} catch (error) {
  post({ t: 'failed', error: String(error) });
}
