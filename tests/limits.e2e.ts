/**
 * Demand control, rate limits and error codes against the real hub in production mode: the seven
 * subgraphs and the gateway as processes over a fresh PostgreSQL database, rate-limit budgets in
 * the local Redis (127.0.0.1:6379) under a key prefix unique to this run.
 */
import { createHash, randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Role } from '@hub/core/viewer';
import { ATTACK_DOCUMENTS } from './support/dos.js';
import { startHub, type Hub } from './support/hub.js';
import { persistedOperation } from './support/persisted.js';

const RATE_LIMITED_ROLE = 'finance';
const REQUESTS_PER_WINDOW = 6;

let hub: Hub;
let firstGateway: string;

beforeAll(async () => {
  hub = await startHub({
    gatewayEnv: {
      REDIS_URL: 'redis://127.0.0.1:6379',
      HUB_RATE_LIMIT_PREFIX: `hub-e2e-${randomUUID()}`,
      HUB_LIMITS_ROLES: JSON.stringify({
        [RATE_LIMITED_ROLE]: { requestsPerWindow: REQUESTS_PER_WINDOW },
        partner: { cost: 1000 },
      }),
    },
  });
  firstGateway = hub.gatewayUrl;
});

afterAll(async () => {
  await hub?.stop();
});

const token = (roles: Role[], sub = 'u1') => hub.token({ tenant: 'acme', roles, sub, book: ['u1'] });

interface Raw {
  status: number;
  headers: Headers;
  body: { data?: unknown; errors?: { message: string; extensions?: Record<string, unknown> }[] };
}

async function send(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Raw> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as Raw['body'] };
}

const bearer = (value: string) => ({ authorization: `Bearer ${value}` });

/** Query-plan fetches the gateway made so far, from its own histogram. */
async function subgraphFetches(url = hub.gatewayUrl): Promise<number> {
  const text = await (await fetch(url.replace('/graphql', '/metrics'))).text();
  return text
    .split('\n')
    .filter((line) => line.startsWith('hub_gateway_subgraph_fetch_duration_seconds_count'))
    .reduce((sum, line) => sum + Number(line.split(' ').pop()), 0);
}

/** Runs `fn`; returns the subgraph fetches and SQL statements it caused. */
async function downstreamOf(fn: () => Promise<unknown>): Promise<{ fetches: number; statements: number }> {
  const before = await subgraphFetches();
  const counts = await hub.countStatements(fn);
  const statements = Object.values(counts)
    .flatMap((tables) => Object.values(tables))
    .reduce((a, b) => a + b, 0);
  return { fetches: (await subgraphFetches()) - before, statements };
}

const CUSTOMER_360_FIELDS = `id name industry
  contacts(first: 3) { edges { node { firstName lastName email title } } }
  journey { currentStage stageHistory { stage entryDate exitDate } nextStagePrediction { targetStage readinessScore } }
  campaigns(first: 3) { edges { node { campaign { name campaignType } openRate conversionRate } } }
  opportunities(first: 3) { edges { node { type value probability timeline successFactors } } }
  usage { feature usageCount adoptionScore }
  finance { revenueAttribution { currentArr } financialHealth { paymentStatus collectionHealth } }
  tickets(first: 3) { edges { node { subject status priority satisfactionScore } } }
  supportSatisfaction { averageScore responses openTickets }
  health { score metrics { usageScore engagementScore supportSatisfaction paymentStatus } dataQualityScore }`;

