import { acme, errorOf, globex, gql, useTestSubgraph } from '@hub/core/testing';
import { describe, expect, it } from 'vitest';
import { subgraph } from '../src/server.js';

const CREATE_CUSTOMER = /* GraphQL */ `
  mutation ($input: CreateCustomerInput!) {
    createCustomer(input: $input) {
      id
      name
      domain
      country
      tier
      lifecycleStatus
      employeeCount
      ownerId
      owners {
        role
        ownerId
      }
    }
  }
`;
const UPDATE_CUSTOMER = /* GraphQL */ `
  mutation ($id: ID!, $input: UpdateCustomerInput!) {
    updateCustomer(id: $id, input: $input) {
      id
      name
      tier
      industry
      employeeCount
    }
  }
`;
const CREATE_CONTACT = /* GraphQL */ `
  mutation ($input: CreateContactInput!) {
    createContact(input: $input) {
      id
      customerId
      email
      isPrimary
    }
  }
`;
const UPDATE_CONTACT = /* GraphQL */ `
  mutation ($id: ID!, $input: UpdateContactInput!) {
    updateContact(id: $id, input: $input) {
      id
      title
      isPrimary
    }
  }
`;
const ASSIGN_OWNER = /* GraphQL */ `
  mutation ($input: AssignOwnerInput!) {
    assignOwner(input: $input) {
      customerId
      ownerId
      role
    }
  }
`;

const hub = useTestSubgraph(subgraph);

