/**
 * Live sync over GraphQL subscriptions (issue 9) through the real gateway and seven subgraph
 * processes over PostgreSQL, with real clients over the real protocol (graphql-ws, and Apollo
 * Client's GraphQLWsLink):
 *
 * - the attack matrix's subscription path: every role and every pair of roles, in both tenants,
 *   plus partner keys, subscribe to every domain's changes while an admin writes all seven domains
 *   of three customers (own book, other book, other tenant); each subscriber must receive exactly
 *   the (domain, customer) pairs its roles may read (SQL as the oracle of who owns what), and each
 *   payload field only where a role covering that row reads that field's domain;
 * - a payload selecting fields of three subgraphs; resume after a dropped connection (exactly
 *   once, in order, then live); credentials refused, expired and revoked (close codes, bounds).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApolloClient, HttpLink, InMemoryCache, gql } from '@apollo/client';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import type { Role } from '@hub/core/viewer';
import { startHub, type Hub } from './support/hub.js';
import { subscribeLive, wsUrlOf, type LiveSubscriber, type Received } from './support/live.js';
import { WRITES, newTag } from './support/attacks.js';
import {
  OTHER,
  Oracle,
  PAIRS,
  TENANTS,
  VIEWERS,
  mayOnRow,
  type Domain,
  type RolesSpec,
  type Tenant,
} from './support/matrix.js';
import { readFileSync } from 'node:fs';

const CHECK_MS = 1000;
let hub: Hub;
let oracle: Oracle;
const tokens = new Map<string, string>();

async function tokenOf(tenant: Tenant, roles: readonly Role[], sub = 'admin1', book: string[] = []): Promise<string> {
  const key = `${tenant}:${roles.join('+')}:${sub}:${book.join(',')}`;
  let token = tokens.get(key);
  if (!token) tokens.set(key, (token = await hub.token({ tenant, roles: [...roles], sub, book })));
  return token;
}

const admin = (tenant: Tenant) => tokenOf(tenant, ['admin']);
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

beforeAll(async () => {
  // Apollo's GraphQLWsLink tells close events by the global WebSocket (Node 20 has none).
  globalThis.WebSocket ??= WebSocket as unknown as typeof globalThis.WebSocket;
  hub = await startHub({ gatewayEnv: { HUB_LIVE_CREDENTIAL_CHECK_MS: String(CHECK_MS) } });
  oracle = new Oracle(hub.database.url, hub.secrets.masterKey);
}, 600_000);
afterAll(async () => {
  await oracle?.close();
  await hub?.stop();
});

const CHANGES = `subscription Changes($domains: [Domain!], $ids: [ID!], $after: String) {
  customerChanged(domains: $domains, customerIds: $ids, after: $after) {
    cursor domain type changedFields committedAt
    customer { id name industry renewal { contractValue } health { score } }
  }
}`;

interface Change {
  customerChanged: {
    cursor: string;
    domain: string;
    type: string;
    changedFields: string[];
    committedAt: string;
    customer: { id: string; name: string; industry: string | null; renewal: unknown; health: unknown } | null;
  };
}

const changesOf = (received: Received<Change>[]) => received.flatMap((r) => (r.data ? [r.data.customerChanged] : []));

/** Waits for the gateway's tails to be live for a new subscription (its first read of every stream). */
const settle = () => new Promise((r) => setTimeout(r, 1500));

/** The matrix's writes, one per domain; the customers one changes a value (a source alone commits no change). */
const UPDATE_CUSTOMER =
  'mutation($c: ID!, $tag: String!) { updateCustomer(id: $c, input: { industry: $tag, sourceSystem: $tag }) { id } }';

async function write(tenant: Tenant, domain: Domain, customerId: string): Promise<void> {
  const spec = WRITES.find((w) => w.domain === domain);
  if (!spec) throw new Error(`no write for ${domain}`);
  const mutation = domain === 'customers' ? UPDATE_CUSTOMER : spec.mutation;
  const res = await hub.query(mutation, spec.variables(customerId, newTag()), await admin(tenant));
  expect(res.errors, `${domain} write on ${customerId}`).toBeUndefined();
}