describe('demand control', () => {
  for (const role of ['cs_manager', 'admin'] as const) {
    for (const doc of ATTACK_DOCUMENTS) {
      it(`${role}: ${doc.name} is OPERATION_TOO_COMPLEX with value and limit, and no subgraph is called`, async () => {
        const auth = bearer(await token([role]));
        // Identifying the viewer looks its book up once (cached 30 s): that is not the attack's doing.
        await send(hub.gatewayUrl, { query: '{ __typename }' }, auth);
        let result: Raw | undefined;
        let ms = 0;
        const downstream = await downstreamOf(async () => {
          const t0 = performance.now();
          result = await send(hub.gatewayUrl, { query: doc.query }, auth);
          ms = performance.now() - t0;
        });
        expect(result?.status).toBe(400);
        const extensions = result?.body.errors?.[0]?.extensions ?? {};
        expect(extensions['code']).toBe('OPERATION_TOO_COMPLEX');
        expect(['tokens', 'aliases', 'rootFields', 'cost']).toContain(extensions['measure']);
        expect(extensions['value']).toBeGreaterThan(Number(extensions['limit']));
        expect(downstream).toEqual({ fetches: 0, statements: 0 });
        // Before demand control these took 0.26–6.2 s; a generous bound, the figures are in gateway/README.
        expect(ms).toBeLessThan(1000);
      });
    }
  }

  it('an APQ hash-only request is held to the limits of its sender, not of who registered it', async () => {
    const query = `query Wide { ${Array.from({ length: 15 }, (_, i) => `c${i}: customer(id: "cust_00001") { id }`).join(' ')} }`;
    const extensions = { persistedQuery: { version: 1, sha256Hash: createHash('sha256').update(query).digest('hex') } };
    const registered = await send(hub.gatewayUrl, { query, extensions }, bearer(await token(['admin'])));
    expect(registered.body.errors).toBeUndefined();
    const downstream = await downstreamOf(async () => {
      const byHash = await send(hub.gatewayUrl, { extensions }, bearer(await token(['cs_manager'])));
      expect(byHash.status).toBe(400);
      expect(byHash.body.errors?.[0]?.extensions).toEqual({
        code: 'OPERATION_TOO_COMPLEX',
        measure: 'rootFields',
        value: 15,
        limit: 10,
      });
    });
    expect(downstream.fetches).toBe(0);
  });

  it('a legitimate 100-customer query across all seven subgraphs passes for an admin', async () => {
    const query = `{ customers(first: 100) { totalCount edges { node { ${CUSTOMER_360_FIELDS} } } } }`;
    const result = await send(hub.gatewayUrl, { query }, bearer(await token(['admin'])));
    expect(result.status).toBe(200);
    expect(result.body.errors).toBeUndefined();
    const edges = (result.body.data as { customers: { edges: { node: { health: unknown; usage: unknown } }[] } })
      .customers.edges;
    expect(edges).toHaveLength(100);
    expect(edges.every((edge) => edge.node.health !== null && edge.node.usage !== null)).toBe(true);
  });

  it('the README tour queries pass for an admin', async () => {
    const auth = bearer(await token(['admin']));
    const tour = [
      `query Book { customers(first: 5, filter: { ownerId: "u1" }) { totalCount pageInfo { hasNextPage endCursor }
        edges { node { id name tier lifecycleStatus health { score trend { thirtyDayChange riskIndicators } }
        renewal { renewalProbability contractValue riskFactors } adoption { overallAdoptionRate maturityLevel } } } } }`,
      `query Customer360 { customer(id: "cust_00001") { ${CUSTOMER_360_FIELDS} } }`,
    ];
    for (const query of tour) {
      const result = await send(hub.gatewayUrl, { query }, auth);
      expect(result.body.errors).toBeUndefined();
    }
  });
});

