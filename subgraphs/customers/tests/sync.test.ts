import { acme, gql, useTestSubgraph } from '@hub/core/testing';
import type { SqlExecutor } from '@hub/core/sync/types';
import type { PrismaClient } from '@hub/store/customers';
import { describe, expect, it } from 'vitest';
import { subgraph } from '../src/server.js';
import {
  assignOwner,
  contactRecordSync,
  createCustomer,
  customerRecordSync,
  sync,
  updateCustomer,
} from '../src/sync.js';
import type { ContactRecordSyncInput, CustomerRecordSyncInput } from '../src/generated/resolvers-types.js';

/** customer_record_sync as documented in schema.graphql, camelCased. */
const CUSTOMER = {
  customerId: 'cust_12345',
  name: 'Blue Labs',
  domain: 'bluelabs.example',
  industry: 'Healthcare',
  tier: 'enterprise',
  lifecycleStatus: 'active',
  country: 'US',
  employeeCount: 1200,
  ownerId: 'u1',
  syncTimestamp: '2025-12-05T08:21:00Z',
} as unknown as CustomerRecordSyncInput;

/** contact_record_sync as documented in schema.graphql, camelCased. */
const CONTACT = {
  customerId: 'cust_12345',
  contactId: 'cont_12345_1',
  firstName: 'Ada',
  lastName: 'Byron',
  email: 'ada@bluelabs.example',
  phone: '+1 555 0100',
  title: 'VP Operations',
  isPrimary: true,
  syncTimestamp: '2025-12-05T08:21:00Z',
} as unknown as ContactRecordSyncInput;

function rejection(fn: () => unknown): { code: unknown; field: unknown } {
  try {
    fn();
  } catch (error) {
    const extensions = (error as { extensions?: Record<string, unknown> }).extensions ?? {};
    return { code: extensions['code'], field: extensions['field'] };
  }
  throw new Error('expected a rejection');
}

const hub = useTestSubgraph(subgraph);
const client = () => hub.store.client as PrismaClient;

function sql(statements: string[] = []): SqlExecutor {
  return {
    query: (text, ...params) => {
      statements.push(text);
      return client().$queryRawUnsafe(text, ...params);
    },
  };
}

describe('customers sync declaration: customer_record_sync', () => {
  const at = new Date('2025-12-05T08:21:00Z');

  it('maps a record to the customer and its CSM assignment, enum values in the brief’s lowercase', () => {
    expect(customerRecordSync.sourceTime(CUSTOMER)).toEqual(at);
    expect(customerRecordSync.map(CUSTOMER)).toEqual([
      {
        model: 'Customer',
        key: { id: 'cust_12345' },
        fields: {
          name: 'Blue Labs',
          domain: 'bluelabs.example',
          industry: 'Healthcare',
          tier: 'ENTERPRISE',
          lifecycleStatus: 'ACTIVE',
          country: 'US',
          employeeCount: 1200,
          ownerId: 'u1',
        },
      },
      {
        model: 'OwnerAssignment',
        key: { customerId: 'cust_12345', role: 'CSM' },
        fields: { ownerId: 'u1', assignedAt: at },
      },
    ]);
  });

  it('a sparse record writes only what it carries: the rest keeps its stored value', () => {
    const sparse = {
      customerId: 'cust_12345',
      name: 'Blue Labs',
      ownerId: 'u1',
      syncTimestamp: CUSTOMER.syncTimestamp,
    };
    expect(customerRecordSync.map(sparse as CustomerRecordSyncInput)[0]?.fields).toEqual({
      name: 'Blue Labs',
      ownerId: 'u1',
    });
  });

  it.each([
    ['customerId', 'acct_1'],
    ['name', undefined],
    ['name', '   '],
    ['ownerId', undefined],
    ['domain', 'not a domain'],
    ['tier', 'gold'],
    ['lifecycleStatus', 'paused'],
    ['country', 'USA'],
    ['employeeCount', -1],
    ['syncTimestamp', '2999-01-01T00:00:00Z'],
  ])('rejects %s = %j as BAD_USER_INPUT naming the field', (path, value) => {
    const payload = { ...CUSTOMER, [path]: value } as CustomerRecordSyncInput;
    expect(rejection(() => customerRecordSync.map(payload))).toEqual({ code: 'BAD_USER_INPUT', field: path });
  });

  it.each([
    ['ENTERPRISE', 1200, true],
    ['enterprise', 12, false],
    ['smb', 40, true],
    ['SMB', 9000, false],
    ['mid_market', 9000, true],
  ])('validity: tier %s with %d employees is plausible: %s', (tier, employeeCount, ok) => {
    expect(customerRecordSync.quality.validity?.({ ...CUSTOMER, tier, employeeCount })).toEqual([
      { field: 'employeeCount', ok },
    ]);
  });

  it('no owner: the customers store is the system of record of its own records', () => {
    for (const model of Object.values(sync.models)) expect(model.owners).toBeUndefined();
    // Parents first, so a batch writes a customer before the contacts and assignments that refer to it.
    expect(Object.keys(sync.models)).toEqual(['Customer', 'Contact', 'OwnerAssignment']);
  });

  it('offers the two record kinds to the sync API and keeps each mutation’s kind to itself', () => {
    expect(sync.kinds.filter((kind) => !kind.mutationOnly).map((kind) => kind.name)).toEqual([
      'customer_record_sync',
      'contact_record_sync',
    ]);
    expect(sync.kinds.filter((kind) => kind.mutationOnly).map((kind) => [kind.name, kind.mode ?? 'upsert'])).toEqual([
      ['create_customer', 'insert'],
      ['update_customer', 'update'],
      ['create_contact', 'insert'],
      ['update_contact', 'update'],
      ['assign_owner', 'upsert'],
    ]);
  });
});