describe('subscriptions over graphql-ws', () => {
  it('delivers a committed change with a payload from three subgraphs', async () => {
    const sub = subscribeLive<Change>(hub.gatewayUrl, bearer(await admin('acme')), CHANGES, { ids: ['cust_00001'] });
    await settle();
    const tag = `live-${Date.now()}`;
    const res = await hub.query(
      'mutation ($tag: String!) { updateCustomer(id: "cust_00001", input: { industry: $tag }) { id } }',
      { tag },
      await admin('acme'),
    );
    expect(res.errors).toBeUndefined();
    await sub.until((r) => changesOf(r).some((e) => e.customer?.industry === tag));
    const event = sub.received.find((e) => e.data?.customerChanged.customer?.industry === tag);
    expect(event?.errors).toBeUndefined();
    expect(event?.data?.customerChanged).toMatchObject({
      domain: 'CUSTOMERS',
      type: 'customers.update_customer',
      customer: { id: 'cust_00001', name: expect.any(String) },
    });
    expect(event?.data?.customerChanged.changedFields).toContain('industry');
    // Fields of the sales and health subgraphs came through the federated graph.
    expect(event?.data?.customerChanged.customer).toHaveProperty('renewal');
    expect(event?.data?.customerChanged.customer?.health).toMatchObject({ score: expect.any(Number) });
    await sub.close();
  }, 60_000);

  it('Apollo Client (GraphQLWsLink) receives the same events', async () => {
    const client = new ApolloClient({
      cache: new InMemoryCache(),
      link: new GraphQLWsLink(
        createClient({
          url: wsUrlOf(hub.gatewayUrl),
          webSocketImpl: WebSocket,
          connectionParams: bearer(await admin('acme')),
        }),
      ),
    });
    const seen: Change['customerChanged'][] = [];
    const subscription = client
      .subscribe<Change>({ query: gql(CHANGES), variables: { ids: ['cust_00002'], domains: ['CUSTOMERS'] } })
      .subscribe({ next: (result) => void (result.data && seen.push(result.data.customerChanged)) });
    await settle();
    await write('acme', 'customers', 'cust_00002');
    const deadline = Date.now() + 30_000;
    while (seen.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(seen[0]).toMatchObject({ domain: 'CUSTOMERS', customer: { id: 'cust_00002' } });
    subscription.unsubscribe();
    await client.stop();
  }, 60_000);
});

describe('multipart HTTP subscriptions', () => {
  it('Apollo Client (HttpLink alone) subscribes over multipart HTTP and receives events', async () => {
    const client = new ApolloClient({
      cache: new InMemoryCache(),
      link: new HttpLink({ uri: hub.gatewayUrl, headers: { authorization: `Bearer ${await admin('acme')}` } }),
    });
    const seen: Change['customerChanged'][] = [];
    const errors: unknown[] = [];
    const subscription = client
      .subscribe<Change>({ query: gql(CHANGES), variables: { ids: ['cust_00003'], domains: ['CUSTOMERS'] } })
      .subscribe({
        next: (result) => {
          if (result.data) seen.push(result.data.customerChanged);
          if (result.error) errors.push(result.error);
        },
        error: (error: unknown) => void errors.push(error),
      });
    await settle();
    await write('acme', 'customers', 'cust_00003');
    const deadline = Date.now() + 30_000;
    while (seen.length === 0 && errors.length === 0 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    expect(errors).toEqual([]);
    expect(seen[0]).toMatchObject({ domain: 'CUSTOMERS', customer: { id: 'cust_00003', name: expect.any(String) } });
    subscription.unsubscribe();
    await client.stop();
  }, 60_000);

  it('refuses a bad token with 401 before streaming anything', async () => {
    const response = await fetch(hub.gatewayUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'multipart/mixed;boundary="graphql";subscriptionSpec="1.0",application/json',
        authorization: 'Bearer nope',
      },
      body: JSON.stringify({ query: CHANGES }),
    });
    expect(response.status).toBe(401);
    const body = (await response.json()) as { errors: { extensions: { code: string } }[] };
    expect(body.errors[0]?.extensions.code).toBe('UNAUTHENTICATED');
  });
});