describe('error codes, never a clue', () => {
  it('field suggestions are hidden from every role but admin', async () => {
    const query = 'mutation { createApiKy(input: { name: "x", app: "a", customerIds: [], fields: [] }) { secret } }';
    for (const role of ['cs_manager', 'sales_rep', 'marketing', 'finance'] as const) {
      const result = await send(hub.gatewayUrl, { query }, bearer(await token([role], `suggest-${role}`)));
      expect(result.body.errors?.[0]?.message).not.toMatch(/Did you mean|createApiKey/);
    }
    const admin = await send(hub.gatewayUrl, { query }, bearer(await token(['admin'])));
    expect(admin.body.errors?.[0]?.message).toMatch(/Did you mean "createApiKey"/);
  });

  const CREATE = 'mutation($input: CreateOpportunityInput!) { createOpportunity(input: $input) { id } }';
  const input = (extra: Record<string, unknown>) => ({
    customerId: 'cust_00001',
    ownerId: 'u1',
    type: 'UPSELL',
    value: '75000.00',
    probability: 0.75,
    timeline: 'q1_2026',
    ...extra,
  });
  const literal = (value: string) =>
    `mutation { createOpportunity(input: { customerId: "cust_00001", ownerId: "u1", type: UPSELL, value: ${value},
      probability: 0.75, timeline: "q1_2026" }) { id } }`;
  const invalid: [string, unknown, string][] = [
    ['Money "NaN" in variables', { query: CREATE, variables: { input: input({ value: 'NaN' }) } }, 'input.value'],
    ['Money "1e309" in variables', { query: CREATE, variables: { input: input({ value: '1e309' }) } }, 'input.value'],
    ['Money "NaN" as a literal', { query: literal('"NaN"') }, 'input.value'],
    [
      'DateTime "yesterday" in variables',
      { query: CREATE, variables: { input: input({ sourceUpdatedAt: 'yesterday' }) } },
      'input.sourceUpdatedAt',
    ],
    ['NUL in a variable', { query: CREATE, variables: { input: input({ timeline: 'q1\u0000' }) } }, 'input.timeline'],
    [
      'NUL in a nested input list',
      { query: CREATE, variables: { input: input({ csContribution: { successEvidence: ['ok', 'a\u0000'] } }) } },
      'input.csContribution.successEvidence.1',
    ],
    ['NUL in a literal', { query: 'query { customer(id: "cust\\u0000") { id } }' }, 'id'],
  ];
  for (const [name, body, field] of invalid) {
    it(`${name}: BAD_USER_INPUT naming ${field}, HTTP 400, no subgraph called`, async () => {
      let result: Raw | undefined;
      const downstream = await downstreamOf(async () => {
        result = await send(hub.gatewayUrl, body, bearer(await token(['admin'])));
      });
      expect(result?.status).toBe(400);
      expect(result?.body.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', field });
      expect(downstream).toEqual({ fetches: 0, statements: 0 });
    });
  }

  it('an unknown operationName, a mismatched APQ hash and a malformed body are coded JSON 400s', async () => {
    const auth = bearer(await token(['admin']));
    const unknown = await send(
      hub.gatewayUrl,
      { query: 'query A { customer(id: "x") { id } }', operationName: 'B' },
      auth,
    );
    expect([unknown.status, unknown.body.errors?.[0]?.extensions]).toEqual([
      400,
      { code: 'BAD_USER_INPUT', field: 'operationName' },
    ]);
    const extensions = { persistedQuery: { version: 1, sha256Hash: '0'.repeat(64) } };
    const mismatch = await send(hub.gatewayUrl, { query: '{ customer(id: "x") { id } }', extensions }, auth);
    expect([mismatch.status, mismatch.body.errors?.[0]?.extensions]).toEqual([400, { code: 'BAD_REQUEST' }]);
    const malformed = await send(hub.gatewayUrl, '{"query": ', auth);
    expect([malformed.status, malformed.body.errors?.[0]?.extensions]).toEqual([400, { code: 'BAD_REQUEST' }]);
  });
});

describe('rate limits shared through Redis by two gateway replicas', () => {
  let secondGateway: string;
  let partnerKey: { id: string; secret: string };

  beforeAll(async () => {
    const created = await send(
      firstGateway,
      {
        query: 'mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret apiKey { id } } }',
        variables: {
          input: {
            name: 'limits e2e',
            app: 'partner-portal',
            customerIds: ['cust_00001'],
            fields: ['Query.customers', 'Query.customer', 'Customer.*', 'CustomerHealth.*', 'HealthTrend.*'],
          },
        },
      },
      bearer(await token(['admin'])),
    );
    const key = (created.body.data as { createApiKey: { secret: string; apiKey: { id: string } } }).createApiKey;
    partnerKey = { id: key.apiKey.id, secret: key.secret };
    // The second replica also knows a per-key limit for this key.
    await hub.startGateway({ HUB_LIMITS_API_KEYS: JSON.stringify({ [partnerKey.id]: { cost: 5 } }) });
    secondGateway = hub.gatewayUrl;
  });

  it(`${REQUESTS_PER_WINDOW} requests per window in total across both replicas, then 429 with Retry-After on either`, async () => {
    const auth = bearer(await token([RATE_LIMITED_ROLE], `rate-${randomUUID()}`));
    const query = { query: '{ customer(id: "cust_00001") { id } }' };
    for (let i = 0; i < REQUESTS_PER_WINDOW; i++) {
      const result = await send(i % 2 === 0 ? firstGateway : secondGateway, query, auth);
      expect(result.status).toBe(200);
    }
    for (const url of [firstGateway, secondGateway]) {
      const over = await send(url, query, auth);
      expect(over.status).toBe(429);
      const retryAfter = Number(over.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(over.body.errors?.[0]?.extensions).toEqual({
        code: 'RATE_LIMITED',
        limit: 'requestsPerWindow',
        retryAfterSeconds: retryAfter,
      });
    }
  });

  const partnerCustomers = (first: number) => ({
    id: persistedOperation('PartnerCustomers').id,
    variables: { first },
  });

  it("a partner's persisted operation is held to the partner limits, cost measured with its variables", async () => {
    const headers = { 'x-api-key': partnerKey.secret };
    const small = await send(firstGateway, partnerCustomers(5), headers);
    expect(small.body.errors).toBeUndefined();
    const large = await send(firstGateway, partnerCustomers(500), headers);
    expect(large.status).toBe(400);
    expect(large.body.errors?.[0]?.extensions).toMatchObject({
      code: 'OPERATION_TOO_COMPLEX',
      measure: 'cost',
      limit: 1000,
    });
  });

  it('a per-key limit (HUB_LIMITS_API_KEYS) replaces the partner role limit for that key', async () => {
    const result = await send(secondGateway, partnerCustomers(5), { 'x-api-key': partnerKey.secret });
    expect(result.status).toBe(400);
    expect(result.body.errors?.[0]?.extensions).toMatchObject({
      code: 'OPERATION_TOO_COMPLEX',
      measure: 'cost',
      limit: 5,
    });
  });
});
