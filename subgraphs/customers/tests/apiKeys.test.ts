import { createHash } from 'node:crypto';
import { demoCustomers } from '@hub/core/demo';
import { devKeyPair } from '@hub/core/keys';
import { createSnapshotReader } from '@hub/core/replicaFeed';
import { expectError, gql, testViewer, useTestSubgraph } from '@hub/core/testing';
import { createViewerSigner, serviceIssuer } from '@hub/core/viewer';
import type { PrismaClient } from '@hub/store/customers';
import { describe, expect, it } from 'vitest';
import { subgraph } from '../src/server.js';

const hub = useTestSubgraph(subgraph);
const acmeAdmin = testViewer({ tenantId: 'acme', userId: 'admin-1', roles: ['admin'] });
const globexAdmin = testViewer({ tenantId: 'globex', userId: 'admin-2', roles: ['admin'] });
const system = (tenantId: string | null) => testViewer({ tenantId, userId: 'system', roles: ['system'] });

const CREATE = /* GraphQL */ `
  mutation ($input: CreateApiKeyInput!) {
    createApiKey(input: $input) {
      secret
      apiKey {
        id
        name
        app
        prefix
        customerIds
        fields
        createdBy
        revokedAt
        active
      }
    }
  }
`;
const REVOKE = /* GraphQL */ `
  mutation ($id: ID!) {
    revokeApiKey(id: $id) {
      id
      revokedAt
      active
    }
  }
`;
const LIST = /* GraphQL */ `
  query ($first: Int, $after: String) {
    apiKeys(first: $first, after: $after) {
      totalCount
      edges {
        node {
          id
          prefix
          active
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`;
const BY_HASH = /* GraphQL */ `
  query ($hash: String!) {
    _apiKeyByHash(hash: $hash) {
      id
      tenantId
      name
      app
      customerIds
      fields
    }
  }
`;
const SNAPSHOT = /* GraphQL */ `
  query {
    _replicaSnapshot {
      customers {
        tenantId
        id
        ownerId
      }
      grants {
        id
        tenantId
        customerIds
        fields
        revoked
      }
    }
  }
`;
const BOOK = /* GraphQL */ `
  query {
    customers(first: 500) {
      totalCount
      edges {
        node {
          id
        }
      }
    }
  }
`;

const INPUT = {
  name: ' Partner Portal ',
  app: 'partner-portal',
  customerIds: ['cust_00001', 'cust_00002', 'cust_00001'],
  fields: ['Query.customer', 'Customer.name', 'CustomerHealth.*'],
};

interface Created {
  createApiKey: { secret: string; apiKey: { id: string; prefix: string; revokedAt: string | null; active: boolean } };
}

