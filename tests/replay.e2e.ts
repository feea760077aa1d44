/**
 * A viewer header captured on the wire is worth nothing elsewhere (issue 6, item 2). Recording
 * proxies sit between the gateway and three subgraphs (and between the other subgraphs and
 * customers), in production mode; real traffic from an admin, a partner, the gateway's own lookups
 * and a subgraph's service calls (its replica's snapshot and stream reads) is captured, then every captured header is replayed with another
 * query, to every other subgraph, again with its own request, and after expiry: each is refused 401
 * with a generic message, and the subgraph's log names the check that refused it.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKeyPair } from '@hub/core/keys';
import {
  CLOCK_SKEW_MS,
  VIEWER_TOKEN_TTL_MS,
  createViewerSigner,
  servicePrincipal,
  serviceIssuer,
} from '@hub/core/viewer';
import { startHub, type Hub } from './support/hub.js';
import { persistedOperation } from './support/persisted.js';
import { codesOf, DOMAINS, postRaw, type Domain, type GqlResponse } from './support/matrix.js';
import { startRecordingProxy, type CapturedRequest, type RecordingProxy } from './support/proxy.js';

type Watched = 'customers' | 'sales' | 'health';
const WATCHED: readonly Watched[] = ['customers', 'sales', 'health'];
const proxies = {} as Record<Watched, RecordingProxy>;
let hub: Hub;
let db: pg.Pool;
let admin: string;
let partnerKey: string;

const ADMIN_READ = `query AdminRead { customers(first: 2) { edges { node { id name
  renewal { renewalProbability } health { score } } } } }`;
const PARTNER_CUSTOMER_ID = persistedOperation('PartnerCustomer').id;
const partnerRead = {
  variables: { id: 'cust_00001' },
  extensions: { persistedQuery: { version: 1, sha256Hash: PARTNER_CUSTOMER_ID } },
};

/** What an attacker would rather run with a captured header, per subgraph. */
const ATTACK_QUERY: Record<Domain, string> = {
  customers:
    'mutation { createApiKey(input: { name: "replayed", app: "partner-portal", customerIds: ["cust_00002"], fields: ["Customer.*"] }) { secret } }',
  marketing:
    '{ _entities(representations: [{ __typename: "Customer", id: "cust_00002" }]) { ... on Customer { journey { currentStage } } } }',
  sales:
    '{ _entities(representations: [{ __typename: "Customer", id: "cust_00002" }]) { ... on Customer { opportunities(first: 5) { totalCount } } } }',
  product:
    '{ _entities(representations: [{ __typename: "Customer", id: "cust_00002" }]) { ... on Customer { adoption { overallAdoptionRate } } } }',
  finance:
    '{ _entities(representations: [{ __typename: "Customer", id: "cust_00002" }]) { ... on Customer { finance { revenueAttribution { currentArr } } } } }',
  support:
    '{ _entities(representations: [{ __typename: "Customer", id: "cust_00002" }]) { ... on Customer { tickets(first: 5) { totalCount } } } }',
  health:
    '{ _entities(representations: [{ __typename: "Customer", id: "cust_00002" }]) { ... on Customer { health { score } } } }',
};

