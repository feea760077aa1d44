/**
 * The whole hub as real processes over a fresh PostgreSQL database: seven subgraphs + the gateway,
 * in production mode. What a frontend developer, an integration client and an operator hit.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { startHub, type GraphQLResponse, type Hub } from './support/hub.js';
import { at } from './support/matrix.js';
import { readmeTour, tokenClaimsOf } from './support/readme.js';

let hub: Hub;
let admin: string;

const TOUR = readmeTour();

beforeAll(async () => {
  hub = await startHub();
  admin = await hub.token({ tenant: 'acme', roles: ['admin'] });
});
afterAll(async () => {
  await hub?.stop();
});

const CROSS_DOMAIN_LIST = /* GraphQL */ `
  query CrossDomainList($first: Int!) {
    customers(first: $first) {
      edges {
        node {
          id
          name
          contacts(first: 2) {
            edges {
              node {
                email
              }
            }
          }
          health {
            score
          }
          renewal {
            renewalProbability
          }
          opportunities(first: 3) {
            edges {
              node {
                id
                value
              }
            }
          }
          adoption {
            overallAdoptionRate
            maturityLevel
          }
          journey {
            currentStage
          }
          supportSatisfaction {
            averageScore
          }
        }
      }
    }
  }
`;

describe('federated customer graph', () => {
  it('resolves one customer list across subgraphs with one SQL statement per subgraph per table', async () => {
    let result: Awaited<ReturnType<Hub['query']>> | undefined;
    const statements = await hub.countStatements(async () => {
      result = await hub.query(CROSS_DOMAIN_LIST, { first: 100 }, admin);
    });
    expect(result?.errors).toBeUndefined();
    const edges = (result?.data as { customers: { edges: { node: Record<string, unknown> }[] } }).customers;
    expect(edges.edges).toHaveLength(100);
    expect(edges.edges.every(({ node }) => node['health'] !== null && node['renewal'] !== null)).toBe(true);
    // Every subgraph that contributed did so in batches: at most one statement per table.
    for (const domain of ['customers', 'health', 'sales', 'product', 'marketing', 'support'] as const) {
      const perTable = statements[domain] ?? {};
      expect(Object.keys(perTable).length, `${domain} issued statements`).toBeGreaterThan(0);
      for (const [table, count] of Object.entries(perTable)) {
        expect(count, `${domain}.${table} statements for 100 customers`).toBeLessThanOrEqual(1);
      }
    }
  });

  it("pages through all of a tenant's customers without duplicates", async () => {
    const ids = new Set<string>();
    let after: string | null = null;
    for (;;) {
      type Page = {
        customers: {
          totalCount: number;
          edges: { node: { id: string } }[];
          pageInfo: { hasNextPage: boolean; endCursor: string };
        };
      };
      const page: GraphQLResponse<Page> = await hub.query<Page>(
        'query($after: String) { customers(first: 120, after: $after) { totalCount edges { node { id } } pageInfo { hasNextPage endCursor } } }',
        { after },
        admin,
      );
      const customers = page.data?.customers;
      if (!customers) throw new Error(JSON.stringify(page.errors));
      expect(customers.totalCount).toBe(300);
      for (const edge of customers.edges) ids.add(edge.node.id);
      if (!customers.pageInfo.hasNextPage) break;
      after = customers.pageInfo.endCursor;
    }
    expect(ids.size).toBe(300);
  });

  it('keeps tenants apart: an acme viewer cannot read a globex customer by id or through nested fields', async () => {
    const globex = await hub.token({ tenant: 'globex', roles: ['admin'] });
    const globexIds = await hub.query<{ customers: { edges: { node: { id: string } }[] } }>(
      '{ customers(first: 1) { edges { node { id } } } }',
      {},
      globex,
    );
    const foreignId = globexIds.data?.customers.edges[0]?.node.id;
    expect(foreignId).toBeDefined();
    const read = await hub.query<{ customer: unknown }>(
      'query($id: ID!) { customer(id: $id) { id name health { score } } }',
      { id: foreignId },
      admin,
    );
    expect(read.data?.customer ?? null).toBeNull();
  });

  it('answers invalid input with BAD_USER_INPUT naming the field, and unknown ids with NOT_FOUND', async () => {
    const bad = await hub.query(
      'mutation { createOpportunity(input: { customerId: "cust_00001", ownerId: "u1", type: UPSELL, value: "100.00", probability: 1.7, timeline: "q1_2026", successFactors: [] }) { id } }',
      {},
      admin,
    );
    expect(bad.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT' });
    expect(bad.errors?.[0]?.message).toMatch(/probability/);
    const missing = await hub.query(
      'mutation { updateCustomer(id: "cust_99999", input: { name: "Nope" }) { id } }',
      {},
      admin,
    );
    expect(missing.errors?.[0]?.extensions?.['code']).toBe('NOT_FOUND');
    for (const error of [...(bad.errors ?? []), ...(missing.errors ?? [])]) {
      expect(JSON.stringify(error)).not.toMatch(/stacktrace|\.ts:\d+/);
    }
  });

  it('writes through the gateway and reads the write back across subgraphs', async () => {
    const created = await hub.query<{
      createOpportunity: { id: string; value: string; customer: { id: string; name: string } };
    }>(
      'mutation { createOpportunity(input: { customerId: "cust_00002", ownerId: "u2", type: UPSELL, value: "75000.00", probability: 0.75, timeline: "q1_2026", successFactors: ["high_product_adoption"] }) { id value customer { id name } } }',
      {},
      admin,
    );
    expect(created.errors).toBeUndefined();
    expect(created.data?.createOpportunity).toMatchObject({ value: '75000.00', customer: { id: 'cust_00002' } });
    expect(created.data?.createOpportunity.customer.name).toEqual(expect.any(String));
  });

  it('refuses requests without a valid token with 401 UNAUTHENTICATED', async () => {
    const anonymous = await hub.query('{ customers(first: 1) { totalCount } }');
    expect(anonymous.status).toBe(401);
    expect(anonymous.errors?.[0]?.extensions?.['code']).toBe('UNAUTHENTICATED');
    const forged = await hub.query('{ customers(first: 1) { totalCount } }', {}, `${admin.slice(0, -4)}AAAA`);
    expect(forged.status).toBe(401);
  });

  it('refuses a request sent straight to a subgraph without the gateway signature, _entities included', async () => {
    for (const domain of ['customers', 'finance'] as const) {
      const response = await fetch(hub.subgraphs[domain].url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          query: '{ _entities(representations: [{ __typename: "Customer", id: "cust_00001" }]) { __typename } }',
        }),
      });
      expect(response.status).toBe(401);
      const body = (await response.json()) as { errors: { extensions: { code: string } }[] };
      expect(body.errors[0]?.extensions.code).toBe('UNAUTHENTICATED');
    }
  });

  it('serves automatic persisted queries (Apollo protocol)', async () => {
    const query = '{ tenant { id name } }';
    const sha256Hash = createHash('sha256').update(query).digest('hex');
    const extensions = { persistedQuery: { version: 1, sha256Hash } };
    const miss = await hub.query('', {}, admin, { query: undefined, extensions });
    expect(miss.errors?.[0]?.extensions?.['code']).toBe('PERSISTED_QUERY_NOT_FOUND');
    const register = await hub.query(query, {}, admin, { extensions });
    expect(register.data).toMatchObject({ tenant: { id: 'acme' } });
    const hit = await hub.query('', {}, admin, { query: undefined, extensions });
    expect(hit.data).toEqual(register.data);
  });

  it('reports health and readiness', async () => {
    const base = hub.gatewayUrl.replace(/\/graphql$/, '');
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    // Production serves /metrics on its own port only, never on the public GraphQL port.
    expect((await fetch(`${base}/metrics`)).status).toBe(404);
    const metrics = await hub.scrapeMetrics(hub.gatewayMetricsUrl);
    expect(metrics).toMatch(/# TYPE \w+ histogram/);
  });

  it.each(TOUR.map((example) => [example.title, example] as const))(
    'README tour %s: the token it names reads all of it, and running it twice works',
    async (_title, example) => {
      const token = await hub.token(tokenClaimsOf(example.full));
      const runs = [await hub.query(example.query, {}, token), await hub.query(example.query, {}, token)];
      for (const result of runs) {
        expect(result.errors, example.query.slice(0, 80)).toBeUndefined();
        expect(Object.values(result.data ?? {}).every((value) => value !== null)).toBe(true);
      }
      // A write creates a new row each time rather than colliding with the first.
      const ids = runs.map((result) => at(result.data, 'createOpportunity', 'id'));
      if (ids[0] !== undefined) expect(new Set(ids).size).toBe(2);
    },
  );

  it.each(TOUR.map((example) => [example.title, example] as const))(
    'README tour %s: the narrower role it names gets partial data, FORBIDDEN exactly on the fields named',
    async (_title, example) => {
      const opportunities = () =>
        hub
          .query('{ customer(id: "cust_00001") { opportunities(first: 1) { totalCount } } }', {}, admin)
          .then((result) => at(result.data, 'customer', 'opportunities', 'totalCount'));
      const before = await opportunities();
      const result = await hub.query(example.query, {}, await hub.token(tokenClaimsOf(example.narrower)));
      const errors = result.errors ?? [];
      expect(errors.map((error) => error.extensions?.['code'])).toEqual(errors.map(() => 'FORBIDDEN'));
      const fields = errors.map((error) => (error.path ?? []).filter((key) => typeof key === 'string').at(-1));
      expect(new Set(fields)).toEqual(new Set(example.forbidden));
      // A refused non-null root field (the mutation) nulls the whole `data`.
      for (const error of errors)
        expect(result.data === null ? null : at(result.data, ...(error.path ?? []))).toBeNull();
      // What the role may read still arrives (a refused root field leaves nothing else to read).
      if (!example.forbidden.some((field) => Object.keys(result.data ?? {}).includes(field)))
        expect(Object.values(result.data ?? {}).every((value) => value !== null)).toBe(true);
      // A refused write writes nothing.
      expect(await opportunities()).toBe(before);
    },
  );

  it('README tour 3 with the CRM id set: the same create again replays, the id with other fields is a CONFLICT', async () => {
    const example = TOUR.find(({ query }) => query.includes('createOpportunity'));
    if (!example) throw new Error('the README tour has no createOpportunity example');
    const withId = example.query.replace('customerId:', `id: "crm_tour_${Date.now()}"\n      customerId:`);
    expect(withId).not.toBe(example.query);
    const token = await hub.token(tokenClaimsOf(example.full));
    const first = await hub.query(withId, {}, token);
    expect(first.errors).toBeUndefined();
    const again = await hub.query(withId, {}, token);
    expect(again.errors).toBeUndefined();
    expect(again.data).toEqual(first.data);
    const changed = withId.replace(/probability: [0-9.]+/, 'probability: 0.01');
    expect(changed).not.toBe(withId);
    const conflict = await hub.query(changed, {}, token);
    expect(conflict.errors?.map((error) => error.extensions?.['code'])).toEqual(['CONFLICT']);
  });

  // Destructive: runs last in this file.
  it("still answers with every other subgraph's fields when one subgraph is down", async () => {
    await hub.subgraphs.support.stop();
    const result = await hub.query<{ customer: Record<string, unknown> }>(
      '{ customer(id: "cust_00001") { id name health { score } supportSatisfaction { averageScore } } }',
      {},
      admin,
    );
    expect(result.data?.customer).toMatchObject({
      id: 'cust_00001',
      name: expect.any(String),
      health: { score: expect.any(Number) },
    });
    expect(result.data?.customer['supportSatisfaction'] ?? null).toBeNull();
    const error = result.errors?.find((e) => e.extensions?.['code'] === 'DOWNSTREAM_SERVICE_ERROR');
    expect(error?.extensions).toMatchObject({ code: 'DOWNSTREAM_SERVICE_ERROR', serviceName: 'support' });
  });
});