async function create(input: Record<string, unknown> = INPUT) {
  const res = await gql<Created>(hub.url, CREATE, { input }, acmeAdmin);
  expect(res.errors).toBeUndefined();
  const created = res.data?.createApiKey;
  if (!created) throw new Error('no key created');
  return created;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

describe('customers subgraph: partner API keys', () => {
  it('creates a key: the secret is returned once, only its sha256 and display prefix are stored', async () => {
    const { secret, apiKey } = await create();
    expect(secret).toMatch(/^hub_[A-Za-z0-9_-]{43}$/);
    expect(apiKey).toMatchObject({
      name: 'Partner Portal',
      app: 'partner-portal',
      prefix: secret.slice(0, 8),
      customerIds: ['cust_00001', 'cust_00002'],
      fields: ['Query.customer', 'Customer.name', 'CustomerHealth.*'],
      createdBy: 'admin-1',
      revokedAt: null,
      active: true,
    });
    const row = await (hub.store.client as PrismaClient).apiKey.findUnique({ where: { id: apiKey.id } });
    expect(row?.keyHash).toBe(sha256(secret));
    expect(row?.tenantId).toBe('acme');
    // Nowhere in the stored row is the secret itself (beyond the 8-character prefix).
    expect(JSON.stringify(row)).not.toContain(secret.slice(8, 20));
    // The admin list shows the key, never a secret (the ApiKey type has no such field).
    const list = await gql<{ apiKeys: { edges: { node: { id: string } }[] } }>(hub.url, LIST, {}, acmeAdmin);
    expect(list.data?.apiKeys.edges.map((edge) => edge.node.id)).toContain(apiKey.id);
    expect(JSON.stringify(list)).not.toContain(secret.slice(8, 20));
  });

  it('refuses grants naming another tenant’s customers, unsafe app names, malformed fields and personal data', async () => {
    const globexCustomer = demoCustomers().find((customer) => customer.tenantId === 'globex')?.id;
    const cases: [Record<string, unknown>, string][] = [
      [{ ...INPUT, customerIds: ['cust_00001', globexCustomer] }, 'input.customerIds'],
      [{ ...INPUT, customerIds: [] }, 'input.customerIds'],
      [{ ...INPUT, app: '../../etc/passwd' }, 'input.app'],
      [{ ...INPUT, fields: ['customer.name'] }, 'input.fields'],
      [{ ...INPUT, fields: ['Customer'] }, 'input.fields'],
      // Personal data (classified PII in the schema) is never a partner's.
      [{ ...INPUT, fields: ['Customer.name', 'Contact.email'] }, 'input.fields'],
      [{ ...INPUT, fields: ['Contact.phone'] }, 'input.fields'],
      [{ ...INPUT, name: '  ' }, 'input.name'],
    ];
    for (const [input, field] of cases) {
      expectError(await gql(hub.url, CREATE, { input }, acmeAdmin), 'BAD_USER_INPUT', field);
    }
  });

  it('lets only admins manage keys', async () => {
    const manager = testViewer({ tenantId: 'acme', roles: ['cs_manager'], book: ['u1'] });
    expectError(await gql(hub.url, CREATE, { input: INPUT }, manager), 'FORBIDDEN');
    const list = await gql(hub.url, LIST, {}, manager);
    expect(list.errors?.[0]?.extensions?.['code']).toBe('FORBIDDEN');
  });

  it('revokes a key once (revoking again keeps the first time); another tenant cannot see or revoke it', async () => {
    const { apiKey } = await create();
    expectError(await gql(hub.url, REVOKE, { id: apiKey.id }, globexAdmin), 'NOT_FOUND');
    const globexList = await gql<{ apiKeys: { totalCount: number } }>(hub.url, LIST, {}, globexAdmin);
    expect(globexList.data?.apiKeys.totalCount).toBe(0);

    const first = await gql<{ revokeApiKey: { revokedAt: string; active: boolean } }>(
      hub.url,
      REVOKE,
      { id: apiKey.id },
      acmeAdmin,
    );
    expect(first.data?.revokeApiKey).toMatchObject({ id: apiKey.id, active: false, revokedAt: expect.any(String) });
    const again = await gql<{ revokeApiKey: { revokedAt: string } }>(hub.url, REVOKE, { id: apiKey.id }, acmeAdmin);
    expect(again.data?.revokeApiKey.revokedAt).toBe(first.data?.revokeApiKey.revokedAt);
  });

  it('pages the admin list oldest first', async () => {
    await create();
    await create();
    const first = await gql<{
      apiKeys: {
        totalCount: number;
        edges: { node: { id: string } }[];
        pageInfo: { hasNextPage: boolean; endCursor: string };
      };
    }>(hub.url, LIST, { first: 1 }, acmeAdmin);
    const page = first.data?.apiKeys;
    expect(page?.totalCount).toBeGreaterThanOrEqual(3);
    expect(page?.pageInfo.hasNextPage).toBe(true);
    const next = await gql<{ apiKeys: { edges: { node: { id: string } }[] } }>(
      hub.url,
      LIST,
      { first: 1, after: page?.pageInfo.endCursor },
      acmeAdmin,
    );
    const [a, b] = [page?.edges[0]?.node.id ?? '', next.data?.apiKeys.edges[0]?.node.id ?? ''];
    expect(a < b).toBe(true);
  });
});

describe('customers subgraph: internal fields for the gateway', () => {
  it('_apiKeyByHash finds an active key in any tenant for the system viewer; revoked or unknown -> null', async () => {
    const { secret, apiKey } = await create();
    const found = await gql(hub.url, BY_HASH, { hash: sha256(secret) }, system(null));
    expect(found.errors).toBeUndefined();
    expect(found.data).toEqual({
      _apiKeyByHash: {
        id: apiKey.id,
        tenantId: 'acme',
        name: 'Partner Portal',
        app: 'partner-portal',
        customerIds: ['cust_00001', 'cust_00002'],
        fields: ['Query.customer', 'Customer.name', 'CustomerHealth.*'],
      },
    });
    expect((await gql(hub.url, BY_HASH, { hash: sha256('hub_unknown') }, system(null))).data).toEqual({
      _apiKeyByHash: null,
    });
    expect((await gql(hub.url, BY_HASH, { hash: 'not-a-hash' }, system(null))).data).toEqual({ _apiKeyByHash: null });
    await gql(hub.url, REVOKE, { id: apiKey.id }, acmeAdmin);
    expect((await gql(hub.url, BY_HASH, { hash: sha256(secret) }, system(null))).data).toEqual({ _apiKeyByHash: null });
  });

  it('_apiKeyByHash answers nobody but the system viewer; _replicaSnapshot nobody but service principals', async () => {
    const { secret } = await create();
    for (const viewer of [acmeAdmin, testViewer({ tenantId: 'acme', roles: ['partner'], grantId: 'key_x' })]) {
      const byHash = await gql(hub.url, BY_HASH, { hash: sha256(secret) }, viewer);
      expect(byHash.errors?.[0]?.extensions?.['code']).toBe('FORBIDDEN');
      expect(byHash.data?.['_apiKeyByHash'] ?? null).toBeNull();
    }
    for (const viewer of [acmeAdmin, system(null), system('acme')]) {
      const snapshot = await gql(hub.url, SNAPSHOT, {}, viewer);
      expect(snapshot.errors?.[0]?.extensions?.['code']).toBe('FORBIDDEN');
      expect(snapshot.data ?? null).toBeNull();
    }
  });

  it('a book is resolved from this store: exactly the tenant’s customers owned by the book', async () => {
    const expected = (tenantId: string, owners: string[]) =>
      demoCustomers()
        .filter((customer) => customer.tenantId === tenantId && owners.includes(customer.ownerId))
        .map((customer) => customer.id)
        .sort();
    const read = async (tenantId: string, book: string[]) => {
      const res = await gql<{ customers: { totalCount: number; edges: { node: { id: string } }[] } }>(
        hub.url,
        BOOK,
        {},
        testViewer({ tenantId, roles: ['cs_manager'], book }),
      );
      expect(res.errors).toBeUndefined();
      return res.data?.customers.edges.map((edge) => edge.node.id) ?? [];
    };
    const acmeBook = await read('acme', ['u1', 'u2']);
    expect(acmeBook).toEqual(expected('acme', ['u1', 'u2']));
    expect(acmeBook.length).toBe(100);
    // Same owner ids in another tenant are other people with other customers.
    const globexBook = await read('globex', ['u1', 'u2']);
    expect(globexBook).toEqual(expected('globex', ['u1', 'u2']));
    expect(globexBook.some((id) => acmeBook.includes(id))).toBe(false);
    expect(await read('acme', [])).toEqual([]);
    expect(await read('acme', ['nobody'])).toEqual([]);
  });

  it('createApiKey and revokeApiKey each commit one grant event for the replicas, without the secret', async () => {
    const { apiKey, secret } = await create();
    await gql(hub.url, REVOKE, { id: apiKey.id }, acmeAdmin);
    const rows = await hub.store.backgroundSql.query<{ type: string; tenant_id: string; payload: unknown }>(
      `SELECT "type", "tenant_id", "payload" FROM "hub_sync_outbox" WHERE "payload"->>'id' = $1 ORDER BY "seq"`,
      [apiKey.id],
    );
    expect(rows.map((row) => row.type)).toEqual(['customers.api_key_granted', 'customers.api_key_revoked']);
    expect(rows.map((row) => row.payload)).toEqual([
      {
        id: apiKey.id,
        tenantId: 'acme',
        customerIds: ['cust_00001', 'cust_00002'],
        fields: INPUT.fields,
        revoked: false,
      },
      {
        id: apiKey.id,
        tenantId: 'acme',
        customerIds: ['cust_00001', 'cust_00002'],
        fields: INPUT.fields,
        revoked: true,
      },
    ]);
    const text = JSON.stringify(rows);
    expect(text).not.toContain(secret);
    expect(text).not.toContain(sha256(secret));
    // What a new replica reads (as the sales subgraph, signed with its own key): the revoked grant, no secret.
    const signer = createViewerSigner({ issuer: serviceIssuer('sales'), privateKey: devKeyPair('sales').privateKey });
    const snapshot = await createSnapshotReader({ self: 'sales', customersUrl: hub.url, signer })();
    expect(snapshot.grants.find((grant) => grant.id === apiKey.id)).toEqual({
      id: apiKey.id,
      tenantId: 'acme',
      customerIds: ['cust_00001', 'cust_00002'],
      fields: INPUT.fields,
      revoked: true,
    });
    expect(snapshot.customers.length).toBe(demoCustomers().length);
  });
});

describe('customers subgraph: integration API keys', () => {
  const INTEGRATION_BY_HASH = /* GraphQL */ `
    query ($hash: String!) {
      _apiKeyByHash(hash: $hash) {
        id
        tenantId
        app
        customerIds
        fields
        domains
      }
    }
  `;

  it('creates a key with domains (deduplicated, sorted) and no partner grant; the gateway lookup returns them', async () => {
    const res = await gql<{
      createApiKey: { secret: string; apiKey: { id: string; app: string | null; domains: string[] } };
    }>(
      hub.url,
      /* GraphQL */ `
        mutation ($input: CreateApiKeyInput!) {
          createApiKey(input: $input) {
            secret
            apiKey {
              id
              app
              domains
              customerIds
              fields
            }
          }
        }
      `,
      { input: { name: 'CRM sync', domains: ['product', 'finance', 'product'] } },
      acmeAdmin,
    );
    expect(res.errors).toBeUndefined();
    const created = res.data?.createApiKey;
    if (!created) throw new Error('no key created');
    expect(created.apiKey).toMatchObject({ app: null, domains: ['finance', 'product'], customerIds: [], fields: [] });
    const found = await gql(hub.url, INTEGRATION_BY_HASH, { hash: sha256(created.secret) }, system(null));
    expect(found.data).toEqual({
      _apiKeyByHash: {
        id: created.apiKey.id,
        tenantId: 'acme',
        app: null,
        customerIds: [],
        fields: [],
        domains: ['finance', 'product'],
      },
    });
  });

  it('partner keys keep an empty domains list', async () => {
    const { secret } = await create();
    const found = await gql(hub.url, INTEGRATION_BY_HASH, { hash: sha256(secret) }, system(null));
    expect(found.data).toMatchObject({ _apiKeyByHash: { app: 'partner-portal', domains: [] } });
  });

  it.each([
    [{ domains: [] }, 'input.domains', /at least one domain/],
    [{ domains: ['product', 'billing'] }, 'input.domains', /unknown domain\(s\) billing/],
    [{ domains: ['product'], app: 'partner-portal' }, 'input.app', /no partner grant/],
    [{ domains: ['product'], customerIds: ['cust_00001'] }, 'input.customerIds', /no partner grant/],
    [{ domains: ['product'], fields: ['Customer.*'] }, 'input.fields', /no partner grant/],
    [{ customerIds: ['cust_00001'], fields: ['Customer.*'] }, 'input.app', /required/],
  ])('refuses %j (BAD_USER_INPUT on %s) and stores nothing', async (grant, field, message) => {
    const count = async () =>
      (await gql<{ apiKeys: { totalCount: number } }>(hub.url, LIST, {}, acmeAdmin)).data?.apiKeys.totalCount;
    const before = await count();
    const res = await gql(hub.url, CREATE, { input: { name: 'bad', ...grant } }, acmeAdmin);
    expectError(res, 'BAD_USER_INPUT');
    expect(res.errors?.[0]?.extensions?.['field']).toBe(field);
    expect(res.errors?.[0]?.message).toMatch(message);
    expect(await count()).toBe(before);
  });
});
