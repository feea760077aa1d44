/**
 * The outbox lock is per store (engine.ts OUTBOX_LOCK_SQL): two stores sharing one PostgreSQL
 * database as schemas (`DATABASE_URL`) never queue behind each other's outbox writers, while two
 * writers of one store still do (the lock is what makes `seq` order commit order).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrationsDirFor, openStore, type Store } from '@hub/store';
import { PrismaClient as HealthClient } from '@hub/store/health';
import { PrismaClient as ProductClient } from '@hub/store/product';
import { appendOutbox } from '../../src/sync/outbox.js';
import { createTestDatabase, type TestDatabase } from '../../src/testing.js';

let database: TestDatabase;
let product: Store<ProductClient>;
let health: Store<HealthClient>;

beforeAll(async () => {
  database = await createTestDatabase('hub_t_outbox_lock');
  product = await openStore({
    domain: 'product',
    config: { kind: 'postgres', url: database.url, schema: 'product' },
    PrismaClient: ProductClient,
    migrationsDir: migrationsDirFor('product'),
  });
  health = await openStore({
    domain: 'health',
    config: { kind: 'postgres', url: database.url, schema: 'health' },
    PrismaClient: HealthClient,
    migrationsDir: migrationsDirFor('health'),
  });
  await product.migrate();
  await health.migrate();
}, 120_000);
afterAll(async () => {
  await product?.close();
  await health?.close();
  await database?.drop();
});

const row = (domain: string) => ({
  tenantId: 'acme',
  customerId: 'c1',
  type: `${domain}.lock_probe`,
  source: 'test',
  payload: { probe: true },
});

/** Appends an outbox row in a transaction that gives up on a lock after `ms`; resolves to whether it got through. */
async function appendWithin(store: Store<ProductClient> | Store<HealthClient>, domain: string, ms: number) {
  const client = store.client as unknown as ProductClient;
  try {
    await client.$transaction(async (tx) => {
      await tx.$executeRawUnsafe(`SET LOCAL lock_timeout = '${ms}ms'`);
      await appendOutbox(tx, row(domain));
    });
    return true;
  } catch (error) {
    if (/lock timeout/i.test(String((error as Error).message))) return false;
    throw error;
  }
}

describe('the outbox lock', () => {
  it('is held per store: another schema of the database writes while one store’s writer holds it, the same store waits', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let locked!: () => void;
    const isLocked = new Promise<void>((resolve) => (locked = resolve));
    const holder = product.client.$transaction(
      async (tx) => {
        await appendOutbox(tx, row('product'));
        locked();
        await held;
      },
      { timeout: 30_000 },
    );
    await isLocked;
    try {
      expect(await appendWithin(health, 'health', 3000)).toBe(true);
      expect(await appendWithin(product, 'product', 300)).toBe(false);
    } finally {
      release();
      await holder;
    }
    expect(await appendWithin(product, 'product', 3000)).toBe(true);
  });
});