describe('resume', () => {
  it('after a dropped connection, the cursor replays what was missed once each, in order, then live', async () => {
    const id = 'cust_00007';
    const vars = { ids: [id], domains: ['CUSTOMERS'] };
    const first = subscribeLive<Change>(hub.gatewayUrl, bearer(await admin('acme')), CHANGES, vars);
    await settle();
    await write('acme', 'customers', id);
    await first.until((r) => changesOf(r).length === 1);
    const [seen] = changesOf(first.received);
    await first.close();
    // Missed while disconnected.
    for (let i = 0; i < 3; i++) await write('acme', 'customers', id);
    const missed = await oracle.rows<{ committed_at: Date }>(
      `SELECT committed_at FROM customers.hub_sync_outbox WHERE customer_id = $1 AND committed_at > $2 ORDER BY seq`,
      [id, seen?.committedAt],
    );
    expect(missed).toHaveLength(3);
    const second = subscribeLive<Change>(hub.gatewayUrl, bearer(await admin('acme')), CHANGES, {
      ...vars,
      after: seen?.cursor,
    });
    await second.until((r) => changesOf(r).length === 3, 30_000, 'the replay');
    await write('acme', 'customers', id);
    await second.until((r) => changesOf(r).length >= 4, 30_000, 'the live event');
    await new Promise((r) => setTimeout(r, 1000));
    const events = changesOf(second.received);
    expect(events).toHaveLength(4);
    expect(events.slice(0, 3).map((e) => new Date(e.committedAt).getTime())).toEqual(
      missed.map((m) => m.committed_at.getTime()),
    );
    expect(new Set(events.map((e) => e.cursor)).size).toBe(4);
    const times = events.map((e) => new Date(e.committedAt).getTime());
    expect(times).toEqual([...times].sort((a, b) => a - b));
    await second.close();
  }, 90_000);

  it('refuses a cursor it never issued with BAD_USER_INPUT', async () => {
    const sub = subscribeLive<Change>(hub.gatewayUrl, bearer(await admin('acme')), CHANGES, {
      after: 'bm90IGEgY3Vyc29y',
    });
    await sub.done;
    expect(sub.received[0]?.errors?.[0]?.extensions?.['code']).toBe('BAD_USER_INPUT');
    await sub.close();
  });
});

