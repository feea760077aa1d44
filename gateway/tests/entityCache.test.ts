/**
 * The entity cache (entityCache.ts, issue 10 item 4) and the response cache on its generations
 * (responseCache.ts) through a real gateway in front of two real subgraphs over HTTP, tailing a
 * real NATS JetStream (its own stream prefix) for change events published by the hub's own NATS
 * bus, and in Redis mode a real Redis (its own key prefix): hits, invalidation by the event (also
 * of a fetch overtaken by its event), never across tenants, books or PII readers, errors never
 * cached, not serving while the bus connection is down, shared by two gateways through Redis
 * (entries, invalidations and APQ registrations), and the off switches. Every suite runs with the
 * response cache off (the entity cache alone) and on (both, as the gateway ships).
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket, connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { createNatsBus, type NatsBus } from '@hub/core/events/bus-nats';
import type { Viewer } from '@hub/core/viewer';
import { Supergraph } from '@apollo/federation-internals';
import { isObjectType } from 'graphql';
import { hubResponseCachePolicy } from '@hub/core/schemaFiles';
import { composeSupergraph, repoSubgraphSources } from '../src/compose.js';
import { startGateway, type RunningGateway } from '../src/server.js';
import type { GatewayConfig } from '../src/config.js';
import { callsDuring } from './lab.js';
import { post, startFakeSubgraph, testConfig, token, type FakeSubgraph } from './helpers.js';

const NATS = process.env['NATS_URL'] ?? 'nats://127.0.0.1:4222';
const REDIS = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const PREFIX = `ECT${randomBytes(4).toString('hex').toUpperCase()}`;

const CUSTOMERS_SDL = /* GraphQL */ `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
  type Query {
    customers: [Customer!]!
    customer(id: ID!): Customer
    "Decided NEVER in the repo's SDL (sync bookkeeping changes without change events)."
    sync: String
    "Decided nowhere (no root field of the repo's graph): not cached (default-deny)."
    unlisted: String
  }
  type Mutation {
    touch(id: ID!): Customer!
  }
  type Customer @key(fields: "id") {
    id: ID!
    name: String!
  }
`;
const SALES_SDL = /* GraphQL */ `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
  type Customer @key(fields: "id") {
    id: ID!
    stage: String
    seenBy: String
    contacts: [Contact!]!
  }
  type Contact {
    email: String!
  }
`;
const QUERY = '{ customers { id name stage seenBy } }';
const IDS = ['c1', 'c2'];

/** The sales "store": stage per tenant and customer; `hold` parks entity resolution until released. */
const stages = new Map<string, string>();
let hold: { entered: () => void; release: Promise<void> } | undefined;
const failing = new Set<string>();

let customers: FakeSubgraph;
let sales: FakeSubgraph;
let bus: NatsBus;
let natsProxy: TcpProxy;
const gateways: RunningGateway[] = [];

interface TcpProxy {
  readonly url: string;
  cut(): Promise<void>;
  restore(): Promise<void>;
  stop(): Promise<void>;
}

/** A TCP relay to NATS that a test can cut (every connection dropped, none accepted) and restore. */
async function startTcpProxy(target: URL): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;
  const listen = () =>
    new Promise<void>((resolve) => {
      server = createServer((client) => {
        const upstream = connect(Number(target.port), target.hostname);
        for (const s of [client, upstream]) {
          sockets.add(s);
          s.on('close', () => sockets.delete(s));
          s.on('error', () => undefined);
        }
        client.pipe(upstream).pipe(client);
      });
      const listening = server;
      listening.listen(port, '127.0.0.1', () => {
        port = (listening.address() as { port: number }).port;
        resolve();
      });
    });
  const close = async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = undefined;
  };
  await listen();
  return { url: `nats://127.0.0.1:${port}`, cut: close, restore: listen, stop: close };
}

async function publish(tenantId: string, customerId: string | null): Promise<void> {
  const now = new Date().toISOString();
  await bus.publish('sales', [
    {
      id: randomBytes(16).toString('hex'),
      type: 'sales.test_change',
      tenantId,
      customerId,
      domain: 'sales',
      source: 'test',
      occurredAt: now,
      committedAt: now,
      schemaVersion: 1,
      payload: {},
    },
  ]);
}

