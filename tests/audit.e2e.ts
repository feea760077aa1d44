/**
 * The audit trail end to end (issue 11 item 1): the whole hub as real processes on PostgreSQL, the
 * gateway in front. A sync event and a mutation of a contact are recorded with who, source, key and
 * before/after, the contact's email, phone and names only as markers (no PII value in any audit row);
 * a product change reaches health's consumer, whose write is recorded as the consumer; an admin's
 * read of unmasked contact PII is recorded, a masked read is not; `auditTrail` is for admins of the
 * tenant only and one query reads the customer across domains; `npm run audit:verify` finds every
 * chain intact, then the row an attacker edited with the trigger disabled.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '@hub/core/process';
import type { AuditEntryNode } from '@hub/core/audit';
import { startHub, type Hub } from './support/hub.js';

const run = promisify(execFile);

const SYNC_CUSTOMERS = `mutation Sync($events: [CustomersSyncEventInput!]!) {
  syncCustomers(events: $events) { results { outcome code reason } }
}`;
const UPDATE_CONTACT = `mutation Update($id: ID!, $input: UpdateContactInput!) { updateContact(id: $id, input: $input) { id } }`;
const RECORD_USAGE = `mutation Record($input: RecordFeatureUsageInput!) { recordFeatureUsage(input: $input) { usageCount } }`;
const READ_CONTACTS = `query Contacts($id: ID!) { customer(id: $id) { contacts { edges { node { id email phone } } } } }`;
const NODE = 'action actorType actorId actorRole source idempotencyKey operation customerIds model rowId changes';
const trail = (domains: readonly string[]) => `query Trail($id: ID!, $from: DateTime) {
  sync { ${domains.map((d) => `${d} { auditTrail(customerId: $id, from: $from, first: 500) { totalCount edges { node { ${NODE} } } } }`).join(' ')} }
}`;

/** The fields NODE selects, as the graph answers them (a JSON string for `changes`, `at` not asked). */
type Entry = Pick<
  AuditEntryNode,
  | 'action'
  | 'actorType'
  | 'actorId'
  | 'actorRole'
  | 'source'
  | 'idempotencyKey'
  | 'operation'
  | 'customerIds'
  | 'model'
  | 'rowId'
  | 'changes'
>;
type TrailAnswer = { sync: Record<string, { auditTrail: { totalCount: number; edges: { node: Entry }[] } }> };