describe('customers sync declaration: contact_record_sync', () => {
  it('maps a record to the contact keyed by the source’s id', () => {
    expect(contactRecordSync.map(CONTACT)).toEqual([
      {
        model: 'Contact',
        key: { id: 'cont_12345_1' },
        fields: {
          customerId: 'cust_12345',
          firstName: 'Ada',
          lastName: 'Byron',
          email: 'ada@bluelabs.example',
          phone: '+1 555 0100',
          title: 'VP Operations',
          isPrimary: true,
        },
      },
    ]);
  });

  it.each([
    ['contactId', 'has spaces'],
    ['customerId', 'acme-42'],
    ['firstName', undefined],
    ['lastName', ''],
    ['email', 'not-an-email'],
    ['email', undefined],
    ['phone', 'call me'],
    ['title', 'x'.repeat(201)],
  ])('rejects %s = %j as BAD_USER_INPUT naming the field', (path, value) => {
    const payload = { ...CONTACT, [path]: value } as ContactRecordSyncInput;
    expect(rejection(() => contactRecordSync.map(payload))).toEqual({ code: 'BAD_USER_INPUT', field: path });
  });

  it('consistency: the email belongs to the customer’s stored web domain (one statement per batch)', async () => {
    const customers = await client().customer.findMany({
      where: { tenantId: 'acme', domain: { not: null } },
      take: 2,
      orderBy: { id: 'asc' },
    });
    const [a, b] = customers;
    if (!a?.domain || !b?.domain) throw new Error('demo data has customers with domains');
    const payloads = [
      { ...CONTACT, customerId: a.id, email: `ada@${a.domain}` },
      { ...CONTACT, customerId: a.id, email: `ada@eu.${a.domain}` },
      { ...CONTACT, customerId: a.id, email: `ada@${b.domain}` },
      { ...CONTACT, customerId: b.id, email: 'ada@gmail.example' },
      { ...CONTACT, customerId: 'cust_unknown', email: 'ada@gmail.example' },
    ];
    const statements: string[] = [];
    const facts = await contactRecordSync.quality.loadFacts?.(sql(statements), 'acme', payloads);
    expect(statements).toHaveLength(1);
    expect(payloads.map((p) => contactRecordSync.quality.consistency?.(p, facts))).toEqual([
      [{ field: 'email', ok: true }],
      [{ field: 'email', ok: true }],
      [{ field: 'email', ok: false }],
      [{ field: 'email', ok: false }],
      [], // no stored domain to compare with
    ]);
    // Another tenant's customers are no facts for acme's batch.
    const foreign = await contactRecordSync.quality.loadFacts?.(sql(), 'globex', payloads.slice(0, 1));
    expect(contactRecordSync.quality.consistency?.(payloads[0] as ContactRecordSyncInput, foreign)).toEqual([]);
  });

  /** A customer with three contacts, the first primary, in `tenantId` (ids prefixed by the tenant). */
  async function family(tenantId: string, customerId: string): Promise<string[]> {
    const db = client();
    await db.customer.create({ data: { id: customerId, tenantId, name: 'Family', ownerId: 'u1' } });
    const ids = [1, 2, 3].map((n) => `${tenantId}_${customerId}_${n}`);
    await db.contact.createMany({
      data: ids.map((id, i) => ({
        id,
        tenantId,
        customerId,
        firstName: 'F',
        lastName: String(i),
        email: `${i}@family.example`,
        isPrimary: i === 0,
      })),
    });
    return ids;
  }

  const primaries = async (tenantId: string, customerId: string) =>
    (await client().contact.findMany({ where: { tenantId, customerId, isPrimary: true }, orderBy: { id: 'asc' } })).map(
      (c) => c.id,
    );

  it('afterApply: the last contact made primary in a batch stays primary, the customer’s others stop being', async () => {
    const [first, second, third] = await family('acme', 'cust_family_1');
    if (!first || !second || !third) throw new Error('unreachable');
    // As the engine leaves them after writing the batch's rows: second and third both set primary.
    await client().contact.updateMany({ where: { id: { in: [second, third] } }, data: { isPrimary: true } });
    const statements: string[] = [];
    await contactRecordSync.afterApply?.(sql(statements), 'acme', [
      { payload: { ...CONTACT, isPrimary: false }, rows: [{ model: 'Contact', id: first }] },
      { payload: { ...CONTACT, isPrimary: true }, rows: [{ model: 'Contact', id: second }] },
      { payload: { ...CONTACT, isPrimary: true }, rows: [{ model: 'Contact', id: third }] },
    ]);
    expect(statements).toHaveLength(1);
    expect(await primaries('acme', 'cust_family_1')).toEqual([third]);
  });

  it('afterApply: a contact whose isPrimary lost its conflict (not primary in the store) demotes nobody', async () => {
    const [first, second] = await family('acme', 'cust_family_2');
    if (!first || !second) throw new Error('unreachable');
    await contactRecordSync.afterApply?.(sql(), 'acme', [
      { payload: { ...CONTACT, isPrimary: true }, rows: [{ model: 'Contact', id: second }] },
    ]);
    expect(await primaries('acme', 'cust_family_2')).toEqual([first]);
  });
});