async function counter(
  gateway: RunningGateway,
  name: 'entityCacheLookups' | 'entityCacheInvalidations' | 'responseCacheLookups',
  label?: Record<string, string>,
) {
  const { values } = await gateway.hub.metrics[name].get();
  return values
    .filter((v) => Object.entries(label ?? {}).every(([k, x]) => (v.labels as Record<string, unknown>)[k] === x))
    .reduce((sum, v) => sum + v.value, 0);
}

/** Whether `gateway`'s entity cache answers lookups now (false when it has none). */
const serving = (gateway: RunningGateway) => gateway.hub.entityCache?.serving() ?? false;

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Publishes a change and waits until `gateways` have applied it (the README's bound, observed). */
async function change(on: RunningGateway[], tenant: string, id: string | null, stage?: string): Promise<void> {
  if (stage !== undefined && id !== null) stages.set(`${tenant}:${id}`, stage);
  const before = await Promise.all(on.map((g) => counter(g, 'entityCacheInvalidations')));
  await publish(tenant, id);
  await until('the invalidation', async () =>
    (await Promise.all(on.map((g) => counter(g, 'entityCacheInvalidations')))).every(
      (n, i) => n > (before[i] ?? Infinity),
    ),
  );
}

async function gatewayWith(
  overrides: Partial<GatewayConfig> = {},
  natsUrl = NATS,
  responses = true,
): Promise<RunningGateway> {
  const base = testConfig([customers, sales]);
  const gateway = await startGateway(
    testConfig([customers, sales], {
      entityCache: { enabled: true, maxEntries: 1000, maxAgeSeconds: 3600 },
      responseCache: { ...base.responseCache, enabled: responses },
      live: { ...base.live, natsUrl, natsPrefix: PREFIX },
      redisPrefix: `hubtest:${PREFIX}`,
      ...overrides,
    }),
  );
  gateways.push(gateway);
  if (gateway.hub.entityCache) await until('the cache to serve', () => serving(gateway));
  return gateway;
}

type Row = { id: string; name: string; stage: string | null; seenBy: string | null };
async function read(gateway: RunningGateway, t: string): Promise<{ rows: Row[]; errors: unknown }> {
  const { body } = await post(gateway.url, { query: QUERY }, t);
  const { data, errors } = body as { data: { customers: Row[] } | null; errors?: unknown };
  return { rows: data?.customers ?? [], errors };
}

beforeAll(async () => {
  customers = await startFakeSubgraph({
    name: 'customers',
    sdl: CUSTOMERS_SDL,
    resolvers: {
      Query: {
        customers: () => IDS.map((id) => ({ id, name: `name-${id}` })),
        customer: (_p: unknown, { id }: { id: string }) => ({ id, name: `name-${id}` }),
        sync: () => 'status',
        unlisted: () => 'value',
      },
      Mutation: { touch: (_p: unknown, { id }: { id: string }) => ({ id, name: `name-${id}` }) },
    },
  });
  sales = await startFakeSubgraph({
    name: 'sales',
    sdl: SALES_SDL,
    resolvers: {
      Customer: {
        __resolveReference: async (ref: { id: string }, { viewer }: { viewer: Viewer }) => {
          const stage = stages.get(`${viewer.tenantId}:${ref.id}`) ?? 'none';
          if (hold) {
            const parked = hold;
            parked.entered();
            await parked.release;
          }
          if (failing.has(ref.id)) throw new Error('sales store unavailable');
          return {
            id: ref.id,
            stage,
            contacts: [{ email: `${ref.id}@example.com` }],
            seenBy: `${viewer.tenantId}:${viewer.roles.join('+')}:${viewer.book.join(',')}`,
          };
        },
      },
    },
  });
  bus = await createNatsBus({ servers: NATS, prefix: PREFIX });
  // The stream exists before the gateways take its head.
  await publish('acme', null);
  natsProxy = await startTcpProxy(new URL(NATS));
}, 60_000);
afterAll(async () => {
  for (const g of gateways) await g.stop().catch(() => undefined);
  await natsProxy?.stop();
  await bus?.close();
  await sales?.stop();
  await customers?.stop();
  const redis = new Redis(REDIS);
  const keys = await redis.keys(`hubtest:${PREFIX}:*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});

describe.each([
  { responses: false, title: 'entity cache alone' },
  { responses: true, title: 'entity and response caches' },
])('$title, in memory', ({ responses }) => {
  let gateway: RunningGateway;
  beforeAll(async () => {
    gateway = await gatewayWith({}, NATS, responses);
  });

  it('answers a repeated read from the cache: no call to the subgraph, the same data', async () => {
    const t = await token({ user: 'a1', roles: ['admin'], book: [] });
    const first = await read(gateway, t);
    const hits = () => counter(gateway, responses ? 'responseCacheLookups' : 'entityCacheLookups', { outcome: 'hit' });
    const before = await hits();
    const calls = await callsDuring(sales, async () => expect(await read(gateway, t)).toEqual(first));
    expect(calls).toBe(0);
    // The response cache answers the whole query (one hit); the entity cache each representation.
    expect((await hits()) - before).toBe(responses ? 1 : 2);
  });

  it('a read after the change event is applied never returns the old value (interleaved readers, 40 changes)', async () => {
    const t = await token({ user: 'a1', roles: ['admin'], book: [] });
    let stop = false;
    let committed = 0;
    const stale: string[] = [];
    // Readers hammer the gateway while changes are committed: every answer of a read that started
    // after a change was applied must carry that change or a later one.
    const reader = async () => {
      while (!stop) {
        const floor = committed;
        const { rows } = await read(gateway, t);
        const seen = Number(rows.find((r) => r.id === 'c1')?.stage ?? '-1');
        if (seen < floor) stale.push(`saw ${seen} after ${floor} was applied`);
      }
    };
    stages.set('acme:c1', '0');
    await change([gateway], 'acme', 'c1');
    const readers = [reader(), reader(), reader()];
    for (let i = 1; i <= 40; i++) {
      await change([gateway], 'acme', 'c1', String(i));
      committed = i;
      await new Promise((r) => setTimeout(r, 5));
    }
    stop = true;
    await Promise.all(readers);
    expect(stale).toEqual([]);
    expect(await counter(gateway, 'entityCacheLookups', { outcome: 'hit' })).toBeGreaterThan(10);
  });

  it('a fetch overtaken by its change event does not store the old value', async () => {
    const t = await token({ user: 'a1', roles: ['admin'], book: [] });
    stages.set('acme:c2', 'before');
    await change([gateway], 'acme', 'c2');
    let entered!: () => void;
    let release!: () => void;
    const inside = new Promise<void>((r) => (entered = r));
    hold = { entered: () => entered(), release: new Promise<void>((r) => (release = r)) };
    const slow = read(gateway, t);
    await inside;
    // The subgraph has read `before`; the change commits and its event arrives before the answer.
    await change([gateway], 'acme', 'c2', 'after');
    hold = undefined;
    release();
    expect((await slow).rows.find((r) => r.id === 'c2')?.stage).toBe('before');
    expect((await read(gateway, t)).rows.find((r) => r.id === 'c2')?.stage).toBe('after');
  });

  it('an event naming no customer drops every entry of its tenant', async () => {
    const t = await token({ user: 'a1', roles: ['admin'], book: [] });
    await read(gateway, t);
    stages.set('acme:c1', 'tenant-wide');
    await change([gateway], 'acme', null);
    expect((await read(gateway, t)).rows.find((r) => r.id === 'c1')?.stage).toBe('tenant-wide');
  });

  it('never serves one tenant’s entry to another with the same entity keys', async () => {
    stages.set('acme:c1', 'acme-stage');
    stages.set('globex:c1', 'globex-stage');
    await change([gateway], 'acme', 'c1');
    await change([gateway], 'globex', 'c1');
    const acme = await token({ user: 'a1', roles: ['admin'], book: [] });
    const globex = await token({ user: 'a1', roles: ['admin'], book: [], tenant: 'globex' });
    await read(gateway, acme);
    const calls = await callsDuring(sales, async () => {
      const { rows } = await read(gateway, globex);
      expect(rows.map((r) => [r.stage, r.seenBy])).toEqual([
        ['globex-stage', 'globex:admin:'],
        ['none', 'globex:admin:'],
      ]);
    });
    expect(calls).toBe(1);
  });

  it('never serves one book’s entry to another; one scope class shares (without PII in the selection)', async () => {
    const rep1 = await token({ user: 'u1', roles: ['sales_rep'], book: ['u1'] });
    const rep2 = await token({ user: 'u2', roles: ['sales_rep'], book: ['u2'] });
    const rep1Again = await token({ user: 'u9', roles: ['sales_rep'], book: ['u1'] });
    await read(gateway, rep1);
    let rows: Row[] = [];
    expect(await callsDuring(sales, async () => void ({ rows } = await read(gateway, rep2)))).toBe(1);
    expect(rows.map((r) => r.seenBy)).toEqual(['acme:sales_rep:u2', 'acme:sales_rep:u2']);
    expect(await callsDuring(sales, async () => void ({ rows } = await read(gateway, rep1Again)))).toBe(0);
    expect(rows.map((r) => r.seenBy)).toEqual(['acme:sales_rep:u1', 'acme:sales_rep:u1']);
  });

  it('a selection reading PII (Contact.email) is never cached: the subgraph audits every read, even a repeated one', async () => {
    const query = '{ customers { id contacts { email } } }';
    const [u1, u9] = await Promise.all([
      token({ user: 'p1', roles: ['cs_manager'], book: ['p1'] }),
      token({ user: 'p9', roles: ['cs_manager'], book: ['p1'] }),
    ]);
    const lookups = async () =>
      (await counter(gateway, 'entityCacheLookups')) + (await counter(gateway, 'responseCacheLookups'));
    const before = await lookups();
    for (const viewer of [u1, u1, u9, u1]) {
      expect(await callsDuring(sales, () => post(gateway.url, { query }, viewer))).toBe(1);
      expect(sales.viewers.at(-1)?.userId).toBe(viewer === u9 ? 'p9' : 'p1');
    }
    // No lookup at all (hit, miss or bypass): such selections are simply not cacheable.
    expect(await lookups()).toBe(before);
  });

  it('a mutation’s own entity fetches bypass the cache (they read its write before its event)', async () => {
    const t = await token({ user: 'm1', roles: ['admin'], book: [] });
    stages.set('acme:c1', 'm-before');
    await change([gateway], 'acme', 'c1');
    await read(gateway, t);
    stages.set('acme:c1', 'm-after'); // written, its event not yet here
    const { body } = await post(gateway.url, { query: 'mutation { touch(id: "c1") { stage } }' }, t);
    expect(body).toEqual({ data: { touch: { stage: 'm-after' } } });
    // The query path still serves the entry until the event arrives: the bound of the README.
    expect((await read(gateway, t)).rows.find((r) => r.id === 'c1')?.stage).toBe('m-before');
    await change([gateway], 'acme', 'c1');
    expect((await read(gateway, t)).rows.find((r) => r.id === 'c1')?.stage).toBe('m-after');
  });

  it('never caches an error: the next read asks the subgraph again', async () => {
    const t = await token({ user: 'e1', roles: ['cs_manager'], book: ['e1'] });
    failing.add('c2');
    const failed = await read(gateway, t);
    expect(failed.errors).toBeDefined();
    failing.delete('c2');
    let answer = failed;
    // c1 was answered and cached, c2 was not: only c2 is fetched.
    expect(await callsDuring(sales, async () => void (answer = await read(gateway, t)))).toBe(1);
    expect(answer.errors).toBeUndefined();
    expect(answer.rows.map((r) => r.seenBy)).toEqual(['acme:cs_manager:e1', 'acme:cs_manager:e1']);
  });

  it('with HUB_ENTITY_CACHE=false every read calls the subgraph', async () => {
    const off = await gatewayWith(
      { entityCache: { enabled: false, maxEntries: 1, maxAgeSeconds: 1 } },
      NATS,
      responses,
    );
    expect(off.hub.entityCache).toBeUndefined();
    expect(off.hub.responseCache).toBeUndefined();
    const t = await token({ user: 'a1', roles: ['admin'], book: [] });
    await read(off, t);
    expect(await callsDuring(sales, () => read(off, t))).toBe(1);
  });
});

describe('response cache: what an answer depends on, what is never cached', () => {
  let gateway: RunningGateway;
  beforeAll(async () => {
    gateway = await gatewayWith();
  });
  const one = async (t: string, id: string) => {
    const { body } = await post(
      gateway.url,
      { query: 'query One($id: ID!) { customer(id: $id) { id stage } }', variables: { id } },
      t,
    );
    return (body as { data: { customer: { stage: string } } }).data.customer.stage;
  };
  const calls = async (fn: () => Promise<unknown>) => {
    let n = 0;
    n += await callsDuring(customers, async () => void (n += await callsDuring(sales, fn)));
    return n;
  };

  it('customer(id:) is dropped by its own customer’s events and the tenant’s, not by another customer’s; a list by any', async () => {
    const t = await token({ user: 'q1', roles: ['admin'], book: [] });
    stages.set('acme:c1', 'one-1');
    await change([gateway], 'acme', 'c1');
    expect(await one(t, 'c1')).toBe('one-1');
    await read(gateway, t);
    expect(await calls(() => one(t, 'c1'))).toBe(0);
    expect(await calls(() => read(gateway, t))).toBe(0);
    // Another customer's change: the one-customer answer still serves, the list is run again.
    await change([gateway], 'acme', 'c2', 'two-1');
    expect(await calls(() => one(t, 'c1'))).toBe(0);
    expect((await read(gateway, t)).rows.find((r) => r.id === 'c2')?.stage).toBe('two-1');
    // Its own customer's change, and an event naming no customer, drop it.
    await change([gateway], 'acme', 'c1', 'one-2');
    expect(await one(t, 'c1')).toBe('one-2');
    stages.set('acme:c1', 'one-3');
    await change([gateway], 'acme', null);
    expect(await one(t, 'c1')).toBe('one-3');
    // Another tenant's events drop nothing of this one.
    await change([gateway], 'globex', 'c1');
    expect(await calls(() => one(t, 'c1'))).toBe(0);
  });

  it('root fields decided NEVER, and root fields without a decision, run every time', async () => {
    const t = await token({ user: 'q1', roles: ['admin'], book: [] });
    for (const query of ['{ sync }', '{ unlisted }', '{ customers { id } sync }', '{ __typename unlisted }']) {
      await post(gateway.url, { query }, t);
      expect(await callsDuring(customers, () => post(gateway.url, { query }, t))).toBe(1);
    }
  });

  it('a mutation is never answered from the cache, and an answer with an error is not stored', async () => {
    const t = await token({ user: 'q2', roles: ['admin'], book: [] });
    const mutation = 'mutation { touch(id: "c1") { id } }';
    await post(gateway.url, { query: mutation }, t);
    expect(await callsDuring(customers, () => post(gateway.url, { query: mutation }, t))).toBe(1);
    const query = 'query One($id: ID!) { customer(id: $id) { id stage } }';
    failing.add('c1');
    try {
      await change([gateway], 'acme', 'c1');
      const failed = await post(gateway.url, { query, variables: { id: 'c1' } }, t);
      expect(JSON.stringify(failed.body)).toContain('errors');
      expect(await callsDuring(sales, () => post(gateway.url, { query, variables: { id: 'c1' } }, t))).toBe(1);
    } finally {
      failing.delete('c1');
    }
    const again = await post(gateway.url, { query, variables: { id: 'c1' } }, t);
    expect(JSON.stringify(again.body)).not.toContain('errors');
  });

  it('answers the same bytes and headers as Apollo Server did', async () => {
    const t = await token({ user: 'q3', roles: ['admin'], book: [] });
    await change([gateway], 'acme', null);
    const send = () =>
      fetch(gateway.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${t}` },
        body: JSON.stringify({ query: QUERY }),
      });
    const run = await send();
    const hit = await send();
    expect(await hit.text()).toBe(await run.text());
    expect(hit.headers.get('content-type')).toBe(run.headers.get('content-type'));
    expect(hit.status).toBe(200);
  });

  it('every root field of the hub’s composed graph, and no other, has a response-cache decision in its SDL', () => {
    const composed = composeSupergraph(repoSubgraphSources((name) => `http://127.0.0.1/${name}`));
    if (!composed.ok) throw new Error(composed.errors.join('\n'));
    const query = Supergraph.build(composed.supergraphSdl).apiSchema().toGraphQLJSSchema().getQueryType();
    expect(query && isObjectType(query)).toBe(true);
    const fields = Object.keys(query?.getFields() ?? {});
    expect(fields.length).toBeGreaterThan(10);
    const policy = hubResponseCachePolicy();
    expect(policy.problems).toEqual([]);
    // The reader's skips (@inaccessible, federation's fields) are the composition's.
    expect([...policy.fields.keys()].sort()).toEqual([...fields].sort());
    expect(policy.cached).toContain('customer');
    expect(policy.cached).not.toContain('sync');
  });
});

