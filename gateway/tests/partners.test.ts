/**
 * Partners through the gateway, against the real customers and health subgraphs (each on its own
 * fresh Postgres database, demo data seeded): API keys, the persisted-operation safelist, and
 * first-party clients keeping APQ.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { startTestSubgraph, type TestSubgraph } from '@hub/core/testing';
import { scopeToTenant } from '@hub/store';
import { REPLICA_BOUND_MS } from '@hub/core/replica';
import type { PrismaClient } from '@hub/store/customers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey, revokeApiKey } from '../../subgraphs/customers/src/apiKeys.js';
import { subgraph as customersSubgraph } from '../../subgraphs/customers/src/server.js';
import { subgraph as healthSubgraph } from '../../subgraphs/health/src/server.js';
import { GATEWAY_PRINCIPAL, devKeyPair } from '@hub/core/keys';
import { createViewerSigner } from '@hub/core/viewer';
import { createApiKeyAuthenticator } from '../src/apiKeys.js';
import { AuthenticationError } from '../src/auth.js';
import { createInternalClient, type InternalQuery } from '../src/internal.js';
import type { PersistedQueryManifest } from '../src/plugins/usePersistedOperations.js';
import { startGateway, type RunningGateway } from '../src/server.js';
import { post, testConfig, token } from './helpers.js';

const manifest = JSON.parse(
  readFileSync(new URL('../persisted/partner-portal.json', import.meta.url), 'utf8'),
) as PersistedQueryManifest;
function operation(name: string) {
  const found = manifest.operations.find((op) => op.name === name);
  if (!found) throw new Error(`${name} is not in the partner-portal manifest`);
  return found;
}
const PARTNER_CUSTOMER = operation('PartnerCustomer');
const PARTNER_CUSTOMERS = operation('PartnerCustomers');
const byHash = (id: string, variables: Record<string, unknown> = {}) => ({
  variables,
  extensions: { persistedQuery: { version: 1, sha256Hash: id } },
});

const GRANT = [
  'Query.customer',
  'Query.customers',
  'Customer.name',
  'Customer.health',
  'CustomerHealth.score',
  'CustomerHealth.trend',
  'HealthTrend.thirtyDayChange',
];

let customers: TestSubgraph<PrismaClient>;
let health: TestSubgraph<unknown>;
let gateway: RunningGateway;
let acmeDb: PrismaClient;

async function newKey(overrides: Partial<{ app: string; customerIds: string[]; fields: string[] }> = {}) {
  return createApiKey(
    acmeDb,
    'acme',
    {
      name: 'Partner Portal',
      app: 'partner-portal',
      customerIds: ['cust_00001', 'cust_00002'],
      fields: GRANT,
      ...overrides,
    },
    'test',
  );
}

const asPartner = (secret: string) => ({ 'x-api-key': secret });

beforeAll(async () => {
  // One customers store: the health subgraph's replica follows the store the keys are created in.
  customers = await startTestSubgraph(customersSubgraph);
  health = (await startTestSubgraph(healthSubgraph, { customers })) as TestSubgraph<unknown>;
  acmeDb = scopeToTenant(customers.store.client, 'acme');
  gateway = await startGateway(
    testConfig([
      { name: 'customers', url: customers.url },
      { name: 'health', url: health.url },
    ]),
  );
});

afterAll(async () => {
  await gateway?.stop();
  // Health first: its replica consumer reads the customers stream until it stops.
  await health?.stop();
  await customers?.stop();
});

describe('partner API keys at the gateway', () => {
  it('runs a listed operation by sha256Hash, on granted customers only, with their health scores', async () => {
    const { secret } = await newKey();
    const granted = await post(
      gateway.url,
      byHash(PARTNER_CUSTOMER.id, { id: 'cust_00001' }),
      undefined,
      asPartner(secret),
    );
    expect(granted.status).toBe(200);
    expect(granted.body.errors).toBeUndefined();
    // The manifest selects `__typename` everywhere, as Apollo Client sends its documents.
    expect(granted.body.data).toEqual({
      customer: {
        __typename: 'Customer',
        id: 'cust_00001',
        name: expect.any(String),
        health: { __typename: 'CustomerHealth', score: expect.any(Number) },
      },
    });
    // cust_00003 is acme's too, but not in the key's grant: it does not exist for the partner.
    const other = await post(
      gateway.url,
      byHash(PARTNER_CUSTOMER.id, { id: 'cust_00003' }),
      undefined,
      asPartner(secret),
    );
    expect(other.body).toEqual({ data: { customer: null } });
  });

  it('runs a listed operation by the manifest id in the body, and lists exactly the granted customers', async () => {
    const { secret } = await newKey();
    const result = await post(
      gateway.url,
      { id: PARTNER_CUSTOMERS.id, variables: { first: 10 } },
      undefined,
      asPartner(secret),
    );
    expect(result.body.errors).toBeUndefined();
    const page = result.body.data?.['customers'] as { totalCount: number; edges: { node: { id: string } }[] };
    expect(page.totalCount).toBe(2);
    expect(page.edges.map((edge) => edge.node.id)).toEqual(['cust_00001', 'cust_00002']);
  });

  it('refuses a free-form query with PERSISTED_QUERY_NOT_IN_LIST (400), even one whose text is listed', async () => {
    const { secret } = await newKey();
    for (const body of [
      { query: '{ customers { totalCount } }' },
      { query: '{ __schema { types { name } } }' },
      { query: PARTNER_CUSTOMER.body, variables: { id: 'cust_00001' } },
      // An APQ registration (query + hash) is free-form too.
      { query: PARTNER_CUSTOMER.body, ...byHash(PARTNER_CUSTOMER.id, { id: 'cust_00001' }) },
    ]) {
      const result = await post(gateway.url, body, undefined, asPartner(secret));
      expect(result.status).toBe(400);
      expect(result.body.errors?.[0]?.extensions?.['code']).toBe('PERSISTED_QUERY_NOT_IN_LIST');
      expect(result.body.data ?? null).toBeNull();
    }
  });

  it('refuses unknown ids, and every operation of an app without a manifest', async () => {
    const { secret } = await newKey();
    const unknownHash = createHash('sha256').update('{ customers { totalCount } }').digest('hex');
    for (const body of [byHash(unknownHash), { id: 'PartnerCustomer' }, {}]) {
      const result = await post(gateway.url, body, undefined, asPartner(secret));
      expect(result.status).toBe(400);
      expect(result.body.errors?.[0]?.extensions?.['code']).toBe('PERSISTED_QUERY_NOT_IN_LIST');
    }
    const otherApp = await newKey({ app: 'other-app' });
    const refused = await post(
      gateway.url,
      byHash(PARTNER_CUSTOMER.id, { id: 'cust_00001' }),
      undefined,
      asPartner(otherApp.secret),
    );
    expect(refused.status).toBe(400);
    expect(refused.body.errors?.[0]?.extensions?.['code']).toBe('PERSISTED_QUERY_NOT_IN_LIST');
  });

  it('a revoked grant reads nothing in the subgraphs while the gateway still caches the key', async () => {
    const { secret, apiKey } = await newKey();
    const read = () =>
      post(gateway.url, byHash(PARTNER_CUSTOMER.id, { id: 'cust_00001' }), undefined, asPartner(secret));
    expect((await read()).body.data).toMatchObject({ customer: { id: 'cust_00001' } });
    await revokeApiKey(acmeDb, apiKey.id);
    customers.events.wake();
    const started = Date.now();
    const refused = (answer: Awaited<ReturnType<typeof read>>) => answer.body.data?.['customer'] === null;
    let answer = await read();
    while (!refused(answer) && Date.now() - started < 5000) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      answer = await read();
    }
    // Still accepted at the gateway (its 30 s key cache), but a revoked grant grants no field or row.
    expect(answer.status).toBe(200);
    expect(answer.body.data).toEqual({ customer: null });
    expect(answer.body.errors?.map((e) => e.extensions?.['code'])).toEqual(['FORBIDDEN']);
    expect(Date.now() - started).toBeLessThan(REPLICA_BOUND_MS);
  });

  it('refuses unknown, malformed and revoked keys with UNAUTHENTICATED (401)', async () => {
    const { secret, apiKey } = await newKey();
    await revokeApiKey(acmeDb, apiKey.id);
    for (const key of [secret, `hub_${'A'.repeat(43)}`, 'not-a-key', '']) {
      const result = await post(
        gateway.url,
        byHash(PARTNER_CUSTOMER.id, { id: 'cust_00001' }),
        undefined,
        asPartner(key),
      );
      expect(result.status, key).toBe(401);
      expect(result.body.errors?.[0]?.extensions?.['code'], key).toBe('UNAUTHENTICATED');
      expect(result.body.data ?? null).toBeNull();
    }
  });

  it('refuses a request carrying both a bearer token and an API key with BAD_USER_INPUT (400)', async () => {
    const { secret } = await newKey();
    const result = await post(
      gateway.url,
      byHash(PARTNER_CUSTOMER.id, { id: 'cust_00001' }),
      await token({ roles: ['admin'] }),
      asPartner(secret),
    );
    expect(result.status).toBe(400);
    expect(result.body.errors?.[0]?.extensions?.['code']).toBe('BAD_USER_INPUT');
    expect(result.body.data ?? null).toBeNull();
  });

  it('lets a listed operation read only the fields of the key’s grant', async () => {
    const { secret } = await newKey({ fields: ['Query.customer', 'Customer.name', 'Customer.health'] });
    const result = await post(
      gateway.url,
      byHash(PARTNER_CUSTOMER.id, { id: 'cust_00001' }),
      undefined,
      asPartner(secret),
    );
    expect(result.body.errors?.map((error) => error.extensions?.['code'])).toContain('FORBIDDEN');
    expect(JSON.stringify(result.body.data)).not.toMatch(/"score":\d/);
  });
});

describe('the API-key authenticator', () => {
  it('caches an active key for its ttl by hash, then sees the revocation', async () => {
    const real = createInternalClient({
      url: customers.url,
      audience: 'customers',
      signer: createViewerSigner({ issuer: GATEWAY_PRINCIPAL, privateKey: devKeyPair(GATEWAY_PRINCIPAL).privateKey }),
    });
    let lookups = 0;
    const counted: InternalQuery = (query, variables, scope) => {
      lookups++;
      // Keys are looked up before the tenant is known, and never by the secret itself.
      expect(scope.tenantId).toBeNull();
      expect(JSON.stringify(variables)).not.toContain('hub_');
      return real(query, variables, scope);
    };
    const authenticate = createApiKeyAuthenticator({ customers: counted, ttlSeconds: 0.3 });
    const { secret, apiKey } = await newKey();
    const viewer = await authenticate(secret, 'r1');
    expect(viewer).toEqual({
      userId: `apikey:${apiKey.id}`,
      tenantId: 'acme',
      roles: ['partner'],
      book: [],
      // The grant's id, not its customers or fields: subgraphs read those from their replicas.
      grantId: apiKey.id,
      app: 'partner-portal',
      requestId: 'r1',
    });
    await revokeApiKey(acmeDb, apiKey.id);
    // Within the ttl the cached grant still answers (the documented revocation delay)...
    expect((await authenticate(secret, 'r2')).requestId).toBe('r2');
    expect(lookups).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 350));
    // ...after it, the key is looked up again and refused.
    await expect(authenticate(secret, 'r3')).rejects.toBeInstanceOf(AuthenticationError);
    expect(lookups).toBe(2);
  });
});

describe('first-party clients', () => {
  it('keep automatic persisted queries, while the same hash is not a partner operation', async () => {
    const query = '{ customers(first: 1) { totalCount } }';
    const sha256Hash = createHash('sha256').update(query).digest('hex');
    const extensions = { persistedQuery: { version: 1, sha256Hash } };
    const bearer = await token({ roles: ['admin'] });
    const miss = await post(gateway.url, { extensions }, bearer);
    expect(miss.body.errors?.[0]?.extensions?.['code']).toBe('PERSISTED_QUERY_NOT_FOUND');
    const registered = await post(gateway.url, { query, extensions }, bearer);
    expect(registered.body).toEqual({ data: { customers: { totalCount: 300 } } });
    const hit = await post(gateway.url, { extensions }, bearer);
    expect(hit.body).toEqual(registered.body);

    const { secret } = await newKey();
    const partner = await post(gateway.url, { extensions }, undefined, asPartner(secret));
    expect(partner.body.errors?.[0]?.extensions?.['code']).toBe('PERSISTED_QUERY_NOT_IN_LIST');
  });

  it('see only their book: a sales rep’s customers are those the gateway resolved for the rep’s owners', async () => {
    const query = '{ customers(first: 500) { totalCount edges { node { ownerId } } } }';
    const rep = await post(gateway.url, { query }, await token({ roles: ['sales_rep'], user: 'u1', book: ['u1'] }));
    const page = rep.body.data?.['customers'] as { totalCount: number; edges: { node: { ownerId: string } }[] };
    expect(page.totalCount).toBe(50);
    expect(new Set(page.edges.map((edge) => edge.node.ownerId))).toEqual(new Set(['u1']));
    const admin = await post(gateway.url, { query }, await token({ roles: ['admin'] }));
    expect((admin.body.data?.['customers'] as { totalCount: number }).totalCount).toBe(300);
  });
});