describe('customers sync declaration: the mutations’ kinds', () => {
  const sourceUpdatedAt = new Date('2025-12-05T09:00:00Z');

  it('createCustomer: defaults as today, the CSM assignment in the same event', () => {
    const rows = createCustomer.map({ id: 'cust_new_1', name: ' Orbit ', ownerId: 'u3', sourceUpdatedAt });
    expect(rows).toEqual([
      {
        model: 'Customer',
        key: { id: 'cust_new_1' },
        fields: {
          name: 'Orbit',
          domain: null,
          industry: null,
          tier: 'SMB',
          lifecycleStatus: 'ONBOARDING',
          country: null,
          employeeCount: null,
          ownerId: 'u3',
        },
      },
      {
        model: 'OwnerAssignment',
        key: { customerId: 'cust_new_1', role: 'CSM' },
        fields: { ownerId: 'u3', assignedAt: sourceUpdatedAt },
      },
    ]);
    expect(createCustomer.sourceTime({ id: 'cust_new_1', name: 'x', ownerId: 'u3', sourceUpdatedAt })).toEqual(
      sourceUpdatedAt,
    );
  });

  it('updateCustomer: only the given fields; null on a required one names input.<field>', () => {
    expect(updateCustomer.map({ id: 'cust_00002', tier: 'ENTERPRISE', sourceUpdatedAt })).toEqual([
      { model: 'Customer', key: { id: 'cust_00002' }, fields: { tier: 'ENTERPRISE' } },
    ]);
    expect(rejection(() => updateCustomer.map({ id: 'cust_00002', name: null, sourceUpdatedAt }))).toEqual({
      code: 'BAD_USER_INPUT',
      field: 'input.name',
    });
  });

  it.each([
    ['CSM', ['Customer', 'OwnerAssignment']],
    ['ACCOUNT_EXECUTIVE', ['OwnerAssignment']],
    ['EXECUTIVE_SPONSOR', ['OwnerAssignment']],
  ] as const)('assignOwner %s writes %j', (role, models) => {
    const rows = assignOwner.map({ customerId: 'cust_00002', ownerId: 'u6', role, sourceUpdatedAt });
    expect(rows.map((row) => row.model)).toEqual(models);
    expect(rows.at(-1)).toEqual({
      model: 'OwnerAssignment',
      key: { customerId: 'cust_00002', role },
      fields: { ownerId: 'u6', assignedAt: sourceUpdatedAt },
    });
  });
});

