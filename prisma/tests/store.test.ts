import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateClient } from '../src/generate.js';
import { SYNC_MIGRATIONS } from '../src/paths.js';
import {
  openStore,
  scopeToTenant,
  scopeToViewer,
  ScopeViolationError,
  viewerClients,
  storeConfigFromEnv,
  type Store,
} from '../src/index.js';
import {
  tempDir,
  unusedDatabase,
  withPg,
  FIXTURES,
  WIDGETS_MIGRATIONS,
  WIDGETS_SCHEMA,
  type FreshDatabase,
} from './helpers.js';

/**
 * The slice of the fixture's generated client these tests use. The client is generated in
 * beforeAll (it is not part of `npm run prisma:generate`), so it cannot be imported statically.
 */
type Args = Record<string, unknown>;
interface Delegate {
  findMany(a?: Args): Promise<Args[]>;
  findUnique(a: Args): Promise<Args | null>;
  findFirst(a?: Args): Promise<Args | null>;
  count(a?: Args): Promise<number>;
  aggregate(a: Args): Promise<Args>;
  groupBy(a: Args): Promise<Args[]>;
  create(a: Args): Promise<Args>;
  createMany(a: Args): Promise<{ count: number }>;
  update(a: Args): Promise<Args>;
  updateMany(a: Args): Promise<{ count: number }>;
  upsert(a: Args): Promise<Args>;
  delete(a: Args): Promise<Args>;
  deleteMany(a?: Args): Promise<{ count: number }>;
}
interface WidgetsClient {
  tenant: Delegate;
  widget: Delegate;
  gadget: Delegate;
}
type ClientCtor = new (o: unknown) => WidgetsClient;

let PrismaClient: ClientCtor;
let database: FreshDatabase;
let store: Store<WidgetsClient>;
const queries: { sql: string; ms: number }[] = [];

beforeAll(async () => {
  await generateClient(WIDGETS_SCHEMA);
  const clientPath = join(FIXTURES, 'widgets', 'generated', 'client.ts');
  ({ PrismaClient } = (await import(clientPath)) as { PrismaClient: ClientCtor });
  // A database that does not exist yet: openStore must create it, and the schema in it.
  database = unusedDatabase();
  store = await openStore({
    domain: 'widgets',
    config: { kind: 'postgres', url: database.url, schema: 'widgets' },
    PrismaClient,
    migrationsDir: WIDGETS_MIGRATIONS,
    onQuery: (sql, ms) => queries.push({ sql, ms }),
  });
  await store.migrate();
  const db = store.client;
  await db.tenant.createMany({
    data: [
      { id: 't1', name: 'One' },
      { id: 't2', name: 'Two' },
    ],
  });
  await db.widget.createMany({
    data: [
      { id: 'w1', tenantId: 't1', name: 'same-name', price: '10.00' },
      { id: 'w2', tenantId: 't2', name: 'same-name', price: '20.00' },
    ],
  });
});

afterAll(async () => {
  await store?.close();
  await database?.drop();
});

describe('openStore on PostgreSQL', () => {
  it('creates the database and the domain schema, and migrates into that schema', async () => {
    const tables = await withPg(database.url, (c) =>
      c.query<{ table_name: string }>(
        `SELECT table_name FROM information_schema.tables WHERE table_schema = 'widgets' ORDER BY 1`,
      ),
    );
    // The domain's tables and, beside them in the same schema, the sync bookkeeping (SYNC_MIGRATIONS).
    expect(tables.rows.map((r) => r.table_name)).toEqual([
      'Gadget',
      'Tenant',
      'Widget',
      '_prisma_migrations',
      'hub_anomaly',
      'hub_audit',
      'hub_audit_head',
      'hub_customer_replica',
      'hub_data_key',
      'hub_erased_customer',
      'hub_event_cursor',
      'hub_event_dead_letter',
      'hub_event_inbox',
      'hub_grant_replica',
      'hub_integration_health',
      'hub_job_run',
      'hub_reconciliation',
      'hub_reconciliation_difference',
      'hub_replica_state',
      'hub_sync_conflict',
      'hub_sync_dead_letter',
      'hub_sync_idempotency',
      'hub_sync_outbox',
      'hub_sync_quality',
      'hub_sync_quality_rejected',
      'hub_sync_relay_position',
      'hub_sync_row_source',
    ]);
    const history = await withPg(database.url, (c) =>
      c.query<{ migration_name: string }>(`SELECT migration_name FROM widgets."_prisma_migrations" ORDER BY 1`),
    );
    expect(history.rows.map((r) => r.migration_name.replace(/\/\d+_/, '/'))).toEqual([
      expect.stringMatching(/^\d+_init$/),
      'hub_sync/sync_bookkeeping',
      'hub_sync/event_consumers',
      'hub_sync/job_runs',
      'hub_sync/customer_replica',
      'hub_sync/sync_ingest_slim',
      'hub_sync/customer_erasure',
      'hub_sync/anomalies',
      'hub_sync/audit_trail',
      'hub_sync/reconciliation',
      'hub_sync/data_keys',
      'hub_sync/audit_append_json',
      'hub_sync/relay_position',
    ]);
    expect((await store.migrate()).applied).toEqual([]);
  });

  it('reports every SQL statement to onQuery with its duration', async () => {
    queries.length = 0;
    await store.client.widget.count();
    expect(queries.some((q) => q.sql.includes('"Widget"') && q.ms >= 0)).toBe(true);
  });
});