describe.each([{ responses: false }, { responses: true }])(
  'caches while the bus connection is down (response cache: $responses)',
  ({ responses }) => {
    it('stops serving when the connection to NATS is lost and serves again once it has caught up', async () => {
      const gateway = await gatewayWith({}, natsProxy.url, responses);
      const t = await token({ user: 'o1', roles: ['admin'], book: [] });
      stages.set('acme:c1', 'v1');
      await change([gateway], 'acme', 'c1');
      await read(gateway, t);
      expect(await callsDuring(sales, () => read(gateway, t))).toBe(0);

      await natsProxy.cut();
      await until('the cache to stop serving', () => !serving(gateway));
      // Committed while this gateway cannot see the bus.
      stages.set('acme:c1', 'v2');
      await publish('acme', 'c1');
      let answer: Awaited<ReturnType<typeof read>> | undefined;
      expect(await callsDuring(sales, async () => void (answer = await read(gateway, t)))).toBe(1);
      expect(answer?.rows.find((r) => r.id === 'c1')?.stage).toBe('v2');

      await natsProxy.restore();
      await until('the cache to serve again', () => serving(gateway), 30_000);
      expect((await read(gateway, t)).rows.find((r) => r.id === 'c1')?.stage).toBe('v2');
      expect(await callsDuring(sales, () => read(gateway, t))).toBe(0);
    }, 90_000);
  },
);