const SYNC = /* GraphQL */ `
  mutation ($events: [CustomersSyncEventInput!]!) {
    syncCustomers(events: $events) {
      results {
        outcome
        firstOutcome
        code
        field
        quality {
          completeness
          validity
          consistency
        }
      }
    }
  }
`;

interface EventResult {
  outcome: string;
  firstOutcome: string | null;
  code: string | null;
  field: string | null;
  quality: { completeness: number; validity: number; consistency: number } | null;
}

async function syncCustomers(events: Record<string, unknown>[]): Promise<EventResult[]> {
  const res = await gql<{ syncCustomers: { results: EventResult[] } }>(hub.url, SYNC, { events }, acme);
  expect(res.errors).toBeUndefined();
  return res.data?.syncCustomers.results ?? [];
}

describe('customers sync through the pipeline (syncCustomers)', () => {
  it('a customer and its contacts in one batch: the customer exists for the contacts after it', async () => {
    const customer = { ...CUSTOMER, customerId: 'cust_sync_1', domain: 'sync-one.example' };
    const contact = (n: number, patch: Record<string, unknown> = {}) => ({
      ...CONTACT,
      customerId: 'cust_sync_1',
      contactId: `cont_sync_1_${n}`,
      email: `c${n}@sync-one.example`,
      isPrimary: false,
      ...patch,
    });
    const results = await syncCustomers([
      { source: 'salesforce', customerRecordSync: customer },
      { source: 'salesforce', contactRecordSync: contact(1, { isPrimary: true }) },
      { source: 'salesforce', contactRecordSync: contact(2, { email: 'c2@gmail.example' }) },
      { source: 'salesforce', contactRecordSync: contact(3, { customerId: 'cust_nobody' }) },
      { source: 'salesforce', contactRecordSync: contact(4, { email: 'nope' }) },
      { source: 'salesforce', customerRecordSync: customer },
    ]);
    expect(results.map((r) => [r.outcome, r.code, r.field])).toEqual([
      ['APPLIED', null, null],
      ['APPLIED', null, null],
      ['APPLIED', null, null],
      ['REJECTED', 'NOT_FOUND', 'customerId'],
      ['REJECTED', 'BAD_USER_INPUT', 'email'],
      ['DUPLICATE', null, null],
    ]);
    // Facts are the store's before the batch: the customer is new, so no stored domain contradicts gmail.
    expect(results[2]?.quality?.consistency).toBe(1);
    const read = await gql<{ customer: Record<string, unknown> }>(
      hub.url,
      '{ customer(id: "cust_sync_1") { name tier lifecycleStatus ownerId sourceSystem owners { role ownerId } contacts { totalCount } } }',
      {},
      acme,
    );
    expect(read.data?.customer).toEqual({
      name: 'Blue Labs',
      tier: 'ENTERPRISE',
      lifecycleStatus: 'ACTIVE',
      ownerId: 'u1',
      sourceSystem: 'salesforce',
      owners: [{ role: 'CSM', ownerId: 'u1' }],
      contacts: { totalCount: 2 },
    });
  });

  it('a newer primary contact demotes the customer’s previous primary; an older record is STALE', async () => {
    const base = { ...CONTACT, customerId: 'cust_sync_1', email: 'p@sync-one.example' };
    const [newer] = await syncCustomers([
      {
        contactRecordSync: {
          ...base,
          contactId: 'cont_sync_1_2',
          isPrimary: true,
          syncTimestamp: '2025-12-05T09:00:00Z',
        },
      },
    ]);
    expect(newer?.outcome).toBe('APPLIED');
    const primaries = await client().contact.findMany({ where: { customerId: 'cust_sync_1', isPrimary: true } });
    expect(primaries.map((c) => c.id)).toEqual(['cont_sync_1_2']);
    const [older] = await syncCustomers([
      {
        contactRecordSync: {
          ...base,
          contactId: 'cont_sync_1_2',
          title: 'Old title',
          syncTimestamp: '2025-12-01T00:00:00Z',
        },
      },
    ]);
    expect(older?.outcome).toBe('STALE');
    // Now the customer's domain is stored: an address elsewhere is inconsistent with it.
    const [elsewhere, onDomain] = await syncCustomers([
      { contactRecordSync: { ...base, contactId: 'cont_sync_1_5', email: 'x@gmail.example', isPrimary: false } },
      { contactRecordSync: { ...base, contactId: 'cont_sync_1_6', email: 'y@sync-one.example', isPrimary: false } },
    ]);
    expect([elsewhere?.quality?.consistency, onDomain?.quality?.consistency]).toEqual([0, 1]);
  });

  it('createCustomer with a client id replays it instead of CONFLICT; another write’s id stays CONFLICT', async () => {
    const create = 'mutation ($input: CreateCustomerInput!) { createCustomer(input: $input) { id name } }';
    const input = { id: 'cust_replay_1', name: 'Replay Co', ownerId: 'u1' };
    const first = await gql(hub.url, create, { input }, acme);
    const second = await gql(hub.url, create, { input: { ...input, name: 'Changed' } }, acme);
    expect(first.data).toEqual({ createCustomer: { id: 'cust_replay_1', name: 'Replay Co' } });
    expect(second.data).toEqual(first.data);
    // cust_sync_1 came from a sync, not from this mutation: creating it is a CONFLICT.
    const taken = await gql(hub.url, create, { input: { ...input, id: 'cust_sync_1' } }, acme);
    expect(taken.errors?.[0]?.extensions?.['code']).toBe('CONFLICT');
  });

  it('createContact and assignOwner replay a repeated idempotencyKey with the row of the first call', async () => {
    const create = 'mutation ($input: CreateContactInput!) { createContact(input: $input) { id email } }';
    const input = {
      customerId: 'cust_replay_1',
      firstName: 'Ri',
      lastName: 'Play',
      email: 'ri@replay.example',
      idempotencyKey: 'contact-replay-1',
    };
    const first = await gql<{ createContact: { id: string } }>(hub.url, create, { input }, acme);
    const second = await gql(hub.url, create, { input }, acme);
    expect(first.errors).toBeUndefined();
    expect(second.data).toEqual(first.data);
    expect(await client().contact.count({ where: { customerId: 'cust_replay_1' } })).toBe(1);

    const assign = 'mutation ($input: AssignOwnerInput!) { assignOwner(input: $input) { customerId ownerId role } }';
    const owner = { customerId: 'cust_replay_1', ownerId: 'u7', role: 'CSM', idempotencyKey: 'assign-replay-1' };
    const a = await gql(hub.url, assign, { input: owner }, acme);
    const b = await gql(hub.url, assign, { input: { ...owner, ownerId: 'u8' } }, acme);
    expect(a.data).toEqual({ assignOwner: { customerId: 'cust_replay_1', ownerId: 'u7', role: 'CSM' } });
    expect(b.data).toEqual(a.data);
    expect((await client().customer.findUniqueOrThrow({ where: { id: 'cust_replay_1' } })).ownerId).toBe('u7');
  });
});
