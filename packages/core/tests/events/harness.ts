/**
 * Real stores for the change-event tests: a producing store and a consuming store, both with the
 * product tables and the hub bookkeeping, on PostgreSQL (two schemas of a fresh database, as the kit
 * opens them) or on in-memory PGlite. The consumer mirrors the producer's usage events into its
 * own tables through its own sync pipeline and logs every handler run in `test_applied` (no unique
 * key: a double application shows up as two rows).
 */
import { PGlite } from '@electric-sql/pglite';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import {
  applyMigrations,
  attachStoreSql,
  migrationsDirFor,
  openStore,
  pgliteSql,
  SYNC_MIGRATIONS,
  type SqlTx,
  type StoreConfig,
  type StoreSql,
} from '@hub/store';
import { pgliteRunner } from '@hub/store/runners';
import { PrismaClient } from '@hub/store/product';
import { createTestDatabase, type TestDatabase } from '../../src/testing.js';
import {
  defineConsumer,
  type BatchPolicy,
  type ConsumerDefinition,
  type EventBus,
  type EventEnvelope,
  type SyncEventPayload,
} from '../../src/events/types.js';
import { UNPUBLISHED, type Relay } from '../../src/events/relay.js';
import type { ConsumerRuntime } from '../../src/events/consumer.js';

export type StoreKind = 'postgres' | 'pglite';
export const STORE_KINDS: readonly StoreKind[] = ['postgres', 'pglite'];

export interface EventStore {
  readonly client: PrismaClient;
  readonly sql: StoreSql;
  readonly config: StoreConfig;
  close(): Promise<void>;
}

const APPLIED_TABLE = `CREATE TABLE IF NOT EXISTS "test_applied" (
  "n" BIGSERIAL PRIMARY KEY, "consumer" TEXT NOT NULL, "event_id" UUID NOT NULL, "customer_id" TEXT,
  "cursor" BIGINT NOT NULL, "at" TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp())`;

export async function openPostgresStore(database: TestDatabase, schema: string): Promise<EventStore> {
  const config: StoreConfig = { kind: 'postgres', url: database.url, schema };
  const store = await openStore<PrismaClient>({
    domain: 'product',
    config,
    PrismaClient,
    migrationsDir: migrationsDirFor('product'),
  });
  await store.migrate();
  await store.sql.query(APPLIED_TABLE);
  return { client: store.client, sql: store.sql, config, close: () => store.close() };
}

export async function openPgliteStore(): Promise<EventStore> {
  const pglite = await PGlite.create();
  await applyMigrations(pgliteRunner(pglite), migrationsDirFor('product'), [SYNC_MIGRATIONS]);
  const client = new PrismaClient({ adapter: new PrismaPGlite(pglite) });
  const sql = pgliteSql(pglite);
  attachStoreSql(client, sql);
  await sql.query(APPLIED_TABLE);
  return {
    client,
    sql,
    config: { kind: 'embedded', dataDir: ':memory:' },
    async close() {
      await client.$disconnect();
      await pglite.close();
    },
  };
}

export interface StorePair {
  readonly producer: EventStore;
  readonly consumer: EventStore;
  readonly database: TestDatabase | undefined;
  close(): Promise<void>;
}

export async function openStorePair(kind: StoreKind): Promise<StorePair> {
  if (kind === 'pglite') {
    const [producer, consumer] = await Promise.all([openPgliteStore(), openPgliteStore()]);
    return {
      producer,
      consumer,
      database: undefined,
      async close() {
        await Promise.all([producer.close(), consumer.close()]);
      },
    };
  }
  const database = await createTestDatabase('hub_t_events');
  const producer = await openPostgresStore(database, 'product');
  const consumer = await openPostgresStore(database, 'mirror');
  return {
    producer,
    consumer,
    database,
    async close() {
      await Promise.all([producer.close(), consumer.close()]);
      await database.drop();
    },
  };
}