describe('customers subgraph: mutations', () => {
  it('creates a customer with its CSM assignment, then updates it', async () => {
    const created = await gql<{ createCustomer: Record<string, unknown> }>(
      hub.url,
      CREATE_CUSTOMER,
      {
        input: {
          id: 'cust_new_1',
          name: '  Orbit Freight  ',
          domain: 'Orbit-Freight.example',
          country: 'de',
          ownerId: 'u3',
          employeeCount: 0,
        },
      },
      acme,
    );
    expect(created.errors).toBeUndefined();
    expect(created.data?.createCustomer).toEqual({
      id: 'cust_new_1',
      name: 'Orbit Freight',
      domain: 'orbit-freight.example',
      country: 'DE',
      tier: 'SMB',
      lifecycleStatus: 'ONBOARDING',
      employeeCount: 0,
      ownerId: 'u3',
      owners: [{ role: 'CSM', ownerId: 'u3' }],
    });

    const updated = await gql(
      hub.url,
      UPDATE_CUSTOMER,
      { id: 'cust_new_1', input: { tier: 'ENTERPRISE', industry: 'Logistics', employeeCount: 2500 } },
      acme,
    );
    expect(updated.data).toEqual({
      updateCustomer: {
        id: 'cust_new_1',
        name: 'Orbit Freight',
        tier: 'ENTERPRISE',
        industry: 'Logistics',
        employeeCount: 2500,
      },
    });

    const read = await gql(hub.url, '{ customer(id: "cust_new_1") { tier } }', {}, acme);
    expect(read.data).toEqual({ customer: { tier: 'ENTERPRISE' } });
  });

  it('a second customer with the same domain in the tenant is a CONFLICT', async () => {
    const res = await gql(
      hub.url,
      CREATE_CUSTOMER,
      { input: { name: 'Copy', domain: 'orbit-freight.example', ownerId: 'u1' } },
      acme,
    );
    expect(errorOf(res)).toMatchObject({ code: 'CONFLICT' });
  });

  it.each([
    ['a blank name', { name: '   ', ownerId: 'u1' }, 'input.name'],
    ['a 201-character name', { name: 'x'.repeat(201), ownerId: 'u1' }, 'input.name'],
    ['a negative employee count', { name: 'Ok', ownerId: 'u1', employeeCount: -1 }, 'input.employeeCount'],
    ['a malformed domain', { name: 'Ok', ownerId: 'u1', domain: 'not a domain' }, 'input.domain'],
    ['a three-letter country', { name: 'Ok', ownerId: 'u1', country: 'USA' }, 'input.country'],
    ['an empty owner', { name: 'Ok', ownerId: '' }, 'input.ownerId'],
    ['an id without the cust_ prefix', { name: 'Ok', ownerId: 'u1', id: 'acct_1' }, 'input.id'],
  ])('createCustomer rejects %s as BAD_USER_INPUT naming the field', async (_label, input, field) => {
    const res = await gql(hub.url, CREATE_CUSTOMER, { input }, acme);
    expect(errorOf(res)).toMatchObject({ code: 'BAD_USER_INPUT', field });
  });

  it('updateCustomer refuses to null a required field and answers NOT_FOUND for unknown or foreign ids', async () => {
    expect(
      errorOf(await gql(hub.url, UPDATE_CUSTOMER, { id: 'cust_00002', input: { name: null } }, acme)),
    ).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'input.name',
    });
    expect(
      errorOf(await gql(hub.url, UPDATE_CUSTOMER, { id: 'cust_99999', input: { name: 'X' } }, acme)),
    ).toMatchObject({
      code: 'NOT_FOUND',
      type: 'Customer',
      id: 'cust_99999',
    });
    // cust_00002 belongs to acme: a globex viewer cannot change it, and it stays unchanged.
    expect(
      errorOf(await gql(hub.url, UPDATE_CUSTOMER, { id: 'cust_00002', input: { name: 'Hijacked' } }, globex)),
    ).toMatchObject({
      code: 'NOT_FOUND',
    });
    const read = await gql<{ customer: { name: string } }>(
      hub.url,
      '{ customer(id: "cust_00002") { name } }',
      {},
      acme,
    );
    expect(read.data?.customer.name).not.toBe('Hijacked');
  });

  it('a new primary contact demotes the previous primary contact', async () => {
    const first = await gql<{ createContact: { id: string } }>(
      hub.url,
      CREATE_CONTACT,
      {
        input: {
          customerId: 'cust_new_1',
          firstName: 'Ada',
          lastName: 'Byron',
          email: 'ADA@orbit-freight.example',
          isPrimary: true,
        },
      },
      acme,
    );
    expect(first.data?.createContact).toMatchObject({ email: 'ada@orbit-freight.example', isPrimary: true });
    const second = await gql<{ createContact: { id: string } }>(
      hub.url,
      CREATE_CONTACT,
      {
        input: {
          customerId: 'cust_new_1',
          firstName: 'Alan',
          lastName: 'Turing',
          email: 'alan@orbit-freight.example',
          phone: '+44 20 7946 0000',
          isPrimary: true,
        },
      },
      acme,
    );
    expect(second.errors).toBeUndefined();
    const list = await gql<{ customer: { contacts: { edges: { node: { email: string; isPrimary: boolean } }[] } } }>(
      hub.url,
      '{ customer(id: "cust_new_1") { contacts { edges { node { email isPrimary } } } } }',
      {},
      acme,
    );
    const primary = list.data?.customer.contacts.edges
      .filter(({ node }) => node.isPrimary)
      .map(({ node }) => node.email);
    expect(primary).toEqual(['alan@orbit-freight.example']);

    const id = first.data?.createContact.id;
    const updated = await gql(hub.url, UPDATE_CONTACT, { id, input: { title: 'CEO' } }, acme);
    expect(updated.data).toEqual({ updateContact: { id, title: 'CEO', isPrimary: false } });
  });

  it('contact validation names the field; unknown customers and contacts are NOT_FOUND', async () => {
    const base = { customerId: 'cust_new_1', firstName: 'Bo', lastName: 'Li', email: 'bo@x.example' };
    expect(
      errorOf(await gql(hub.url, CREATE_CONTACT, { input: { ...base, email: 'not-an-email' } }, acme)),
    ).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'input.email',
    });
    expect(errorOf(await gql(hub.url, CREATE_CONTACT, { input: { ...base, phone: 'call me' } }, acme))).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'input.phone',
    });
    expect(
      errorOf(await gql(hub.url, CREATE_CONTACT, { input: { ...base, customerId: 'cust_00001' } }, globex)),
    ).toMatchObject({
      code: 'NOT_FOUND',
      type: 'Customer',
    });
    expect(
      errorOf(await gql(hub.url, UPDATE_CONTACT, { id: 'cont_00001_1', input: { title: 'x' } }, globex)),
    ).toMatchObject({
      code: 'NOT_FOUND',
      type: 'Contact',
    });
  });

  it('assigning a CSM moves the customer into the new owner’s book; other roles do not', async () => {
    const ae = await gql(
      hub.url,
      ASSIGN_OWNER,
      { input: { customerId: 'cust_new_1', ownerId: 'u5', role: 'ACCOUNT_EXECUTIVE' } },
      acme,
    );
    expect(ae.data).toEqual({ assignOwner: { customerId: 'cust_new_1', ownerId: 'u5', role: 'ACCOUNT_EXECUTIVE' } });
    const csm = await gql(
      hub.url,
      ASSIGN_OWNER,
      { input: { customerId: 'cust_new_1', ownerId: 'u6', role: 'CSM' } },
      acme,
    );
    expect(csm.errors).toBeUndefined();
    const read = await gql<{ customer: { ownerId: string; owners: { role: string; ownerId: string }[] } }>(
      hub.url,
      '{ customer(id: "cust_new_1") { ownerId owners { role ownerId } } }',
      {},
      acme,
    );
    expect(read.data?.customer.ownerId).toBe('u6');
    expect(read.data?.customer.owners).toEqual([
      { role: 'CSM', ownerId: 'u6' },
      { role: 'ACCOUNT_EXECUTIVE', ownerId: 'u5' },
    ]);
    expect(
      errorOf(
        await gql(hub.url, ASSIGN_OWNER, { input: { customerId: 'cust_new_1', ownerId: 'u1', role: 'CSM' } }, globex),
      ),
    ).toMatchObject({
      code: 'NOT_FOUND',
    });
  });
});
