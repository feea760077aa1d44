import { acme, globex, gql, type Page, useTestSubgraph, walkPages } from '@hub/core/testing';
import { describe, expect, it } from 'vitest';
import { subgraph } from '../src/server.js';

/** A listed row: whatever the query selected, always with its id. */
type Row = Record<string, unknown> & { id: string };

const LIST = /* GraphQL */ `
  query List($first: Int, $after: String, $filter: CustomerFilter) {
    customers(first: $first, after: $after, filter: $filter) {
      edges {
        cursor
        node {
          id
          name
          domain
          tier
          lifecycleStatus
          ownerId
          industry
        }
      }
      pageInfo {
        hasNextPage
        hasPreviousPage
        endCursor
      }
      totalCount
    }
  }
`;

const hub = useTestSubgraph(subgraph);

async function list(viewer: typeof acme, variables: Record<string, unknown>): Promise<Page<Row>> {
  const res = await gql<{ customers: Page<Row> }>(hub.url, LIST, variables, viewer);
  expect(res.errors).toBeUndefined();
  if (!res.data) throw new Error('no data');
  return res.data.customers;
}

describe('customers subgraph: reads', () => {
  it('walks every page of a tenant with first/after, without duplicates or gaps', async () => {
    const { nodes, pages } = await walkPages<Row>(hub.url, LIST, 'customers', { first: 70, viewer: acme });
    const seen = nodes.map((node) => node.id);
    expect(pages).toBe(5);
    expect(seen).toHaveLength(300);
    expect(new Set(seen).size).toBe(300);
    expect([...seen].sort()).toEqual(seen);
  });

  it('filters by tier, lifecycle status, owner and search, and counts the matches', async () => {
    const page = await list(acme, {
      first: 500,
      filter: { tier: 'ENTERPRISE', lifecycleStatus: 'ACTIVE', ownerId: 'u2' },
    });
    expect(page.edges.length).toBeGreaterThan(0);
    expect(page.totalCount).toBe(page.edges.length);
    for (const { node } of page.edges) {
      expect(node).toMatchObject({ tier: 'ENTERPRISE', lifecycleStatus: 'ACTIVE', ownerId: 'u2' });
    }
    const search = await list(acme, { first: 500, filter: { search: 'sILVER' } });
    expect(search.edges.length).toBeGreaterThan(0);
    for (const { node } of search.edges) expect(String(node.name)).toMatch(/silver/i);
    const none = await list(acme, { filter: { industry: 'No Such Industry' } });
    expect(none).toMatchObject({ edges: [], totalCount: 0, pageInfo: { hasNextPage: false } });
  });

  it('returns a customer with its contacts (paged) and its account team', async () => {
    const query = /* GraphQL */ `
      query One($id: ID!, $after: String) {
        customer(id: $id) {
          id
          name
          ownerId
          contacts(first: 1, after: $after) {
            edges {
              node {
                id
                email
                isPrimary
                customer {
                  id
                }
              }
            }
            pageInfo {
              hasNextPage
              endCursor
            }
            totalCount
          }
          owners {
            role
            ownerId
          }
        }
      }
    `;
    const res = await gql<{
      customer: { ownerId: string; contacts: Page<Row>; owners: { role: string; ownerId: string }[] };
    }>(hub.url, query, { id: 'cust_00001' }, acme);
    expect(res.errors).toBeUndefined();
    const customer = res.data?.customer;
    expect(customer?.contacts.edges[0]?.node).toMatchObject({ isPrimary: true, customer: { id: 'cust_00001' } });
    expect(customer?.owners.find((owner) => owner.role === 'CSM')?.ownerId).toBe(customer?.ownerId);
    const total = customer?.contacts.totalCount ?? 0;
    expect(total).toBeGreaterThanOrEqual(1);
    expect(customer?.contacts.pageInfo.hasNextPage).toBe(total > 1);
  });

  it('rejects a page size outside 0–500 as BAD_USER_INPUT naming `first`', async () => {
    const res = await gql(hub.url, LIST, { first: 501 }, acme);
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'first' });
  });

  it('returns the viewer’s own tenant', async () => {
    const res = await gql<{ tenant: { id: string; name: string } }>(hub.url, '{ tenant { id name } }', {}, globex);
    expect(res.data?.tenant).toEqual({ id: 'globex', name: 'Globex Industries' });
  });
});

describe('customers subgraph: tenant isolation', () => {
  it('a globex viewer cannot read acme rows by id, via the list, or via _entities', async () => {
    const byId = await gql(
      hub.url,
      '{ customer(id: "cust_00001") { id } contact(id: "cont_00001_1") { id } }',
      {},
      globex,
    );
    expect(byId.data).toEqual({ customer: null, contact: null });

    const page = await list(globex, { first: 500 });
    expect(page.totalCount).toBe(200);
    expect(page.edges.every(({ node }) => Number(node.id.slice(5)) > 300)).toBe(true);

    const entities = await gql<{ _entities: unknown[] }>(
      hub.url,
      'query($r: [_Any!]!) { _entities(representations: $r) { ... on Customer { id name } } }',
      {
        r: [
          { __typename: 'Customer', id: 'cust_00001' },
          { __typename: 'Customer', id: 'cust_00301' },
        ],
      },
      globex,
    );
    expect(entities.data?._entities).toEqual([null, { id: 'cust_00301', name: expect.any(String) }]);
  });

  it('refuses a request without the gateway signature', async () => {
    const res = await gql(hub.url, '{ customers { totalCount } }', {}, null);
    expect(res.status).toBe(401);
    expect(res.errors?.[0]?.extensions?.['code']).toBe('UNAUTHENTICATED');
  });
});

describe('customers subgraph: batching', () => {
  it('resolves 50 _entities with contacts and owners in one statement per table', async () => {
    const representations = Array.from({ length: 50 }, (_, i) => ({
      __typename: 'Customer',
      id: `cust_${String(i + 1).padStart(5, '0')}`,
    }));
    let res: Awaited<ReturnType<typeof gql<{ _entities: ({ id: string } | null)[] }>>> | undefined;
    const counts = await hub.countStatements(async () => {
      res = await gql(
        hub.url,
        'query($r: [_Any!]!) { _entities(representations: $r) { ... on Customer { id name contacts { edges { node { email } } } owners { role } } } }',
        { r: representations },
        acme,
      );
    });
    expect(res?.errors).toBeUndefined();
    expect(res?.data?._entities.filter(Boolean)).toHaveLength(50);
    // `other`: the one audit entry recording this request's unmasked PII reads (hub_audit), for all 50.
    expect(counts).toEqual({ Customer: 1, Contact: 1, OwnerAssignment: 1, other: 1 });
  });
});