describe('scopeToTenant', () => {
  it("reads only the scoped tenant: another tenant's row by id is null", async () => {
    const t1 = scopeToTenant(store.client, 't1');
    expect((await t1.widget.findMany()).map((w) => w.id)).toEqual(['w1']);
    expect(await t1.widget.findUnique({ where: { id: 'w2' } })).toBeNull();
    expect(await t1.widget.findFirst({ where: { id: 'w2' } })).toBeNull();
    expect(await t1.widget.findUnique({ where: { tenantId_name: { tenantId: 't2', name: 'same-name' } } })).toBeNull();
    expect(await t1.widget.count()).toBe(1);
    expect(await t1.widget.count({ where: { tenantId: 't2' } })).toBe(0);
    const agg = await t1.widget.aggregate({ _sum: { price: true } });
    expect(String((agg._sum as Args).price)).toBe('10');
    expect(await t1.widget.groupBy({ by: ['tenantId'], _count: true })).toEqual([{ tenantId: 't1', _count: 1 }]);
  });

  it('keys the Tenant model by id', async () => {
    const t1 = scopeToTenant(store.client, 't1');
    expect((await t1.tenant.findMany()).map((t) => t.id)).toEqual(['t1']);
    expect(await t1.tenant.findUnique({ where: { id: 't2' } })).toBeNull();
    await expect(t1.tenant.update({ where: { id: 't2' }, data: { name: 'hijacked' } })).rejects.toThrow();
  });

  it("cannot update or delete another tenant's rows", async () => {
    const t1 = scopeToTenant(store.client, 't1');
    await expect(t1.widget.update({ where: { id: 'w2' }, data: { name: 'hijacked' } })).rejects.toThrow(
      /not found|No record/i,
    );
    expect(await t1.widget.updateMany({ where: { id: 'w2' }, data: { name: 'hijacked' } })).toEqual({ count: 0 });
    await expect(t1.widget.delete({ where: { id: 'w2' } })).rejects.toThrow();
    expect(await t1.widget.deleteMany({ where: { id: 'w2' } })).toEqual({ count: 0 });
    await expect(t1.widget.update({ where: { id: 'w1' }, data: { tenantId: 't2' } })).rejects.toThrow(/another tenant/);
    const w2 = await store.client.widget.findUnique({ where: { id: 'w2' } });
    expect(w2).toMatchObject({ tenantId: 't2', name: 'same-name' });
  });

  it('writes the scoped tenant into created rows', async () => {
    const t1 = scopeToTenant(store.client, 't1');
    expect(await t1.widget.create({ data: { id: 'w3', name: 'made', price: '1.00' } })).toMatchObject({
      tenantId: 't1',
    });
    await t1.widget.createMany({ data: [{ id: 'w4', name: 'a', price: '1.00' }] });
    await t1.widget.upsert({ where: { id: 'w5' }, create: { id: 'w5', name: 'up', price: '2.00' }, update: {} });
    // Checked input (relation connect) next to the forced scalar tenantId.
    await t1.gadget.create({ data: { id: 'g1', label: 'x', widget: { connect: { id: 'w1' } } } });
    const rows = await store.client.widget.findMany({ where: { id: { in: ['w3', 'w4', 'w5'] } } });
    expect(rows.map((r) => r.tenantId)).toEqual(['t1', 't1', 't1']);
    expect(await store.client.gadget.findUnique({ where: { id: 'g1' } })).toMatchObject({ tenantId: 't1' });
    await expect(t1.widget.create({ data: { id: 'w6', tenantId: 't2', name: 'b', price: '1.00' } })).rejects.toThrow(
      /another tenant/,
    );
  });

  it('fails closed when there is no tenant', async () => {
    const none = scopeToTenant(store.client, null);
    await expect(none.widget.findMany()).rejects.toThrow(/no tenant in scope/);
    await expect(none.tenant.findUnique({ where: { id: 't1' } })).rejects.toThrow(/no tenant in scope/);
    await expect(none.widget.create({ data: { id: 'w9', tenantId: 't1', name: 'n', price: '1' } })).rejects.toThrow(
      /no tenant in scope/,
    );
    expect(await store.client.widget.findUnique({ where: { id: 'w9' } })).toBeNull();
  });
});