describe.each([{ responses: false }, { responses: true }])(
  'caches and APQ in Redis (REDIS_URL), shared by two gateways (response cache: $responses)',
  ({ responses }) => {
    let a: RunningGateway;
    let b: RunningGateway;
    beforeAll(async () => {
      a = await gatewayWith({ redisUrl: REDIS }, NATS, responses);
      b = await gatewayWith({ redisUrl: REDIS }, NATS, responses);
      await until('both to serve', () => serving(a) && serving(b));
    });

    it('an entry stored through one gateway serves the other; an event is seen by both', async () => {
      const t = await token({ user: 'r1', roles: ['admin'], book: [], tenant: 'globex' });
      stages.set('globex:c2', 'shared-1');
      await change([a, b], 'globex', 'c2');
      await read(a, t);
      let rows: Row[] = [];
      expect(await callsDuring(sales, async () => void ({ rows } = await read(b, t)))).toBe(0);
      expect(rows.find((r) => r.id === 'c2')?.stage).toBe('shared-1');
      await change([a, b], 'globex', 'c2', 'shared-2');
      for (const g of [a, b]) expect((await read(g, t)).rows.find((r) => r.id === 'c2')?.stage).toBe('shared-2');
    });

    it('a persisted query registered through one gateway is found by the other', async () => {
      const t = await token({ user: 'r1', roles: ['admin'], book: [] });
      const query = `{ customers { id name } } # ${PREFIX} ${String(responses)}`;
      const sha256Hash = createHash('sha256').update(query).digest('hex');
      const extensions = { persistedQuery: { version: 1, sha256Hash } };
      const unknown = await post(b.url, { extensions }, t);
      expect(JSON.stringify(unknown.body)).toContain('PERSISTED_QUERY_NOT_FOUND');
      expect((await post(a.url, { query, extensions }, t)).body).toMatchObject({
        data: { customers: expect.any(Array) },
      });
      expect((await post(b.url, { extensions }, t)).body).toMatchObject({ data: { customers: expect.any(Array) } });
    });
  },
);
