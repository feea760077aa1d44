/**
 * The two stores every engine test runs on: PostgreSQL (a fresh database, the product schema as
 * the subgraph kit opens it) and embedded PGlite (in memory). Both get the product migrations
 * plus the sync bookkeeping, exactly as `openStore().migrate()` applies them.
 */
import { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll } from 'vitest';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { applyMigrations, attachStoreSql, migrationsDirFor, openStore, pgliteSql, SYNC_MIGRATIONS } from '@hub/store';
import { pgliteRunner } from '@hub/store/runners';
import { PrismaClient } from '@hub/store/product';
import { createTestDatabase } from '../../src/testing.js';

export interface TestStore {
  readonly name: string;
  readonly client: PrismaClient;
  /** Raw SQL outside any transaction, for assertions. */
  query<T = Record<string, unknown>>(sql: string, ...params: unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

export type StoreKind = 'postgres' | 'pglite';

export const STORE_KINDS: readonly StoreKind[] = ['postgres', 'pglite'];

export async function openTestStore(kind: StoreKind): Promise<TestStore> {
  if (kind === 'postgres') {
    const database = await createTestDatabase('hub_t_sync');
    const store = await openStore<PrismaClient>({
      domain: 'product',
      config: { kind: 'postgres', url: database.url, schema: 'product' },
      PrismaClient,
      migrationsDir: migrationsDirFor('product'),
    });
    await store.migrate();
    return {
      name: kind,
      client: store.client,
      query: (sql, ...params) => store.client.$queryRawUnsafe(sql, ...params),
      async close() {
        await store.close();
        await database.drop();
      },
    };
  }
  const pglite = await PGlite.create();
  await applyMigrations(pgliteRunner(pglite), migrationsDirFor('product'), [SYNC_MIGRATIONS]);
  const client = new PrismaClient({ adapter: new PrismaPGlite(pglite) });
  attachStoreSql(client, pgliteSql(pglite));
  return {
    name: kind,
    client,
    query: (sql, ...params) => client.$queryRawUnsafe(sql, ...params),
    async close() {
      await client.$disconnect();
      await pglite.close();
    },
  };
}

/**
 * Opens a `kind` store before the calling `describe`'s tests and closes it after them. The handle
 * forwards to the open store; touching it outside a test (before beforeAll ran) throws.
 */
export function useTestStore(kind: StoreKind): TestStore {
  let store: TestStore | undefined;
  beforeAll(async () => {
    store = await openTestStore(kind);
  });
  afterAll(async () => {
    await store?.close();
  });
  return new Proxy({} as TestStore, {
    get(_target, key) {
      if (!store) throw new Error(`the ${kind} test store is not open (use it inside a test)`);
      return Reflect.get(store, key);
    },
  });
}