describe('scopeToViewer: reads through the read scope, every write through the write scope', () => {
  // As for a viewer that reads tenant-wide but writes only its book: Widget stands for Customer
  // (keyed by its id), Gadget for a domain row (its widgetId is the customer column).
  const keys = { Widget: 'id', Gadget: 'widgetId', Tenant: null };
  const scoped = () =>
    scopeToViewer(
      store.client,
      { read: { tenantId: 't1', customerIds: null }, write: { tenantId: 't1', customerIds: ['v1'] } },
      keys,
    );
  beforeAll(async () => {
    await store.client.widget.createMany({
      data: [
        { id: 'v1', tenantId: 't1', name: 'in-book', price: '1.00' },
        { id: 'v2', tenantId: 't1', name: 'out-of-book', price: '1.00' },
      ],
    });
    await store.client.gadget.createMany({
      data: [
        { id: 'gv1', tenantId: 't1', widgetId: 'v1', label: 'in' },
        { id: 'gv2', tenantId: 't1', widgetId: 'v2', label: 'out' },
      ],
    });
  });

  it('reads every row of the read scope', async () => {
    const db = scoped();
    expect((await db.gadget.findMany({ where: { id: { in: ['gv1', 'gv2'] } } })).map((g) => g.id)).toEqual([
      'gv1',
      'gv2',
    ]);
    expect(await db.widget.findUnique({ where: { id: 'v2' } })).toMatchObject({ id: 'v2' });
    expect(await db.gadget.count({ where: { id: { in: ['gv1', 'gv2'] } } })).toBe(2);
  });

  it('changes nothing outside the write scope, whatever the write operation', async () => {
    const db = scoped();
    await expect(db.gadget.update({ where: { id: 'gv2' }, data: { label: 'x' } })).rejects.toThrow(
      /not found|No record/i,
    );
    expect(await db.gadget.updateMany({ where: { id: 'gv2' }, data: { label: 'x' } })).toEqual({ count: 0 });
    expect(await db.gadget.updateMany({ data: { label: 'x' } })).toEqual({ count: 1 });
    await expect(
      db.gadget.upsert({
        where: { id: 'gv2' },
        create: { id: 'gv2', widgetId: 'v2', label: 'x' },
        update: { label: 'x' },
      }),
    ).rejects.toThrow(ScopeViolationError);
    await expect(db.gadget.delete({ where: { id: 'gv2' } })).rejects.toThrow();
    expect(await db.gadget.deleteMany({ where: { id: 'gv2' } })).toEqual({ count: 0 });
    await expect(db.gadget.create({ data: { id: 'gv3', widgetId: 'v2', label: 'x' } })).rejects.toThrow(
      ScopeViolationError,
    );
    await expect(db.gadget.createMany({ data: [{ id: 'gv4', widgetId: 'v2', label: 'x' }] })).rejects.toThrow(
      ScopeViolationError,
    );
    await expect(db.gadget.update({ where: { id: 'gv1' }, data: { widgetId: 'v2' } })).rejects.toThrow(
      ScopeViolationError,
    );
    await expect(db.widget.update({ where: { id: 'v2' }, data: { name: 'x' } })).rejects.toThrow(
      /not found|No record/i,
    );
    expect(await db.widget.deleteMany({ where: { id: 'v2' } })).toEqual({ count: 0 });
    const rows = await store.client.gadget.findMany({ where: { id: { startsWith: 'gv' } }, orderBy: { id: 'asc' } });
    expect(rows.map((g) => [g.id, g.widgetId, g.label])).toEqual([
      ['gv1', 'v1', 'x'],
      ['gv2', 'v2', 'out'],
    ]);
    expect(await store.client.widget.findUnique({ where: { id: 'v2' } })).toMatchObject({ name: 'out-of-book' });
  });

  it('writes inside the write scope', async () => {
    const db = scoped();
    expect(await db.gadget.update({ where: { id: 'gv1' }, data: { label: 'in-2' } })).toMatchObject({ label: 'in-2' });
    await db.gadget.upsert({ where: { id: 'gv5' }, create: { id: 'gv5', widgetId: 'v1', label: 'new' }, update: {} });
    expect(await store.client.gadget.findUnique({ where: { id: 'gv5' } })).toMatchObject({
      tenantId: 't1',
      widgetId: 'v1',
    });
  });
});