/**
 * The mirror consumer: logs the run in `test_applied` and re-applies the usage event through the
 * consuming store's pipeline. `fail(event, attempt)` may throw to inject failures. `batched`: it
 * also folds (`handleBatch`): the batch's runs logged in order, then one apply of all its events.
 */
export function mirrorConsumer(
  options: { name?: string; fail?: (eventId: string) => void; maxAttempts?: number; batched?: boolean } = {},
): ConsumerDefinition {
  const name = options.name ?? 'health.mirror';
  const log = (tx: SqlTx, events: readonly EventEnvelope[]) =>
    tx.execute(
      `INSERT INTO "test_applied" ("consumer", "event_id", "customer_id", "cursor")
       SELECT $1, e.id, e.customer_id, e.cursor FROM unnest($2::uuid[], $3::text[], $4::bigint[])
         WITH ORDINALITY AS e(id, customer_id, cursor, n) ORDER BY e.n`,
      [name, events.map((e) => e.id), events.map((e) => e.customerId), events.map((e) => e.cursor)],
    );
  const usageOf = (event: EventEnvelope) => ({
    kind: 'usage',
    payload: { ...(event.payload as unknown as SyncEventPayload).data },
    idempotencyKey: `mirror:${event.id}`,
  });
  return defineConsumer({
    name,
    from: 'product',
    types: ['product.usage'],
    source: 'mirror',
    ...(options.maxAttempts ? { maxAttempts: options.maxAttempts } : {}),
    async handle({ event, tx, sync }) {
      await log(tx, [event]);
      options.fail?.(event.id);
      await sync.apply([usageOf(event)]);
    },
    ...(options.batched
      ? {
          async handleBatch({ events, tx, sync }) {
            await log(tx, events);
            for (const event of events) options.fail?.(event.id);
            await sync.apply(events.map(usageOf));
          },
        }
      : {}),
  });
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 30_000,
  everyMs = 25,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

export async function countOf(sql: StoreSql, text: string, params: unknown[] = []): Promise<number> {
  const [row] = await sql.query<{ n: string | number }>(text, params);
  return Number(row?.n ?? 0);
}

/** A nats-server of the test's own (free port, own store dir), so it can be killed and restarted. */
export interface OwnNats {
  readonly url: string;
  kill(): Promise<void>;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export async function startOwnNats(): Promise<OwnNats> {
  const { spawn } = await import('node:child_process');
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { createConnection } = await import('node:net');
  const { freePorts } = await import('../../src/process.js');
  const [port] = await freePorts(1);
  const dir = mkdtempSync(join(tmpdir(), 'hub-nats-'));
  let child: ReturnType<typeof spawn> | undefined;
  const up = () =>
    waitFor(
      'nats-server listening',
      () =>
        new Promise<true | undefined>((resolve) => {
          const socket = createConnection({ port: Number(port), host: '127.0.0.1' });
          socket.once('connect', () => (socket.destroy(), resolve(true)));
          socket.once('error', () => resolve(undefined));
        }),
      15_000,
      50,
    );
  const start = async () => {
    child = spawn('/usr/sbin/nats-server', ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir], {
      stdio: 'ignore',
    });
    await up();
  };
  const kill = async () => {
    const running = child;
    if (!running || running.exitCode !== null) return;
    await new Promise((resolve) => {
      running.once('exit', resolve);
      running.kill('SIGKILL');
    });
  };
  await start();
  return {
    url: `nats://127.0.0.1:${port}`,
    kill,
    restart: start,
    async stop() {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface PathSetup {
  readonly store: StoreKind;
  readonly bus: 'embedded' | 'nats';
}

/** The combinations the properties are checked on (NATS over PostgreSQL: production's pairing). */
export const PATHS: readonly PathSetup[] = [
  { store: 'postgres', bus: 'embedded' },
  { store: 'pglite', bus: 'embedded' },
  { store: 'postgres', bus: 'nats' },
];

export const pathName = (setup: PathSetup) => `${setup.bus} bus on ${setup.store}`;

export interface EventPath {
  readonly pair: StorePair;
  readonly producerBus: EventBus;
  readonly consumerBus: EventBus;
  readonly relay: Relay;
  readonly runtime: ConsumerRuntime;
  /** Writes `count` usage events for customers `cust_<i % customers>` through the producer's pipeline. */
  write(count: number, options?: { customers?: number; writer?: number; tenant?: string }): Promise<void>;
  stop(): Promise<void>;
}

let sourceTick = 0;

/** Producer store + relay + bus + consumer store + runtime running `consumers`. */
export async function openPath(
  setup: PathSetup,
  consumers: readonly ConsumerDefinition[],
  options: {
    nats?: string;
    prefix?: string;
    pair?: StorePair;
    batch?: BatchPolicy;
    afterCommit?: (consumer: string, events: readonly EventEnvelope[]) => void;
  } = {},
): Promise<EventPath> {
  const { createEmbeddedBus } = await import('../../src/events/bus-embedded.js');
  const { createNatsBus } = await import('../../src/events/bus-nats.js');
  const { startRelay } = await import('../../src/events/relay.js');
  const { createConsumerRuntime } = await import('../../src/events/consumer.js');
  const { CUSTOMER_KEYS, definition, fixturePipeline } = await import('../sync/fixture.js');
  const { randomBytes } = await import('node:crypto');
  const pair = options.pair ?? (await openStorePair(setup.store));
  let producerBus: EventBus;
  let consumerBus: EventBus;
  if (setup.bus === 'embedded') {
    const local = createEmbeddedBus({ domain: 'product', store: pair.producer.sql, pollMs: 200 });
    producerBus = local;
    // The consumer's process reads the producer's stream; in one process, straight from its log.
    consumerBus = createEmbeddedBus({
      domain: 'health',
      store: pair.consumer.sql,
      remote: (_domain, query) => local.readLocal(query),
      waitMs: 2000,
    });
  } else {
    const prefix = options.prefix ?? `T${randomBytes(4).toString('hex').toUpperCase()}`;
    const servers = options.nats ?? process.env['NATS_URL'] ?? 'nats://127.0.0.1:4222';
    producerBus = await createNatsBus({ servers, prefix, ackWaitMs: 5000 });
    consumerBus = await createNatsBus({ servers, prefix, ackWaitMs: 5000 });
  }
  const relay = await startRelay({
    domain: 'product',
    store: pair.producer.sql,
    storeConfig: pair.producer.config,
    bus: producerBus,
    pollMs: 250,
  });
  const runtime = createConsumerRuntime(
    {
      domain: 'health',
      client: pair.consumer.client,
      store: pair.consumer.sql,
      bus: consumerBus,
      sync: definition,
      customerKeys: CUSTOMER_KEYS,
      backoff: { baseMs: 5, maxMs: 40 },
      batch: options.batch,
      afterCommit: options.afterCommit,
    },
    consumers,
  );
  await runtime.start();
  const base = Date.now() - 3_600_000;
  return {
    pair,
    producerBus,
    consumerBus,
    relay,
    runtime,
    async write(count, { customers = 5, writer = 0, tenant = 'acme' } = {}) {
      const pipeline = fixturePipeline(pair.producer.client, tenant, { onCommitted: () => relay.wake() });
      // Another tenant's customers have ids of their own, so per-customer order is checked per tenant.
      const prefix = tenant === 'acme' ? 'cust_' : `cust_${tenant}_`;
      for (let i = 0; i < count; i++) {
        await pipeline.apply([
          {
            kind: 'usage',
            payload: {
              customerId: `${prefix}${(writer * 7 + i) % customers}`,
              period: '2026-11-01',
              feature: `f${i % 3}`,
              usageCount: writer * 1000 + i,
              at: new Date(base + ++sourceTick * 1000).toISOString(),
            },
          },
        ]);
      }
    },
    async stop() {
      await runtime.stop();
      await relay.stop();
      await consumerBus.close();
      await producerBus.close();
      if (!options.pair) await pair.close();
    },
  };
}

/**
 * Writes `count` events on a fresh store pair and has them published with no consumer running, so
 * that the next path opened on `pair` (same `prefix`) finds them all ready: its first batches are full.
 */
export async function prewritten(
  setup: PathSetup,
  count: number,
  options: { customers?: number; nats?: string; tenants?: readonly string[] } = {},
): Promise<{ pair: StorePair; prefix: string; ids: string[] }> {
  const { randomBytes } = await import('node:crypto');
  const pair = await openStorePair(setup.store);
  const prefix = `T${randomBytes(4).toString('hex').toUpperCase()}`;
  const writer = await openPath(setup, [], { pair, prefix, ...(options.nats ? { nats: options.nats } : {}) });
  const tenants = options.tenants ?? ['acme'];
  // Rounds of three events per tenant, so the stream interleaves them (each round's values differ).
  for (let written = 0, round = 0; written < count; round++)
    for (const tenant of tenants) {
      const n = Math.min(3, count - written);
      if (n > 0) await writer.write(n, { customers: options.customers ?? 3, writer: round, tenant });
      written += n;
    }
  await waitFor('all published', async () =>
    (await countOf(pair.producer.sql, `SELECT count(*) AS n FROM "hub_sync_outbox" WHERE ${UNPUBLISHED}`)) === 0
      ? true
      : undefined,
  );
  await writer.stop();
  const rows = await pair.producer.sql.query<{ id: string }>(
    `SELECT "id"::text FROM "hub_sync_outbox" ORDER BY "hub_sync_outbox"."seq"`,
  );
  return { pair, prefix, ids: rows.map((r) => r.id) };
}

/** Every run of the consumer's handler that committed, in commit order. */
export async function appliedRuns(sql: StoreSql, consumer = 'health.mirror') {
  return sql.query<{ event_id: string; customer_id: string; cursor: string }>(
    `SELECT "event_id"::text, "customer_id", "cursor"::text FROM "test_applied" WHERE "consumer" = $1 ORDER BY "n"`,
    [consumer],
  );
}

/**
 * The properties every test ends with: each committed outbox event applied exactly once, and per
 * customer in commit (outbox seq) order; the consumer's mirrored rows equal the producer's.
 */
export async function expectExactlyOnceInOrder(path: EventPath, consumer = 'health.mirror', timeoutMs = 60_000) {
  const { expect } = await import('vitest');
  const events = await path.pair.producer.sql.query<{ id: string; customer_id: string; seq: string }>(
    `SELECT "id"::text, "customer_id", "seq"::text FROM "hub_sync_outbox" ORDER BY "hub_sync_outbox"."seq"`,
  );
  await waitFor(
    `${events.length} events applied`,
    async () => ((await appliedRuns(path.pair.consumer.sql, consumer)).length >= events.length ? true : undefined),
    timeoutMs,
  );
  // A little longer: a double application would show up now.
  await new Promise((resolve) => setTimeout(resolve, 300));
  const runs = await appliedRuns(path.pair.consumer.sql, consumer);
  expect(runs.map((r) => r.event_id).sort()).toEqual(events.map((e) => e.id).sort());
  const seqOf = new Map(events.map((e) => [e.id, Number(e.seq)]));
  const byCustomer = new Map<string, number[]>();
  for (const run of runs) {
    byCustomer.set(run.customer_id, [...(byCustomer.get(run.customer_id) ?? []), seqOf.get(run.event_id) ?? -1]);
  }
  for (const seqs of byCustomer.values()) expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
  const rows = (sql: StoreSql) =>
    sql.query(`SELECT "tenantId", "customerId", "feature", "usageCount" FROM "FeatureUsage" ORDER BY 1, 2, 3`);
  expect(await rows(path.pair.consumer.sql)).toEqual(await rows(path.pair.producer.sql));
}