describe('the audit trail through the gateway', () => {
  let hub: Hub;
  let db: pg.Client;
  let admin: string;
  let customer: string;
  let started: string;
  const email = `audit.${randomBytes(4).toString('hex')}@example.test`;
  const contactId = `cont_audit_${randomBytes(3).toString('hex')}`;

  const entries = async (domain: string, token = admin) => {
    const res = await hub.query<TrailAnswer>(trail([domain]), { id: customer, from: started }, token);
    expect(res.errors).toBeUndefined();
    return res.data?.sync[domain]?.auditTrail.edges.map((e) => e.node) ?? [];
  };

  beforeAll(async () => {
    hub = await startHub();
    admin = await hub.token({ tenant: 'acme', roles: ['admin'], sub: 'u1' });
    db = new pg.Client({ connectionString: hub.database.url });
    await db.connect();
    const { rows } = await db.query<{ id: string }>(
      `SELECT c.id FROM customers."Customer" c WHERE c."tenantId" = 'acme'
          AND EXISTS (SELECT 1 FROM customers."Contact" x WHERE x."customerId" = c.id) ORDER BY c.id LIMIT 1`,
    );
    customer = rows[0]?.id ?? '';
    expect(customer).not.toBe('');
    started = new Date().toISOString();
  }, 300_000);

  afterAll(async () => {
    await db?.end();
    await hub?.stop();
  });

  it('records a sync event and a mutation with who, source, key and before/after, personal values as markers', async () => {
    const synced = await hub.query<{ syncCustomers: { results: { outcome: string }[] } }>(
      SYNC_CUSTOMERS,
      {
        events: [
          {
            idempotencyKey: 'audit-e2e-contact-1',
            source: 'hubspot',
            contactRecordSync: {
              customerId: customer,
              contactId,
              firstName: 'Ada',
              lastName: 'Lovelace',
              email,
              phone: '+1 555 0142',
              title: 'Analyst',
              syncTimestamp: new Date(Date.now() - 60_000).toISOString(),
            },
          },
        ],
      },
      admin,
    );
    expect(synced.data?.syncCustomers.results.map((r) => r.outcome)).toEqual(['APPLIED']);
    const updated = await hub.query(UPDATE_CONTACT, { id: contactId, input: { title: 'Head of Analytics' } }, admin);
    expect(updated.errors).toBeUndefined();

    const contact = (await entries('customers')).filter((e) => e.model === 'Contact' && e.rowId === contactId);
    expect(contact.map((e) => [e.action, e.actorType, e.actorId, e.actorRole])).toEqual([
      ['CREATE', 'user', 'u1', 'admin'],
      ['UPDATE', 'user', 'u1', 'admin'],
    ]);
    const [created, changed] = contact;
    expect(created).toMatchObject({
      source: 'hubspot',
      idempotencyKey: 'audit-e2e-contact-1',
      operation: 'contact_record_sync',
      customerIds: [customer],
    });
    const createdChanges = JSON.parse(created?.changes ?? '{}') as Record<string, unknown[]>;
    expect(createdChanges['email']).toEqual([null, '[PII]']);
    expect(createdChanges['phone']).toEqual([null, '[PII]']);
    expect(createdChanges['firstName']).toEqual([null, '[CONFIDENTIAL]']);
    expect(createdChanges['title']).toEqual([null, 'Analyst']);
    expect(JSON.parse(changed?.changes ?? '{}')).toEqual({ title: ['Analyst', 'Head of Analytics'] });
    expect(changed?.source).toBe('admin:u1');

    // No audit row of any store holds the contact's email, phone or family name.
    for (const needle of [email, '0142', 'Lovelace']) {
      const { rows } = await db.query<{ n: number }>(
        `SELECT (SELECT count(*) FROM customers."hub_audit" t WHERE t::text LIKE $1)::int AS n`,
        [`%${needle}%`],
      );
      expect(rows[0]?.n, needle).toBe(0);
    }
  });

  it('records the write of another domain’s consumer as that consumer', async () => {
    const usage = await hub.query(
      RECORD_USAGE,
      {
        input: {
          customerId: customer,
          periodStart: '2026-11-01',
          periodEnd: '2026-11-30',
          feature: `audit_${randomBytes(3).toString('hex')}`,
          category: 'CORE',
          usageCount: 7,
          adoptionScore: 0.5,
          successCorrelation: 0.5,
        },
      },
      admin,
    );
    expect(usage.errors).toBeUndefined();
    expect((await entries('product')).some((e) => e.operation === 'record_feature_usage')).toBe(true);
    // Health recomputes the customer from the product event in its consumer.
    let health: Entry[] = [];
    for (let i = 0; i < 100 && !health.some((e) => e.actorType === 'consumer'); i++) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      health = await entries('health');
    }
    const consumed = health.find((e) => e.actorType === 'consumer');
    expect(consumed?.actorId).toMatch(/^health\./);
    expect(consumed?.actorRole).toBeNull();
  }, 60_000);

  it('records an admin’s read of unmasked contact PII, and no masked read', async () => {
    const before = (await entries('customers')).filter((e) => e.action === 'PII_READ').length;
    const read = await hub.query<{ customer: { contacts: { edges: { node: { email: string } }[] } } }>(
      READ_CONTACTS,
      { id: customer },
      admin,
    );
    expect(read.data?.customer.contacts.edges.map((e) => e.node.email)).toContain(email);
    const reads = (await entries('customers')).filter((e) => e.action === 'PII_READ');
    expect(reads.length).toBe(before + 1);
    expect(reads.at(-1)).toMatchObject({ actorType: 'user', actorId: 'u1', customerIds: [customer] });
    expect(JSON.parse(reads.at(-1)?.changes ?? '{}')).toEqual({ fields: ['Contact.email', 'Contact.phone'] });

    // Marketing sees the contacts masked: nothing personal was read, nothing is recorded.
    const marketing = await hub.query<{ customer: { contacts: { edges: { node: { email: string } }[] } } }>(
      READ_CONTACTS,
      { id: customer },
      await hub.token({ tenant: 'acme', roles: ['marketing'], sub: 'm1' }),
    );
    expect(marketing.data?.customer.contacts.edges.some((e) => e.node.email === email)).toBe(false);
    const after = (await entries('customers')).filter((e) => e.action === 'PII_READ');
    expect(after.length).toBe(before + 1);
  });

  it('answers admins of the tenant only: other roles FORBIDDEN, another tenant’s admin nothing', async () => {
    for (const roles of [['cs_manager'], ['finance'], ['marketing'], ['sales_rep']] as const) {
      const token = await hub.token({ tenant: 'acme', roles: [...roles], sub: 'u2', book: ['u2'] });
      const res = await hub.query(trail(['customers']), { id: customer }, token);
      expect(res.errors?.[0]?.extensions?.['code'], roles.join()).toBe('FORBIDDEN');
      expect(res.data ?? null).toBeNull();
    }
    const globex = await hub.token({ tenant: 'globex', roles: ['admin'], sub: 'g1' });
    const res = await hub.query<TrailAnswer>(trail(['customers', 'product']), { id: customer }, globex);
    expect(res.errors).toBeUndefined();
    expect(res.data?.sync['customers']?.auditTrail.totalCount).toBe(0);
    expect(res.data?.sync['product']?.auditTrail.edges).toEqual([]);
  });

  it('gives the customer’s trail across domains in one query', async () => {
    const res = await hub.query<TrailAnswer>(
      trail(['customers', 'product', 'health']),
      { id: customer, from: started },
      admin,
    );
    expect(res.errors).toBeUndefined();
    for (const domain of ['customers', 'product', 'health'])
      expect(res.data?.sync[domain]?.auditTrail.totalCount, domain).toBeGreaterThan(0);
  });

  it('audit:verify finds every chain intact, then the entry edited by SQL with the trigger disabled', async () => {
    const env = { ...process.env, DATABASE_URL: hub.database.url };
    const cli = (args: string[]) =>
      run('npx', ['tsx', 'scripts/audit-verify.ts', ...args], { cwd: REPO_ROOT, env }).then(
        (out) => ({ code: 0, stdout: out.stdout }),
        (error: { code: number; stdout: string }) => ({ code: error.code, stdout: error.stdout }),
      );
    const intact = await cli([]);
    expect(intact.stdout).toMatch(/stream\(s\) intact/);
    expect(intact.code).toBe(0);

    const { rows } = await db.query<{ position: string }>(
      `SELECT "position" FROM customers."hub_audit"
        WHERE "tenant_id" = 'acme' AND "entry"::jsonb ->> 'rowId' = $1 AND "entry"::jsonb ->> 'action' = 'update'`,
      [contactId],
    );
    const position = rows[0]?.position ?? '';
    await db.query(`ALTER TABLE customers."hub_audit" DISABLE TRIGGER "hub_audit_append_only"`);
    await db.query(
      `UPDATE customers."hub_audit" SET "entry" = replace("entry", '"id":"u1"', '"id":"someone-else"')
        WHERE "tenant_id" = 'acme' AND "position" = $1`,
      [position],
    );
    await db.query(`ALTER TABLE customers."hub_audit" ENABLE TRIGGER "hub_audit_append_only"`);
    const broken = await cli(['--domain', 'customers']);
    expect(broken.code).toBe(1);
    expect(broken.stdout).toContain(`customers acme: BROKEN at position ${position} (hash)`);
  }, 120_000);
});