describe('viewerClients: one scoped client per distinct viewer scope', () => {
  const keys = { Widget: 'id', Gadget: 'widgetId', Tenant: null };
  const scopes = (tenantId: string | null, customerIds: string[] | null) => ({
    read: { tenantId, customerIds },
    write: { tenantId, customerIds },
  });

  it('hands equal scopes the same client and any other scope its own, each confined to its rows', async () => {
    const clients = viewerClients(store.client, keys);
    const t1 = clients.forScopes(scopes('t1', null));
    expect(clients.forScopes(scopes('t1', null))).toBe(t1);
    const bookV1 = clients.forScopes(scopes('t1', ['v1']));
    const bookV2 = clients.forScopes(scopes('t1', ['v2']));
    const t2 = clients.forScopes(scopes('t2', null));
    expect(new Set([t1, bookV1, bookV2, t2]).size).toBe(4);
    // Interleaved in flight: each client answers its own scope only.
    const ids = (rows: Args[]) => rows.map((row) => row['id']).sort();
    const all = { where: { id: { in: ['w1', 'w2', 'v1', 'v2'] } } };
    const clientsInTurn = [t1, bookV1, bookV2, t2];
    const answers = await Promise.all(
      Array.from({ length: 24 }, (_, i) => (clientsInTurn[i % 4] as WidgetsClient).widget.findMany(all)),
    );
    answers.forEach((rows, i) => expect(ids(rows)).toEqual([['v1', 'v2', 'w1'], ['v1'], ['v2'], ['w2']][i % 4]));
  });

  it('keys by the content of the scopes, so a caller changing its objects later changes nothing', async () => {
    const clients = viewerClients(store.client, keys);
    const book = ['v1'];
    const given = { read: { tenantId: 't1', customerIds: book }, write: { tenantId: 't1', customerIds: book } };
    const db = clients.forScopes(given);
    book.push('v2');
    given.read.tenantId = 't2';
    expect((await db.widget.findMany({ where: { id: { in: ['v1', 'v2', 'w2'] } } })).map((w) => w['id'])).toEqual([
      'v1',
    ]);
    expect(clients.forScopes(scopes('t1', ['v1']))).toBe(db);
  });

  it('finds a frozen list’s client by the list itself, and never shares one across books or tenants', () => {
    const clients = viewerClients(store.client, keys);
    const frozen = (tenantId: string | null, ids: readonly string[]) => {
      const customerIds = Object.freeze([...ids]);
      return { read: { tenantId, customerIds }, write: { tenantId, customerIds } };
    };
    const book = Array.from({ length: 5_000 }, (_, i) => `c${String(i).padStart(5, '0')}`);
    const given = frozen('t1', book);
    const db = clients.forScopes(given);
    // A later request of the same book: new scope objects over the same frozen list.
    expect(clients.forScopes({ read: { ...given.read }, write: { ...given.write } })).toBe(db);
    const others = [
      frozen('t1', book.slice(1)), // one id fewer
      frozen('t1', [...book.slice(0, -1), 'c99999']), // one id other
      frozen('t1', [book[1] as string, book[0] as string, ...book.slice(2)]), // the same ids in another order
      frozen('t2', book), // another tenant
      { read: given.read, write: { tenantId: 't1', customerIds: Object.freeze(book.slice(0, 10)) } }, // another write side
      frozen('t1', book), // an equal list in another object: a client of its own, never a wrong one
    ];
    const found = others.map((scopes) => clients.forScopes(scopes));
    expect(new Set([db, ...found]).size).toBe(others.length + 1);
    // Lists the caller may still change are keyed by content, as before: equal content, one client.
    expect(clients.forScopes(scopes('t1', ['v1', 'v2']))).toBe(clients.forScopes(scopes('t1', ['v1', 'v2'])));
    expect(clients.forScopes(scopes('t1', ['v2', 'v1']))).not.toBe(clients.forScopes(scopes('t1', ['v1', 'v2'])));
  });

  it('confines a frozen list’s client to that list even once the caller’s scope objects change', async () => {
    const clients = viewerClients(store.client, keys);
    const given = { read: { tenantId: 't1', customerIds: Object.freeze(['v1']) } };
    const db = clients.forScopes({ read: given.read, write: given.read });
    given.read.tenantId = 't2';
    expect((await db.widget.findMany({ where: { id: { in: ['v1', 'v2', 'w2'] } } })).map((w) => w['id'])).toEqual([
      'v1',
    ]);
  });

  it('still fails closed: no tenant, or a model without a customer rule for a customer-scoped viewer', async () => {
    const clients = viewerClients(store.client, { Widget: 'id', Tenant: null });
    await expect(clients.forScopes(scopes(null, null)).widget.findMany()).rejects.toThrow(ScopeViolationError);
    await expect(clients.forScopes(scopes('t1', ['v1'])).gadget.findMany()).rejects.toThrow(/no customer scope rule/);
  });

  it('keeps at most `kept` clients, dropping the least recently used', () => {
    const clients = viewerClients(store.client, keys, undefined, 2);
    const a = clients.forScopes(scopes('t1', null));
    clients.forScopes(scopes('t2', null));
    expect(clients.forScopes(scopes('t1', null))).toBe(a);
    clients.forScopes(scopes('t1', ['v1']));
    expect(clients.size).toBe(2);
    expect(clients.forScopes(scopes('t1', null))).toBe(a);
  });
});