describe('shared resolutions', () => {
  const counter = async (name: string) => {
    const text = await hub.scrapeMetrics(hub.gatewayMetricsUrl);
    return Number(new RegExp(`^${name}\\{[^}]*field="customerChanged"[^}]*\\} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
  };
  const resolutions = () => counter('hub_live_resolutions_total');
  const payloads = () => counter('hub_live_payloads_total');

  it('subscribers with the same selection and scope class share one resolution per event, never across scopes', async () => {
    const id = await oracle.customerWithRow('acme', 'u1', null);
    const vars = { ids: [id], domains: ['CUSTOMERS'] };
    const viewers = [
      ...(await Promise.all([1, 2, 3, 4].map(() => admin('acme')))),
      // Two users of one book (a class: same roles and book), and another book.
      await tokenOf('acme', ['cs_manager'], 'u1', ['u1']),
      await tokenOf('acme', ['cs_manager'], 'u9', ['u1']),
      await tokenOf('acme', ['cs_manager'], 'u3', ['u1', 'u3']),
    ];
    const subs = viewers.map((token) => subscribeLive<Change>(hub.gatewayUrl, bearer(token), CHANGES, vars));
    await settle();
    const before = { resolutions: await resolutions(), payloads: await payloads() };
    await write('acme', 'customers', id);
    for (const sub of subs) await sub.until((r) => changesOf(r).length === 1);
    // admin; cs_manager [u1]; cs_manager [u1, u3].
    expect((await resolutions()) - before.resolutions).toBe(3);
    // The same subscription document too: one payload shaped per shared resolution, sent to each.
    expect((await payloads()) - before.payloads).toBe(3);
    await Promise.all(subs.map((sub) => sub.close()));
  }, 60_000);

  it('a payload that selects personal data is shared only by subscribers of one user (PII reads are audited per user)', async () => {
    const id = await oracle.customerWithRow('acme', 'u1', null);
    const PII = `subscription Pii($ids: [ID!]) {
      customerChanged(domains: [CUSTOMERS], customerIds: $ids) { cursor customer { id contacts(first: 2) { edges { node { email } } } } }
    }`;
    const viewers = [
      await tokenOf('acme', ['admin'], 'admin1'),
      await tokenOf('acme', ['admin'], 'admin1'),
      await tokenOf('acme', ['admin'], 'admin2'),
    ];
    const subs = viewers.map((token) => subscribeLive<Change>(hub.gatewayUrl, bearer(token), PII, { ids: [id] }));
    await settle();
    const before = await resolutions();
    await write('acme', 'customers', id);
    for (const sub of subs) await sub.until((r) => changesOf(r).length === 1);
    // admin1 (twice: shared); admin2 alone.
    expect((await resolutions()) - before).toBe(2);
    await Promise.all(subs.map((sub) => sub.close()));
  }, 60_000);
});

describe('batched resolutions', () => {
  const batches = async () => {
    const text = await hub.scrapeMetrics(hub.gatewayMetricsUrl);
    const read = (name: string) => Number(new RegExp(`^${name}\\{[^}]*\\} ([\\d.]+)`, 'm').exec(text)?.[1] ?? 0);
    return {
      queries: read('hub_live_resolution_batch_size_count'),
      customers: read('hub_live_resolution_batch_size_sum'),
    };
  };

  it('events arriving together are resolved in shared queries, each subscriber still getting only its own rows', async () => {
    const mine = (await oracle.customerIds('acme', ['u1'])).slice(0, 6);
    const others = (await oracle.customerIds('acme', ['u2'])).slice(0, 6);
    const ids = [...mine, ...others];
    const vars = { ids, domains: ['CUSTOMERS'] };
    const everyone = subscribeLive<Change>(hub.gatewayUrl, bearer(await admin('acme')), CHANGES, vars);
    const book = subscribeLive<Change>(
      hub.gatewayUrl,
      bearer(await tokenOf('acme', ['cs_manager'], 'u1', ['u1'])),
      CHANGES,
      vars,
    );
    await settle();
    const before = await batches();
    await Promise.all(ids.map((id) => write('acme', 'customers', id)));
    await everyone.until((r) => changesOf(r).length >= ids.length, 30_000, 'every change');
    await book.until((r) => changesOf(r).length >= mine.length, 30_000, "the book's changes");
    await new Promise((r) => setTimeout(r, 1000));
    expect(new Set(changesOf(everyone.received).map((e) => e.customer?.id))).toEqual(new Set(ids));
    // Resolved beside the admin's events of the other book, yet none of them reach this subscriber.
    expect(
      changesOf(book.received)
        .map((e) => e.customer?.id)
        .sort(),
    ).toEqual([...mine].sort());
    const after = await batches();
    const customers = after.customers - before.customers;
    // One customer part per event and scope class (admin; the book), in fewer queries than parts.
    expect(customers).toBe(2 * ids.length);
    expect(after.queries - before.queries).toBeLessThan(customers);
    await Promise.all([everyone.close(), book.close()]);
  }, 60_000);
});

describe('gateway restart', () => {
  it('a client that resumes on a new gateway process loses nothing committed while none ran', async () => {
    const id = 'cust_00013';
    const vars = { ids: [id], domains: ['CUSTOMERS'] };
    const first = subscribeLive<Change>(hub.gatewayUrl, bearer(await admin('acme')), CHANGES, vars);
    await settle();
    await write('acme', 'customers', id);
    await first.until((r) => changesOf(r).length === 1);
    const cursor = changesOf(first.received)[0]?.cursor;
    await write('acme', 'customers', id);
    await hub.gateway.kill();
    await first.closed;
    await write('acme', 'customers', id).catch(() => undefined);
    const missed = await oracle.rows<{ seq: string }>(
      `SELECT seq::text FROM customers.hub_sync_outbox WHERE customer_id = $1 AND committed_at > $2 ORDER BY seq`,
      [id, changesOf(first.received)[0]?.committedAt],
    );
    await hub.startGateway({ HUB_LIVE_CREDENTIAL_CHECK_MS: String(CHECK_MS) });
    await write('acme', 'customers', id);
    const second = subscribeLive<Change>(hub.gatewayUrl, bearer(await admin('acme')), CHANGES, {
      ...vars,
      after: cursor,
    });
    await second.until((r) => changesOf(r).length >= missed.length + 1, 30_000, 'the replay');
    await new Promise((r) => setTimeout(r, 1000));
    const cursors = changesOf(second.received).map((e) => e.cursor);
    expect(cursors).toHaveLength(missed.length + 1);
    expect(new Set(cursors).size).toBe(cursors.length);
    await second.close();
  }, 120_000);
});

describe('credentials', () => {
  const closeCode = async (params: Record<string, unknown>) => {
    const sub = subscribeLive(hub.gatewayUrl, params, CHANGES);
    const code = await sub.closed;
    await sub.close();
    return code;
  };

  it('closes with 4401 without, or with bad, credentials and 4403 with both kinds at once', async () => {
    expect(await closeCode({})).toBe(4401);
    expect(await closeCode({ authorization: 'Bearer not-a-jwt' })).toBe(4401);
    expect(await closeCode({ 'x-api-key': 'hub_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' })).toBe(4401);
    expect(await closeCode({ ...bearer(await admin('acme')), 'x-api-key': 'hub_x' })).toBe(4403);
  });

  it("holds the query a payload is resolved with to the viewer's demand limits (OPERATION_TOO_COMPLEX)", async () => {
    const aliases = Array.from({ length: 40 }, (_, i) => `n${i}: name`).join(' ');
    const sub = subscribeLive(
      hub.gatewayUrl,
      bearer(await tokenOf('acme', ['cs_manager'], 'u1', ['u1'])),
      `subscription { customerChanged { customer { ${aliases} } } }`,
    );
    await sub.done;
    expect(sub.received[0]?.errors?.[0]?.extensions).toMatchObject({
      code: 'OPERATION_TOO_COMPLEX',
      measure: 'aliases',
    });
    await sub.close();
  });

  it('a token ends its subscriptions at its expiry (4401)', async () => {
    const token = await hub.token({ tenant: 'acme', roles: ['admin'], sub: 'admin1', expiresIn: '4s' });
    const started = Date.now();
    const sub = subscribeLive(hub.gatewayUrl, bearer(token), CHANGES);
    expect(await sub.closed).toBe(4401);
    // A stated bound: at `exp` (4 s, 1 s resolution of `exp`), not at the next credential check.
    expect(Date.now() - started).toBeLessThan(5_500);
    await sub.close();
  }, 30_000);

  it('a revoked key ends its subscriptions within 2 x HUB_LIVE_CREDENTIAL_CHECK_MS (4401)', async () => {
    const created = await hub.query<{ createApiKey: { secret: string; apiKey: { id: string } } }>(
      'mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret apiKey { id } } }',
      { input: { name: 'live revoke', app: 'partner-portal', customerIds: ['cust_00001'], fields: ['Customer.*'] } },
      await admin('acme'),
    );
    const key = created.data?.createApiKey;
    if (!key) throw new Error(JSON.stringify(created.errors));
    const sub = subscribePartner(key.secret);
    await settle();
    const revoke = await hub.query(
      'mutation($id: ID!) { revokeApiKey(id: $id) { id } }',
      { id: key.apiKey.id },
      await admin('acme'),
    );
    expect(revoke.errors).toBeUndefined();
    const revokedAt = Date.now();
    expect(await sub.closed).toBe(4401);
    expect(Date.now() - revokedAt).toBeLessThan(2 * CHECK_MS + 1500);
    await sub.close();
  }, 30_000);

  it('a partner may subscribe only through its manifest; an integration account and non-admins get FORBIDDEN where due', async () => {
    const created = await hub.query<{ createApiKey: { secret: string } }>(
      'mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret } }',
      { input: { name: 'live free-form', app: 'partner-portal', customerIds: ['cust_00001'], fields: ['Customer.*'] } },
      await admin('acme'),
    );
    const freeForm = subscribeLive(hub.gatewayUrl, { 'x-api-key': created.data?.createApiKey.secret }, CHANGES);
    await freeForm.done;
    expect(freeForm.received[0]?.errors?.[0]?.extensions?.['code']).toBe('PERSISTED_QUERY_NOT_IN_LIST');
    await freeForm.close();
    const integration = await hub.token({ tenant: 'acme', roles: ['integration'], sub: 'crm', domains: ['sales'] });
    const refused = subscribeLive(hub.gatewayUrl, bearer(integration), CHANGES);
    await refused.done;
    expect(refused.received[0]?.errors?.[0]?.extensions?.['code']).toBe('FORBIDDEN');
    await refused.close();
    const status = 'subscription { syncStatus(intervalMs: 1000) { customers { status { domain outboxBacklog } } } }';
    const manager = subscribeLive(hub.gatewayUrl, bearer(await tokenOf('acme', ['cs_manager'], 'u1', ['u1'])), status);
    await manager.done;
    expect(manager.received[0]?.errors?.[0]?.extensions?.['code']).toBe('FORBIDDEN');
    await manager.close();
    const asAdmin = subscribeLive<{ syncStatus: { customers: { status: { domain: string } } } }>(
      hub.gatewayUrl,
      bearer(await admin('acme')),
      status,
    );
    await asAdmin.until((r) => r.length >= 2, 10_000, 'two status pushes');
    expect(asAdmin.received[0]?.data?.syncStatus.customers.status.domain).toBe('customers');
    await asAdmin.close();
  }, 60_000);
});

const PARTNER_OP = JSON.parse(
  readFileSync(new URL('../gateway/persisted/partner-portal.json', import.meta.url), 'utf8'),
).operations.find((op: { name: string }) => op.name === 'PartnerCustomerChanges') as { id: string; body: string };

function subscribePartner(secret: string, after?: string): LiveSubscriber<Change> {
  return subscribeLive<Change>(hub.gatewayUrl, { 'x-api-key': secret }, '', after ? { after } : {}, {
    persistedQuery: { version: 1, sha256Hash: PARTNER_OP.id },
  });
}

describe('the attack matrix, subscription path', () => {
  interface Subscriber {
    readonly name: string;
    readonly tenant: Tenant;
    /** May it see `domain`'s change to this customer, and read that domain's fields of it? */
    sees(domain: Domain, target: { tenant: Tenant; owner: string; id: string }): boolean;
    readonly sub: LiveSubscriber<Change>;
  }
  const subscribers: Subscriber[] = [];
  const targets: { tenant: Tenant; owner: string; id: string }[] = [];
  const FIELD_DOMAIN = { renewal: 'sales', health: 'health' } as const;

  beforeAll(async () => {
    for (const [tenant, owner] of [
      ['acme', 'u1'],
      ['acme', 'u2'],
      ['globex', 'u1'],
    ] as const)
      targets.push({ tenant, owner, id: await oracle.customerWithRow(tenant, owner, null) });
    const specs: { tenant: Tenant; spec: RolesSpec }[] = [
      ...TENANTS.flatMap((tenant) =>
        VIEWERS.map((v) => ({ tenant, spec: { roles: [v.role], book: v.book, sub: v.sub, key: v.role } })),
      ),
      ...PAIRS.map((spec) => ({ tenant: 'acme' as Tenant, spec })),
    ];
    for (const { tenant, spec } of specs) {
      const token = await tokenOf(tenant, spec.roles, spec.sub, [...spec.book]);
      subscribers.push({
        name: `${spec.key}@${tenant}`,
        tenant,
        sees: (domain, target) =>
          mayOnRow(tenant, spec, 'customers', 'read', target) && mayOnRow(tenant, spec, domain, 'read', target),
        sub: subscribeLive<Change>(hub.gatewayUrl, bearer(token), CHANGES),
      });
    }
    // Partners: granted one acme customer of u1; one grant reads sales, the other only customers.
    const granted = targets[0]?.id ?? '';
    for (const [name, fields, domains] of [
      [
        'partner:wide',
        ['Query.customer', 'Customer.name', 'Customer.renewal', 'RenewalForecast.*'],
        ['customers', 'sales'],
      ],
      ['partner:narrow', ['Query.customer', 'Customer.name'], ['customers']],
    ] as const) {
      const created = await hub.query<{ createApiKey: { secret: string } }>(
        'mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret } }',
        { input: { name, app: 'partner-portal', customerIds: [granted], fields: [...fields] } },
        await admin('acme'),
      );
      const secret = created.data?.createApiKey.secret;
      if (!secret) throw new Error(JSON.stringify(created.errors));
      subscribers.push({
        name,
        tenant: 'acme',
        sees: (domain, target) => target.id === granted && (domains as readonly string[]).includes(domain),
        sub: subscribePartner(secret),
      });
    }
    await settle();
    for (const write of WRITES) for (const target of targets) await write_(target, write.domain);
  }, 300_000);

  async function write_(target: { tenant: Tenant; id: string }, domain: Domain) {
    await write(target.tenant, domain, target.id);
  }

  afterAll(async () => {
    await Promise.all(subscribers.map((s) => s.sub.close()));
  });

  it('every subscriber receives exactly the changes its roles may read, with only the fields they may read', async () => {
    const expected = (s: Subscriber) =>
      targets.flatMap((t) => WRITES.filter((w) => s.sees(w.domain, t)).map((w) => `${w.domain.toUpperCase()}:${t.id}`));
    // Every expected (domain, customer) pair arrives...
    for (const s of subscribers) {
      const want = expected(s);
      await s.sub.until(
        (r) => {
          const got = new Set(changesOf(r).map((e) => `${e.domain}:${e.customer?.id ?? ''}`));
          return want.every((pair) => got.has(pair));
        },
        120_000,
        `${s.name}: ${want.join(', ')}`,
      );
    }
    // ...and, once every tail had time to pass the writes, nothing else did.
    await new Promise((r) => setTimeout(r, 5000));
    const owners = new Map(targets.map((t) => [t.id, t]));
    let checked = 0;
    for (const s of subscribers) {
      for (const received of s.sub.received) {
        expect(received.data, `${s.name}: ${JSON.stringify(received.errors)}`).toBeTruthy();
        const event = received.data?.customerChanged;
        if (!event) continue;
        const customer = event.customer;
        // Changes of customers outside the test's targets (other tests' writes) still obey the tenant.
        const target = customer ? owners.get(customer.id) : undefined;
        if (!target) {
          const row = await oracle.one<{ tenantId: string }>(
            `SELECT "tenantId" FROM customers."Customer" WHERE id = $1`,
            [customer?.id],
          );
          expect(row?.tenantId, `${s.name} got ${customer?.id ?? 'null'}`).toBe(s.tenant);
          continue;
        }
        const domain = event.domain.toLowerCase() as Domain;
        expect(
          s.sees(domain, target),
          `${s.name} must not see ${event.domain} of ${target.tenant}/${target.owner}`,
        ).toBe(true);
        expect(target.tenant).not.toBe(OTHER[s.tenant]);
        // Each selected field of another subgraph: its value only where the subscriber may read it.
        for (const [field, fieldDomain] of Object.entries(FIELD_DOMAIN)) {
          if (s.name.startsWith('partner:') && field === 'health') continue; // not in the partner's operation
          const forbidden = (received.errors ?? []).some(
            (e) => e.path?.join('.') === `customerChanged.customer.${field}` && e.extensions?.['code'] === 'FORBIDDEN',
          );
          const may = s.sees(fieldDomain, target);
          expect(forbidden, `${s.name}: ${field} of ${target.owner}@${target.tenant}`).toBe(!may);
          if (!may) expect(customer?.[field as 'renewal' | 'health']).toBeNull();
        }
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(100);
  }, 300_000);
});

describe('backpressure', () => {
  it('a subscription past its buffer ends with SUBSCRIBER_TOO_SLOW and a cursor that resumes it without loss', async () => {
    // A gateway whose subscriptions may hold 2 waiting events: a burst of 12 commits overflows one
    // that resolves each event through the graph, while another subscriber on the socket goes on.
    await hub.startGateway({ HUB_LIVE_BUFFER: '2', HUB_LIVE_CREDENTIAL_CHECK_MS: String(CHECK_MS) });
    const ids = (await oracle.customerIds('acme', ['u2'])).slice(0, 12);
    const vars = { ids, domains: ['CUSTOMERS'] };
    const slow = subscribeLive<Change>(hub.gatewayUrl, bearer(await admin('acme')), CHANGES, vars);
    const other = subscribeLive<Change>(hub.gatewayUrl, bearer(await admin('acme')), CHANGES, {
      ids: ['cust_00001'],
      domains: ['CUSTOMERS'],
    });
    await settle();
    const since = new Date();
    await Promise.all(ids.map((id) => write('acme', 'customers', id)));
    await slow.done;
    const last = slow.received.at(-1);
    expect(last?.errors?.[0]?.extensions?.['code']).toBe('SUBSCRIBER_TOO_SLOW');
    const cursor = last?.errors?.[0]?.extensions?.['cursor'];
    expect(typeof cursor).toBe('string');
    // The other subscription still runs.
    await write('acme', 'customers', 'cust_00001');
    await other.until((r) => changesOf(r).length === 1, 30_000, 'the other subscriber');
    const resumed = subscribeLive<Change>(hub.gatewayUrl, bearer(await admin('acme')), CHANGES, {
      ...vars,
      after: cursor,
    });
    const got = () => [...changesOf(slow.received), ...changesOf(resumed.received)];
    await resumed.until(() => got().length >= ids.length, 60_000, 'every event of the burst');
    await new Promise((r) => setTimeout(r, 1000));
    const committed = await oracle.rows<{ n: string }>(
      `SELECT count(*) AS n FROM customers.hub_sync_outbox WHERE customer_id = ANY($1) AND committed_at >= $2`,
      [ids, since],
    );
    expect(got()).toHaveLength(Number(committed[0]?.n));
    expect(new Set(got().map((e) => e.cursor)).size).toBe(ids.length);
    expect(new Set(got().map((e) => e.customer?.id)).size).toBe(ids.length);
    await Promise.all([slow.close(), other.close(), resumed.close()]);
  }, 120_000);
  it('a socket that stops reading is dropped within two keep-alive intervals; the others go on; its last cursor resumes it exactly once', async () => {
    // The client stops reading its socket (TCP-level: no frames, no pongs). The gateway's writes to
    // it await the socket, so only its own subscription waits; the unanswered ping ends the
    // connection, and what the client last read resumes it.
    const KEEPALIVE_MS = 500;
    await hub.startGateway({ HUB_LIVE_KEEPALIVE_MS: String(KEEPALIVE_MS) });
    const ids = (await oracle.customerIds('acme', ['u2'])).slice(0, 8);
    const vars = { ids, domains: ['CUSTOMERS'] };
    let socket: WebSocket | undefined;
    const stalled = subscribeLive<Change>(
      hub.gatewayUrl,
      bearer(await admin('acme')),
      CHANGES,
      vars,
      undefined,
      (s) => {
        socket = s;
      },
    );
    const reading = subscribeLive<Change>(hub.gatewayUrl, bearer(await admin('acme')), CHANGES, vars);
    await settle();
    const before = ids.slice(0, 4);
    for (const id of before) await write('acme', 'customers', id);
    for (const sub of [stalled, reading])
      await sub.until((r) => changesOf(r).length >= before.length, 30_000, 'events before the stall');

    socket?.pause();
    const live = async () => {
      const text = await hub.scrapeMetrics(hub.gatewayMetricsUrl);
      const open = /^hub_live_subscriptions\{[^}]*field="customerChanged"[^}]*\} (\d+)/m.exec(text)?.[1];
      if (open === undefined)
        throw new Error(
          `no open-subscription gauge in:\n${text
            .split('\n')
            .filter((l) => l.includes('live'))
            .join('\n')}`,
        );
      return Number(open);
    };
    expect(await live()).toBe(2);
    const stalledAt = Date.now();
    for (const id of ids) await write('acme', 'customers', id);
    // The reading subscriber gets every event while the other socket is stalled.
    await reading.until((r) => changesOf(r).length >= before.length + ids.length, 30_000, 'the reading subscriber');
    // The gateway ends the stalled connection: the unanswered ping times out after one interval.
    const deadline = Date.now() + 30_000;
    while ((await live()) !== 1) {
      if (Date.now() > deadline) throw new Error('the stalled connection was never dropped');
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(Date.now() - stalledAt).toBeLessThan(2 * KEEPALIVE_MS + 5_000);

    // The client reads again: what reached its socket before the drop, then the close.
    socket?.resume();
    expect(await stalled.closed).not.toBe(1000);
    const cursor = changesOf(stalled.received).at(-1)?.cursor;
    const resumed = subscribeLive<Change>(hub.gatewayUrl, bearer(await admin('acme')), CHANGES, {
      ...vars,
      after: cursor,
    });
    const got = () => [...changesOf(stalled.received), ...changesOf(resumed.received)];
    await resumed.until(() => got().length >= before.length + ids.length, 30_000, 'the missed events');
    await new Promise((r) => setTimeout(r, 1000));
    expect(got().map((e) => e.cursor)).toEqual(changesOf(reading.received).map((e) => e.cursor));
    await Promise.all([stalled.close(), reading.close(), resumed.close()]);
  }, 120_000);
});
