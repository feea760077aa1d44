import { useTestSubgraph } from '@hub/core/testing';
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