describe('openStore embedded (PGlite data dir)', () => {
  it('migrates once, serves scoped queries, and reopens with the data', async () => {
    const dir = await tempDir('embedded');
    const config = { kind: 'embedded' as const, dataDir: join(dir.path, 'widgets') };
    try {
      const first = await openStore({ domain: 'widgets', config, PrismaClient, migrationsDir: WIDGETS_MIGRATIONS });
      // The fixture's one migration, then every sync bookkeeping migration, in name order.
      const bookkeeping = (await readdir(SYNC_MIGRATIONS.dir, { withFileTypes: true }))
        .filter((entry) => entry.isDirectory())
        .map((entry) => `${SYNC_MIGRATIONS.prefix}${entry.name}`)
        .sort();
      expect(bookkeeping.length).toBeGreaterThan(5);
      expect((await first.migrate()).applied).toEqual([expect.any(String), ...bookkeeping]);
      await first.client.tenant.create({ data: { id: 't1', name: 'One' } });
      await scopeToTenant(first.client, 't1').widget.create({ data: { id: 'w1', name: 'n', price: '3.50' } });
      await first.close();

      const again = await openStore({ domain: 'widgets', config, PrismaClient, migrationsDir: WIDGETS_MIGRATIONS });
      expect((await again.migrate()).applied).toEqual([]);
      expect(await scopeToTenant(again.client, 't1').widget.count()).toBe(1);
      expect(await scopeToTenant(again.client, 't2').widget.count()).toBe(0);
      await again.close();
    } finally {
      await dir.remove();
    }
  });
});

describe('storeConfigFromEnv', () => {
  it('prefers <DOMAIN>_DATABASE_URL, then DATABASE_URL with schema = domain, then embedded', () => {
    const url = 'postgres://postgres@127.0.0.1:5432/hub';
    expect(storeConfigFromEnv('sales', { SALES_DATABASE_URL: `${url}?schema=crm`, DATABASE_URL: url })).toEqual({
      kind: 'postgres',
      url: `${url}?schema=crm`,
      schema: 'crm',
    });
    expect(storeConfigFromEnv('sales', { SALES_DATABASE_URL: url })).toEqual({
      kind: 'postgres',
      url,
      schema: 'sales',
    });
    expect(storeConfigFromEnv('sales', { DATABASE_URL: url, CUSTOMERS_DATABASE_URL: 'x' })).toEqual({
      kind: 'postgres',
      url,
      schema: 'sales',
    });
    expect(storeConfigFromEnv('sales', { HUB_DATA_DIR: '/var/hub', DATABASE_URL: '' })).toEqual({
      kind: 'embedded',
      dataDir: '/var/hub/sales',
    });
    expect(storeConfigFromEnv('sales', {})).toEqual({
      kind: 'embedded',
      dataDir: join(process.cwd(), '.data', 'sales'),
    });
  });
});
