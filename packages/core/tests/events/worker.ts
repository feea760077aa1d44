/**
 * A child process of the crash tests: runs the relay or the consumer of an event path on real
 * stores and dies (exit 137, no clean-up) at the crash point it is given, like a killed process:
 *   relay:    after publishing its Nth batch, before advancing the relay position past it;
 *   consumer: after committing its Nth batch (WORKER_BATCH events at most, 1 by default), before
 *             acknowledging it.
 * Env: WORKER_ROLE, WORKER_CRASH_AT, WORKER_DB_URL, WORKER_BUS (embedded|nats), NATS_URL, WORKER_PREFIX,
 * WORKER_BATCH.
 */
import { openStore, migrationsDirFor } from '@hub/store';
import { PrismaClient } from '@hub/store/product';
import { createEmbeddedBus } from '../../src/events/bus-embedded.js';
import { createNatsBus } from '../../src/events/bus-nats.js';
import { createConsumerRuntime } from '../../src/events/consumer.js';
import { startRelay } from '../../src/events/relay.js';
import type { EventBus } from '../../src/events/types.js';
import { CUSTOMER_KEYS, definition } from '../sync/fixture.js';
import { mirrorConsumer } from './harness.js';

const env = (name: string) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
};
const role = env('WORKER_ROLE');
const crashAt = Number(env('WORKER_CRASH_AT'));
const url = env('WORKER_DB_URL');
const useNats = env('WORKER_BUS') === 'nats';
const batch = Number(process.env['WORKER_BATCH'] ?? 1);

const open = (schema: string) =>
  openStore<PrismaClient>({
    domain: 'product',
    config: { kind: 'postgres', url, schema },
    PrismaClient,
    migrationsDir: migrationsDirFor('product'),
  });
const producer = await open('product');
const bus = async (domain: 'product' | 'health', store: typeof producer): Promise<EventBus> =>
  useNats
    ? createNatsBus({ servers: env('NATS_URL'), prefix: env('WORKER_PREFIX'), ackWaitMs: 5000 })
    : createEmbeddedBus({
        domain,
        store: store.sql,
        remote: (_d, query) => createEmbeddedBus({ domain: 'product', store: producer.sql }).readLocal(query),
        waitMs: 1000,
      });

let count = 0;
const crash = () => {
  if (++count >= crashAt) process.exit(137);
};
if (role === 'relay') {
  await startRelay({
    domain: 'product',
    store: producer.sql,
    storeConfig: producer.config,
    bus: await bus('product', producer),
    batchSize: 7,
    afterPublish: crash,
  });
} else {
  const consumer = await open('mirror');
  const runtime = createConsumerRuntime(
    {
      domain: 'health',
      client: consumer.client,
      store: consumer.sql,
      bus: await bus('health', consumer),
      sync: definition,
      customerKeys: CUSTOMER_KEYS,
      batch: { maxEvents: batch, lingerMs: 20 },
      afterCommit: crash,
    },
    // Batches of one: `handle`, one transaction per event; larger ones fold (`handleBatch`).
    [mirrorConsumer({ batched: batch > 1 })],
  );
  await runtime.start();
}
console.log('worker started');
// Runs until the crash point; the parent kills it if it never comes.
setInterval(() => undefined, 60_000);
