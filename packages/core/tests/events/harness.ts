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
  type StoreConfig,
  type StoreSql,
} from '@hub/store';
import { pgliteRunner } from '@hub/store/runners';
import { PrismaClient } from '@hub/store/product';
import { createTestDatabase, type TestDatabase } from '../../src/testing.js';
import { defineConsumer, type ConsumerDefinition, type SyncEventPayload } from '../../src/events/types.js';

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
 * consuming store's pipeline. `fail(event, attempt)` may throw to inject failures.
 */
export function mirrorConsumer(
  options: { name?: string; fail?: (eventId: string) => void; maxAttempts?: number } = {},
): ConsumerDefinition {
  const name = options.name ?? 'health.mirror';
  return defineConsumer({
    name,
    from: 'product',
    types: ['product.usage'],
    source: 'mirror',
    ...(options.maxAttempts ? { maxAttempts: options.maxAttempts } : {}),
    async handle({ event, tx, sync }) {
      await tx.execute(
        `INSERT INTO "test_applied" ("consumer", "event_id", "customer_id", "cursor") VALUES ($1, $2::uuid, $3, $4::bigint)`,
        [name, event.id, event.customerId, event.cursor],
      );
      options.fail?.(event.id);
      const payload = event.payload as unknown as SyncEventPayload;
      await sync.apply([{ kind: 'usage', payload: { ...payload.data }, idempotencyKey: `mirror:${event.id}` }]);
    },
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
