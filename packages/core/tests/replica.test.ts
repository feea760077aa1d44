/**
 * The local customer replica on a real PostgreSQL store (a product store with the hub bookkeeping):
 * what each customers-stream event does to it, the rows each role gets from it, and the replica-lag
 * rule of writes, with the lag told by a real embedded bus over a real outbox.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { SqlTx } from '@hub/store';
import { createEmbeddedBus } from '../src/events/bus-embedded.js';
import type { EventEnvelope } from '../src/events/types.js';
import { replicaDirectory } from '../src/replica.js';
import { applyReplicaEvent } from '../src/replicaFeed.js';
import { createTestDatabase, type TestDatabase } from '../src/testing.js';
import type { Role, Viewer } from '../src/viewer.js';
import { openPostgresStore, type EventStore } from './events/harness.js';

let database: TestDatabase;
let store: EventStore;
let cursor = 0;

beforeAll(async () => {
  database = await createTestDatabase('hub_t_replica');
  store = await openPostgresStore(database, 'product');
});
afterAll(async () => {
  await store?.close();
  await database?.drop();
});
beforeEach(async () => {
  await store.sql.query('TRUNCATE "hub_customer_replica", "hub_grant_replica", "hub_sync_outbox"');
});

function event(type: string, payload: Record<string, unknown>, customerId: string | null = null): EventEnvelope {
  cursor++;
  return {
    id: `00000000-0000-7000-8000-${String(cursor).padStart(12, '0')}`,
    type,
    tenantId: 'acme',
    customerId,
    domain: 'customers',
    source: 'test',
    occurredAt: new Date().toISOString(),
    committedAt: new Date().toISOString(),
    schemaVersion: 1,
    cursor: String(cursor),
    payload,
  };
}
const customerRow = (id: string, changed: Record<string, unknown>) => ({
  rows: [
    { model: 'Customer', id, key: { id }, changed },
    { model: 'OwnerAssignment', id: 'oa', key: {}, changed },
  ],
});
const apply = (...events: EventEnvelope[]) =>
  store.sql.transaction(async (tx: SqlTx) => {
    for (const e of events) await applyReplicaEvent(tx, e);
  });
const viewer = (roles: Role[], extra: Partial<Viewer> = {}): Viewer => ({
  userId: 'v',
  tenantId: 'acme',
  roles,
  book: [],
  requestId: 'r',
  ...extra,
});

describe('the customer replica', () => {
  const bus = () => createEmbeddedBus({ domain: 'customers', store: store.sql });
  const directory = (boundMs = 300) => {
    const local = bus();
    return replicaDirectory({
      sql: store.sql,
      boundMs,
      behind: async () => (await local.lag('customers', 'product.customer-replica')).pending > 0,
    });
  };

  it('follows creation, an update that leaves the owner, reassignment, deletion and re-creation', async () => {
    await apply(
      event('customers.create_customer', customerRow('c1', { name: 'One', ownerId: 'u1' }), 'c1'),
      event('customers.customer_record_sync', customerRow('c2', { name: 'Two', ownerId: 'u1' }), 'c2'),
      event('customers.update_customer', customerRow('c1', { name: 'Uno' }), 'c1'),
    );
    const dir = directory();
    expect((await dir.scope(viewer(['cs_manager'], { book: ['u1'] }))).customerIds).toEqual(['c1', 'c2']);
    await apply(event('customers.assign_owner', customerRow('c1', { ownerId: 'u2' }), 'c1'));
    expect((await dir.scope(viewer(['sales_rep'], { book: ['u1'] }))).customerIds).toEqual(['c2']);
    expect((await dir.scope(viewer(['sales_rep'], { book: ['u2', 'u1'] }))).customerIds).toEqual(['c1', 'c2']);
    await apply(event('customers.customer_deleted', { customerId: 'c1' }, 'c1'));
    expect((await dir.scope(viewer(['cs_manager'], { book: ['u2'] }))).customerIds).toEqual([]);
    expect(await dir.verifier('acme')(['c1', 'c2'])).toEqual(new Set(['c2']));
    await apply(event('customers.create_customer', customerRow('c1', { ownerId: 'u3' }), 'c1'));
    expect((await dir.scope(viewer(['cs_manager'], { book: ['u3'] }))).customerIds).toEqual(['c1']);
  });

  it('hands requests of an unchanged book the same frozen list, and a changed book a new one', async () => {
    await apply(
      event('customers.create_customer', customerRow('c1', { ownerId: 'u1' }), 'c1'),
      event('customers.create_customer', customerRow('c2', { ownerId: 'u1' }), 'c2'),
    );
    const dir = directory();
    const first = (await dir.scope(viewer(['cs_manager'], { book: ['u1'], requestId: 'r1' }))).customerIds;
    expect(Object.isFrozen(first)).toBe(true);
    expect((await dir.scope(viewer(['cs_manager'], { book: ['u1'], requestId: 'r2' }))).customerIds).toBe(first);
    await apply(event('customers.assign_owner', customerRow('c2', { ownerId: 'u2' }), 'c2'));
    const changed = (await dir.scope(viewer(['cs_manager'], { book: ['u1'] }))).customerIds;
    expect(changed).not.toBe(first);
    expect(changed).toEqual(['c1']);
    expect(first).toEqual(['c1', 'c2']);
  });

  it('answers every list in JavaScript’s sort order, whatever the ids’ case, accents or characters past U+FFFF', async () => {
    // Byte order (the queries' COLLATE "C") and JavaScript's differ past U+FFFF: the directory must still sort.
    const ids = ['c_b', 'C_a', 'c_é', 'c_\u{1F600}', 'c_\uFF5E', 'c_a', 'c_10', 'c_9'];
    await apply(
      ...ids.map((id, i) => event('customers.create_customer', customerRow(id, { ownerId: i % 2 ? 'u1' : 'u2' }), id)),
      event('customers.api_key_granted', { id: 'key_o', customerIds: [...ids].reverse(), fields: ['Customer.name'] }),
    );
    const dir = directory();
    const sorted = [...ids].sort();
    const ofOwner = (owner: string) => ids.filter((_, i) => (i % 2 ? 'u1' : 'u2') === owner).sort();
    expect((await dir.scope(viewer(['cs_manager'], { book: ['u1'] }))).customerIds).toEqual(ofOwner('u1'));
    expect((await dir.scope(viewer(['cs_manager'], { book: ['u2', 'u1'] }))).customerIds).toEqual(sorted);
    expect((await dir.scope(viewer(['partner'], { grantId: 'key_o' }))).customerIds).toEqual(sorted);
    expect(
      (await dir.scope(viewer(['partner', 'cs_manager'], { grantId: 'key_o', book: ['u1'] }))).customerIds,
    ).toEqual(sorted);
  });

  it('resolves rows per role, failing closed: tenant-wide null, empty book and unknown or revoked grant nothing', async () => {
    await apply(
      event('customers.create_customer', customerRow('c1', { ownerId: 'u1' }), 'c1'),
      event('customers.create_customer', customerRow('c2', { ownerId: 'u2' }), 'c2'),
      event('customers.api_key_granted', { id: 'key_a', customerIds: ['c1', 'c2', 'c9'], fields: ['Customer.name'] }),
    );
    const dir = directory();
    for (const role of ['admin', 'marketing', 'finance', 'system', 'service'] as const)
      expect((await dir.scope(viewer([role]))).customerIds, role).toBeNull();
    expect((await dir.scope(viewer(['cs_manager']))).customerIds).toEqual([]);
    expect((await dir.scope(viewer(['cs_manager'], { book: ['nobody'] }))).customerIds).toEqual([]);
    // A grant names only the customers the replica holds alive (c9 never existed here).
    const partner = await dir.scope(viewer(['partner'], { grantId: 'key_a' }));
    expect(partner).toMatchObject({ customerIds: ['c1', 'c2'], grant: { fields: ['Customer.name'] } });
    expect(await dir.scope(viewer(['partner']))).toMatchObject({ customerIds: [], grant: { fields: [] } });
    expect(await dir.scope(viewer(['partner'], { grantId: 'key_unknown' }))).toMatchObject({
      customerIds: [],
      grant: { fields: [] },
    });
    expect((await dir.scope(viewer(['partner'], { grantId: 'key_a', tenantId: 'globex' }))).customerIds).toEqual([]);
    await apply(event('customers.customer_deleted', { customerId: 'c2' }, 'c2'));
    expect((await dir.scope(viewer(['partner'], { grantId: 'key_a' }))).customerIds).toEqual(['c1']);
    await apply(event('customers.api_key_revoked', { id: 'key_a', customerIds: ['c1'], fields: ['Customer.name'] }));
    expect(await dir.scope(viewer(['partner'], { grantId: 'key_a' }))).toMatchObject({
      customerIds: [],
      grant: { fields: [] },
    });
  });

  it('a write naming an unknown customer: NOT_FOUND at once when caught up, retryable after the bound when behind', async () => {
    await apply(event('customers.create_customer', customerRow('c1', { ownerId: 'u1' }), 'c1'));
    const dir = directory(300);
    let started = Date.now();
    expect(await dir.verifier('acme')(['c1', 'c_new'])).toEqual(new Set(['c1']));
    expect(Date.now() - started).toBeLessThan(300);
    // The customers stream holds an event this replica has not applied: it is behind.
    await store.sql.query(
      `INSERT INTO "hub_sync_outbox" ("id", "tenant_id", "customer_id", "type", "source", "occurred_at", "payload")
       VALUES (gen_random_uuid(), 'acme', 'c_new', 'customers.create_customer', 't', now(), '{}')`,
    );
    started = Date.now();
    await expect(dir.verifier('acme')(['c1', 'c_new'])).rejects.toMatchObject({
      extensions: { code: 'DOWNSTREAM_SERVICE_ERROR', retryable: true },
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    // Known ids never wait, whatever the lag.
    started = Date.now();
    expect(await dir.verifier('acme')(['c1'])).toEqual(new Set(['c1']));
    expect(Date.now() - started).toBeLessThan(300);
  });
});
