/**
 * Right to erasure end to end (issue 11 item 4): the whole hub as real processes on PostgreSQL,
 * the embedded bus between them, the gateway in front. An admin erases a demo customer that has data
 * in every domain (plus a synced contact whose email also sits, encrypted, in the outbox and a dead letter):
 * every domain reports what it did; afterwards the email appears in no row of any table of any
 * store, no domain but finance (its retained financial records) holds a row of the customer, and no
 * write path — a sync event, a mutation, a repeated erasure — brings anything back. Only admins of
 * the customer's own tenant may erase.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHub, type Hub } from './support/hub.js';
import { DOMAINS } from './support/matrix.js';

const SYNC_CUSTOMERS = `mutation Sync($events: [CustomersSyncEventInput!]!) {
  syncCustomers(events: $events) { results { outcome code field reason } }
}`;
const ERASE = `mutation Erase($id: ID!) {
  eraseCustomer(id: $id) {
    customerId
    ${DOMAINS.map((d) => `${d} { status erasedAt requestedBy deleted { model count } retained { model count reason } bookkeeping { model count } }`).join('\n    ')}
  }
}`;
const REPORT = `query Report($id: ID!) { customerErasure(customerId: $id) { customerId customers { status erasedAt } sales { status erasedAt } } }`;

type Counts = { model: string; count: number; reason?: string | null }[];
type DomainReport = {
  status: string;
  erasedAt: string | null;
  requestedBy: string | null;
  deleted: Counts;
  retained: Counts;
  bookkeeping: Counts;
};
type EraseAnswer = { eraseCustomer: Record<string, DomainReport> & { customerId: string } };
type SyncAnswer = {
  syncCustomers: { results: { outcome: string; code: string | null; field: string | null; reason: string | null }[] };
};

describe('eraseCustomer through the gateway', () => {
  let hub: Hub;
  let db: pg.Client;
  let admin: string;
  let customer: string;
  const email = `erase.${randomBytes(4).toString('hex')}@example.test`;
  const contact = (phone: string, at: string) => ({
    contactRecordSync: {
      customerId: customer,
      contactId: `cont_erase_${phone.length}`,
      firstName: 'Ada',
      lastName: 'Byron',
      email,
      phone,
      syncTimestamp: at,
    },
  });

  /** Rows of the customer in every customer-keyed table of every domain schema. */
  async function customerRows(): Promise<Record<string, number>> {
    const { rows: tables } = await db.query<{ schema: string; table: string; column: string }>(
      `SELECT table_schema AS schema, table_name AS table, column_name AS column FROM information_schema.columns
        WHERE table_schema = ANY($1::text[]) AND column_name IN ('customerId') ORDER BY 1, 2`,
      [DOMAINS],
    );
    const counts: Record<string, number> = {};
    for (const { schema, table, column } of tables) {
      const { rows } = await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM "${schema}"."${table}" WHERE "${column}" = $1`,
        [customer],
      );
      if ((rows[0]?.n ?? 0) > 0) counts[`${schema}.${table}`] = rows[0]?.n ?? 0;
    }
    const { rows: own } = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM customers."Customer" WHERE id = $1`,
      [customer],
    );
    if ((own[0]?.n ?? 0) > 0) counts['customers.Customer'] = own[0]?.n ?? 0;
    return counts;
  }

  /** Tables of any domain schema with a row whose text holds `needle` anywhere (any column, json included). */
  async function tablesHolding(needle: string): Promise<string[]> {
    const { rows: tables } = await db.query<{ schema: string; table: string }>(
      `SELECT table_schema AS schema, table_name AS table FROM information_schema.tables
        WHERE table_schema = ANY($1::text[]) AND table_type = 'BASE TABLE' ORDER BY 1, 2`,
      [DOMAINS],
    );
    const holding: string[] = [];
    for (const { schema, table } of tables) {
      const { rows } = await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM "${schema}"."${table}" t WHERE t::text LIKE $1`,
        [`%${needle}%`],
      );
      if ((rows[0]?.n ?? 0) > 0) holding.push(`${schema}.${table}`);
    }
    return holding;
  }

  /** The customer's outbox events and dead letters that hold a contact's email (encrypted). */
  async function encryptedCopies(): Promise<{ outbox: number; letters: number } | undefined> {
    const { rows } = await db.query<{ outbox: number; letters: number }>(
      `SELECT (SELECT count(*)::int FROM customers.hub_sync_outbox
                WHERE customer_id = $1 AND type = 'customers.contact_record_sync' AND payload->'data'->>'email' LIKE 'v1:%') AS outbox,
              (SELECT count(*)::int FROM customers.hub_sync_dead_letter
                WHERE payload->>'customerId' = $1 AND payload->>'email' LIKE 'v1:%') AS letters`,
      [customer],
    );
    return rows[0];
  }

  beforeAll(async () => {
    hub = await startHub();
    admin = await hub.token({ tenant: 'acme', roles: ['admin'] });
    db = new pg.Client({ connectionString: hub.database.url });
    await db.connect();
    // A demo customer with rows in every domain that keeps customer rows.
    const { rows } = await db.query<{ id: string }>(
      `SELECT c.id FROM customers."Customer" c
        WHERE c."tenantId" = 'acme'
          AND EXISTS (SELECT 1 FROM customers."Contact" x WHERE x."customerId" = c.id)
          AND EXISTS (SELECT 1 FROM support."Ticket" x WHERE x."customerId" = c.id)
          AND EXISTS (SELECT 1 FROM product."FeatureUsage" x WHERE x."customerId" = c.id)
          AND EXISTS (SELECT 1 FROM finance."Invoice" x WHERE x."customerId" = c.id)
          AND EXISTS (SELECT 1 FROM health."HealthScore" x WHERE x."customerId" = c.id)
          AND EXISTS (SELECT 1 FROM sales."RenewalForecast" x WHERE x."customerId" = c.id)
        ORDER BY c.id LIMIT 1`,
    );
    customer = rows[0]?.id ?? '';
    expect(customer).not.toBe('');
    // A synced contact (its email now in the customers outbox too) and a refused one (a dead letter),
    // both holding it encrypted (README, Encryption at rest).
    const applied = await hub.query<SyncAnswer>(
      SYNC_CUSTOMERS,
      { events: [contact('+1 555 0100', '2026-11-01T00:00:00Z')] },
      admin,
    );
    expect(applied.data?.syncCustomers.results.map((r) => r.outcome)).toEqual(['APPLIED']);
    const refused = await hub.query<SyncAnswer>(
      SYNC_CUSTOMERS,
      { events: [contact('not a phone!', '2026-11-02T00:00:00Z')] },
      admin,
    );
    expect(refused.data?.syncCustomers.results.map((r) => r.outcome)).toEqual(['REJECTED']);
    expect(await encryptedCopies()).toEqual({ outbox: 1, letters: 1 });
    // Encrypted at rest, the bookkeeping included: no row holds the address, before the erasure too.
    expect(await tablesHolding(email)).toEqual([]);
  }, 300_000);

  afterAll(async () => {
    await db?.end();
    await hub?.stop();
  });

  it('is refused to every role but admin, and to another tenant’s admin (NOT_FOUND), changing nothing', async () => {
    for (const roles of [['cs_manager'], ['sales_rep'], ['marketing'], ['finance']] as const) {
      const token = await hub.token({ tenant: 'acme', roles: [...roles], sub: 'u1', book: ['u1'] });
      const res = await hub.query(ERASE, { id: customer }, token);
      expect(res.errors?.[0]?.extensions?.['code'], roles.join()).toBe('FORBIDDEN');
    }
    const globex = await hub.token({ tenant: 'globex', roles: ['admin'] });
    const res = await hub.query(ERASE, { id: customer }, globex);
    expect(res.errors?.map((e) => e.extensions?.['code'])).toContain('NOT_FOUND');
    expect((await customerRows())['customers.Customer']).toBe(1);
    const report = await hub.query<{ customerErasure: unknown }>(REPORT, { id: customer }, admin);
    expect(report.data?.customerErasure).toBeNull();
  });

  it('erases the customer in every domain, reports each, and leaves its personal data nowhere', async () => {
    const before = await customerRows();
    for (const table of [
      'customers.Contact',
      'support.Ticket',
      'product.FeatureUsage',
      'finance.Invoice',
      'health.HealthScore',
    ])
      expect(before[table], table).toBeGreaterThan(0);

    const res = await hub.query<EraseAnswer>(ERASE, { id: customer }, admin);
    expect(res.errors).toBeUndefined();
    const answer = res.data?.eraseCustomer;
    expect(answer?.customerId).toBe(customer);
    for (const domain of DOMAINS) {
      expect(answer?.[domain]?.status, domain).toBe('ERASED');
      expect(answer?.[domain]?.requestedBy, domain).toBe('admin:u1');
    }
    const deleted = (domain: string, model: string) =>
      answer?.[domain]?.deleted.find((c) => c.model === model)?.count ?? -1;
    expect(deleted('customers', 'Contact')).toBe(before['customers.Contact']);
    expect(deleted('customers', 'Customer')).toBe(1);
    expect(deleted('support', 'Ticket')).toBe(before['support.Ticket']);
    expect(deleted('product', 'FeatureUsage')).toBe(before['product.FeatureUsage']);
    expect(answer?.finance?.retained.map((c) => [c.model, c.count])).toEqual([
      ['RevenueAttribution', before['finance.RevenueAttribution'] ?? 0],
      ['Invoice', before['finance.Invoice']],
    ]);
    expect(answer?.finance?.retained.every((c) => (c.reason ?? '').includes('statutory'))).toBe(true);

    // Only finance's retained records still name the customer; the email is in no table at all.
    const after = await customerRows();
    expect(Object.keys(after).sort()).toEqual(
      ['finance.Invoice', ...(before['finance.RevenueAttribution'] ? ['finance.RevenueAttribution'] : [])].sort(),
    );
    expect(await tablesHolding(email)).toEqual([]);
    // The bookkeeping is scrubbed as before: no copy of the email is left, not even encrypted.
    expect(await encryptedCopies()).toEqual({ outbox: 0, letters: 0 });
  });

  it('brings nothing back: sync events, mutations and a repeated erasure are refused or change nothing', async () => {
    const first = await hub.query<{ customerErasure: { customers: { erasedAt: string }; sales: { status: string } } }>(
      REPORT,
      { id: customer },
      admin,
    );
    expect(first.data?.customerErasure.sales.status).toBe('ERASED');
    const record = await hub.query<SyncAnswer>(
      SYNC_CUSTOMERS,
      {
        events: [
          {
            customerRecordSync: {
              customerId: customer,
              name: 'Back again',
              tier: 'SMB',
              lifecycleStatus: 'ACTIVE',
              ownerId: 'u1',
              syncTimestamp: '2026-12-01T00:00:00Z',
            },
          },
          contact('+1 555 0101', '2026-12-01T00:00:00Z'),
        ],
      },
      admin,
    );
    expect(record.errors).toBeUndefined();
    expect(record.data?.syncCustomers.results.map((r) => [r.outcome, r.code])).toEqual([
      // The customers store's trigger refuses the erased id; a contact needs its customer.
      ['REJECTED', 'BAD_USER_INPUT'],
      ['REJECTED', 'NOT_FOUND'],
    ]);
    expect(record.data?.syncCustomers.results[0]?.reason).toBe(`Customer: customer ${customer} was erased`);
    const usage = await hub.query(
      `mutation($input: RecordFeatureUsageInput!) { recordFeatureUsage(input: $input) { usageCount } }`,
      {
        input: {
          customerId: customer,
          periodStart: '2026-12-01',
          periodEnd: '2026-12-31',
          feature: 'after_erasure',
          category: 'CORE',
          usageCount: 1,
          adoptionScore: 0.5,
          successCorrelation: 0.5,
        },
      },
      admin,
    );
    expect(usage.errors?.map((e) => e.extensions?.['code'])).toEqual(['NOT_FOUND']);
    const again = await hub.query<EraseAnswer>(ERASE, { id: customer }, admin);
    expect(again.data?.eraseCustomer.customers?.erasedAt).toBe(first.data?.customerErasure.customers.erasedAt);
    expect(Object.keys(await customerRows()).filter((t) => !t.startsWith('finance.'))).toEqual([]);
    expect(await tablesHolding(email)).toEqual([]);
  });
});