const count = async (table: string) => Number((await db.query(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n);
const API_KEYS = 'customers."ApiKey"';
const OPPORTUNITIES = 'sales."ExpansionOpportunity"';

let replays = 0;
/** Sends `headers` (a captured set, or a forged one) to a subgraph under a fresh request id. */
async function send(domain: Domain, body: unknown, headers: Readonly<Record<string, string>>) {
  const requestId = `replay-${++replays}-${Date.now()}`;
  const viewer = headers['x-hub-viewer'];
  const response = await postRaw(hub.subgraphs[domain].url, body, {
    ...(viewer ? { 'x-hub-viewer': viewer } : {}),
    'x-request-id': requestId,
  });
  return { response, requestId };
}

/** The reason the subgraph logged for refusing `requestId` (the client only sees a generic message). */
async function loggedReason(domain: Domain, requestId: string): Promise<string | undefined> {
  for (let attempt = 0; attempt < 40; attempt++) {
    const lines = readFileSync(path.join(hub.logDir, `${domain}.log`), 'utf8').split('\n');
    for (const line of lines) {
      if (!line.includes(requestId)) continue;
      const entry = JSON.parse(line) as { requestId?: string; reason?: string; msg?: string };
      if (entry.requestId === requestId && entry.msg === 'refused unsigned request') return entry.reason;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return undefined;
}

async function expectRefused(domain: Domain, body: unknown, headers: Record<string, string>, reason: RegExp) {
  const { response, requestId } = await send(domain, body, headers);
  expectUnauthenticated(response);
  expect(await loggedReason(domain, requestId)).toMatch(reason);
}

function expectUnauthenticated(response: GqlResponse) {
  expect(response.status).toBe(401);
  expect(codesOf(response)).toEqual(['UNAUTHENTICATED']);
  expect(response.data ?? null).toBeNull();
  expect(response.errors?.[0]?.message).toBe('This subgraph only answers requests signed by the gateway');
}

/** The viewer a captured token carries (read as an attacker can: the payload is not secret). */
function viewerOf(request: Pick<CapturedRequest, 'headers'>): { roles: string[]; userId: string } {
  const [payload = ''] = (request.headers['x-hub-viewer'] ?? '').split('.');
  return (
    JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { viewer: { roles: string[]; userId: string } }
  ).viewer;
}
const roleOf = (request: Pick<CapturedRequest, 'headers'>) => viewerOf(request).roles.join(',');

interface Capture {
  readonly at: Watched;
  readonly role: string;
  readonly user?: string;
  readonly query: RegExp;
  /** A request made all the time (a replica's long poll): take the one started last, just now. */
  readonly latest?: boolean;
}

/** The one request captured at `domain` from a viewer of `role` (and `user`, when given) whose query matches. */
async function captured({ at, role, user, query, latest }: Capture): Promise<CapturedRequest> {
  if (latest) {
    // A customers commit answers every replica's long poll; each starts a new one at once, with a fresh token.
    const wake = await hub.query(
      'mutation { updateCustomer(id: "cust_00003", input: { industry: "Retail" }) { id } }',
      {},
      admin,
    );
    expect(wake.errors).toBeUndefined();
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  const found = proxies[at].captured.filter(
    (c) =>
      c.forwarded &&
      roleOf(c) === role &&
      (user === undefined || viewerOf(c).userId === user) &&
      query.test(String(c.body['query'])),
  );
  if (latest && found.length > 0) return found[found.length - 1] as CapturedRequest;
  if (found.length !== 1) throw new Error(`${found.length} requests of ${role} at ${at} match ${query}`);
  return found[0] as CapturedRequest;
}

beforeAll(async () => {
  for (const domain of WATCHED) proxies[domain] = await startRecordingProxy();
  hub = await startHub({
    // The proxies answer a dropped request 503, which the gateway would retry (re-signed): no retries,
    // so each dropped request leaves exactly one unused token behind.
    gatewayEnv: { SUBGRAPH_RETRIES: '0' },
    urlOf: (domain, url) => {
      const proxy = (proxies as Partial<Record<Domain, RecordingProxy>>)[domain];
      if (!proxy) return url;
      proxy.target = url;
      return proxy.url;
    },
  });
  db = new pg.Pool({ connectionString: hub.database.url, max: 2 });
  admin = await hub.token({ tenant: 'acme', roles: ['admin'] });
  const read = await hub.query(ADMIN_READ, {}, admin);
  expect(read.errors).toBeUndefined();
  const created = await hub.query<{ createApiKey: { secret: string } }>(
    'mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret } }',
    {
      input: {
        name: 'replay partner',
        app: 'partner-portal',
        customerIds: ['cust_00001'],
        fields: ['Query.customer', 'Customer.id', 'Customer.name', 'Customer.health', 'CustomerHealth.score'],
      },
    },
    admin,
  );
  partnerKey = created.data?.createApiKey.secret ?? '';
  expect(partnerKey).toMatch(/^hub_/);
  const opportunity = await hub.query(
    'mutation { createOpportunity(input: { customerId: "cust_00001", ownerId: "u1", type: UPSELL, value: "1000.00", probability: 0.5, timeline: "q1_2026" }) { id } }',
    {},
    admin,
  );
  expect(opportunity.errors).toBeUndefined();
  const partner = await postRaw(hub.gatewayUrl, partnerRead, { 'x-api-key': partnerKey });
  expect(partner.errors).toBeUndefined();
  expect(partner.data).toMatchObject({ customer: { id: 'cust_00001', health: { score: expect.any(Number) } } });
});

afterAll(async () => {
  await db?.end();
  await hub?.stop();
  await Promise.all(Object.values(proxies).map((proxy) => proxy.stop()));
});

/** Every kind of header seen on the wire, by who sent it and where. */
const CAPTURES: (Capture & { name: string })[] = [
  { name: 'admin read (gateway -> customers)', at: 'customers', role: 'admin', query: /customers\(first/ },
  { name: 'admin read (gateway -> sales)', at: 'sales', role: 'admin', query: /renewal/ },
  { name: 'admin read (gateway -> health)', at: 'health', role: 'admin', query: /_entities/ },
  { name: 'admin createApiKey (gateway -> customers)', at: 'customers', role: 'admin', query: /createApiKey/ },
  { name: 'admin createOpportunity (gateway -> sales)', at: 'sales', role: 'admin', query: /createOpportunity/ },
  {
    name: 'sales replica stream read (sales -> customers)',
    at: 'customers',
    role: 'service',
    user: 'service:sales',
    query: /_events/,
    latest: true,
  },
  { name: 'gateway key lookup (gateway -> customers)', at: 'customers', role: 'system', query: /_apiKeyByHash/ },
  { name: 'partner read (gateway -> customers)', at: 'customers', role: 'partner', query: /customer\(id/ },
  { name: 'partner read (gateway -> health)', at: 'health', role: 'partner', query: /_entities/ },
];

describe('a captured header, replayed', () => {
  it.each(CAPTURES)('$name: with another query, or other variables -> 401', async (capture) => {
    const { at } = capture;
    const { headers, body } = await captured(capture);
    const keys = await count(API_KEYS);
    await expectRefused(at, { query: ATTACK_QUERY[at] }, headers, /another request/);
    const variables = { ...(body['variables'] as object | undefined), extra: 'x' };
    await expectRefused(at, { ...body, variables }, headers, /another request/);
    expect(await count(API_KEYS)).toBe(keys);
  });

  const elsewhere = CAPTURES.flatMap((capture) =>
    DOMAINS.filter((d) => d !== capture.at).map((to) => ({ ...capture, to })),
  );
  it.each(elsewhere)('$name: to $to, with its own or that subgraph’s query -> 401', async (capture) => {
    const { to } = capture;
    const { headers, body } = await captured(capture);
    // (A service's token at its own subgraph fails earlier: nobody trusts a service to call itself.)
    await expectRefused(to, body, headers, /addressed to|untrusted issuer/);
    await expectRefused(to, { query: ATTACK_QUERY[to] }, headers, /addressed to|untrusted issuer/);
  });

  it.each(CAPTURES)('$name: again with its own request, twice -> 401, nothing happens twice', async (capture) => {
    const { at } = capture;
    const { headers, body } = await captured(capture);
    const before = { keys: await count(API_KEYS), opportunities: await count(OPPORTUNITIES) };
    await expectRefused(at, body, headers, /already used/);
    await expectRefused(at, body, headers, /already used/);
    expect({ keys: await count(API_KEYS), opportunities: await count(OPPORTUNITIES) }).toEqual(before);
  });
});

describe('a header captured before it reached the subgraph', () => {
  it('works once for its own request while fresh, and is refused 401 once expired (admin and partner)', async () => {
    // The proxy keeps the next three gateway requests to customers instead of forwarding them: tokens
    // never used (the replicas' stream reads pass).
    proxies.customers.dropOnly = (request) => roleOf(request) !== 'service';
    proxies.customers.drop = 3;
    const from = proxies.customers.captured.length;
    await hub.query(ADMIN_READ, {}, admin);
    await hub.query(ADMIN_READ, {}, admin);
    await postRaw(hub.gatewayUrl, partnerRead, { 'x-api-key': partnerKey });
    const [fresh, adminLate, partnerLate] = proxies.customers.captured
      .slice(from)
      .filter((request) => roleOf(request) !== 'service');
    expect([fresh, adminLate, partnerLate].map((c) => c?.forwarded)).toEqual([false, false, false]);
    if (!fresh || !adminLate || !partnerLate) throw new Error('nothing captured');
    expect(String(partnerLate.body['query'])).toMatch(/customer\(id/);

    // Control: an unused token is a valid token, for exactly the request it was signed for.
    const control = await send('customers', fresh.body, fresh.headers);
    expect(control.response.status).toBe(200);
    expect(control.response.errors).toBeUndefined();

    await new Promise((resolve) => setTimeout(resolve, VIEWER_TOKEN_TTL_MS + CLOCK_SKEW_MS + 200));
    await expectRefused('customers', adminLate.body, adminLate.headers, /expired/);
    await expectRefused('customers', partnerLate.body, partnerLate.headers, /expired/);
  });
});

describe('a subgraph’s service identity', () => {
  const sign = (service: string, audience: Domain, body: { query: string }, tenant = 'acme') => {
    const privateKey = hub.keys.services[service as Domain].privateKey;
    const signer = createViewerSigner({ issuer: serviceIssuer(service), privateKey });
    return { 'x-hub-viewer': signer.sign(servicePrincipal(service, tenant, 'svc'), audience, body) };
  };
  const SNAPSHOT = {
    query:
      '{ _replicaSnapshot { customers { tenantId id ownerId } grants { id tenantId customerIds fields revoked } } }',
  };

  it.each(DOMAINS.filter((d) => d !== 'customers'))(
    '%s may read the customers snapshot its replica starts from: ids, owners and grants, never a secret',
    async (service) => {
      const { response } = await send('customers', SNAPSHOT, sign(service, 'customers', SNAPSHOT, '*'));
      expect(response.errors).toBeUndefined();
      const snapshot = response.data?.['_replicaSnapshot'] as {
        customers: { tenantId: string; id: string }[];
        grants: { id: string }[];
      };
      expect(snapshot.customers.find((c) => c.id === 'cust_00001')).toEqual({
        tenantId: 'acme',
        id: 'cust_00001',
        ownerId: 'u1',
      });
      expect(snapshot.grants.length).toBeGreaterThan(0);
      expect(JSON.stringify(snapshot)).not.toMatch(/hub_[A-Za-z0-9_-]{20}|[0-9a-f]{64}/);
    },
  );

  const forbidden: [string, string][] = [
    ['the customers list', '{ customers(first: 5) { totalCount edges { node { id name } } } }'],
    ['an API key lookup', '{ _apiKeyByHash(hash: "00") { id } }'],
    ['createApiKey', ATTACK_QUERY.customers],
    [
      '_entities',
      '{ _entities(representations: [{ __typename: "Customer", id: "cust_00001" }]) { ... on Customer { name } } }',
    ],
    ['_service', '{ _service { sdl } }'],
  ];
  it.each(forbidden)('sales calling customers for %s is refused, nothing returned or written', async (_name, query) => {
    const keys = await count(API_KEYS);
    const { response } = await send('customers', { query }, sign('sales', 'customers', { query }));
    expect(codesOf(response).length).toBeGreaterThan(0);
    for (const code of codesOf(response)) expect(code).toBe('FORBIDDEN');
    expect(JSON.stringify(response.data ?? null)).not.toMatch(/cust_0|hub_|type Customer/);
    expect(await count(API_KEYS)).toBe(keys);
  });

  it.each(DOMAINS.filter((d) => d !== 'customers' && d !== 'marketing'))(
    'marketing calling %s gets nothing: no other subgraph grants services a field',
    async (domain) => {
      const body = { query: ATTACK_QUERY[domain] };
      const { response } = await send(domain, body, sign('marketing', domain, body));
      expect(codesOf(response)).toContain('FORBIDDEN');
      expect(JSON.stringify(response.data ?? null)).not.toMatch(/\d/);
    },
  );

  it('a subgraph does not trust its own service key, nor a key nobody configured', async () => {
    const body = { query: ATTACK_QUERY.sales };
    await expectRefused('sales', body, sign('sales', 'sales', body), /untrusted issuer/);
    const impostor = createViewerSigner({
      issuer: serviceIssuer('sales'),
      privateKey: generateSigningKeyPair().privateKey,
    });
    await expectRefused(
      'customers',
      SNAPSHOT,
      { 'x-hub-viewer': impostor.sign(servicePrincipal('sales', 'acme', 'x'), 'customers', SNAPSHOT) },
      /bad signature/,
    );
  });
});
