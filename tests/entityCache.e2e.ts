/**
 * The gateway's entity cache (issue 10 item 4) and its response cache, as the gateway ships, on the whole hub: seven subgraph processes over
 * PostgreSQL with the demo data, the embedded bus, and gateway processes with the cache on (its
 * default). A read right after a committed mutation may see the old value only until the gateway's
 * tail has the change event (the bound the README states, measured here), never after; two gateway
 * processes share one cache through Redis (a prefix of this run's own) and each applies the events;
 * a subgraph's stream that cannot be read stops the cache until its tail has caught up again.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { startHub, type Hub } from './support/hub.js';
import { post } from './support/tokens.js';
import { newTag } from './support/attacks.js';
import { postRaw } from './support/matrix.js';
import { persistedOperation } from './support/persisted.js';

/** Commit -> this gateway applies the event, on the loaded test machine (README "Entity cache"). */
const BOUND_MS = 1000;
const CUSTOMER = 'cust_00001';
const READ = `{ customer(id: "${CUSTOMER}") { id name opportunities(first: 1) { totalCount } health { score } } }`;
const CREATE =
  'mutation($c: ID!, $tag: String!) { createOpportunity(input: { customerId: $c, ownerId: "u1", type: UPSELL, value: "1000.00", probability: 0.5, timeline: "q1_2026", sourceSystem: $tag }) { id } }';
const REDIS = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const PREFIX = `hubtest:ec${randomBytes(4).toString('hex')}`;

let hub: Hub;
let admin: string;

async function count(url: string): Promise<number> {
  const answer = await post<{ customer: { opportunities: { totalCount: number } } }>(url, READ, {}, admin);
  expect(answer.errors).toBeUndefined();
  const total = answer.data?.customer.opportunities.totalCount;
  if (total === undefined) throw new Error(`no opportunities count: ${JSON.stringify(answer)}`);
  return total;
}

async function lookups(metricsUrl: string, outcome: 'hit' | 'miss' | 'bypass'): Promise<number> {
  const text = await hub.scrapeMetrics(metricsUrl);
  return [
    ...text.matchAll(
      // The response cache (whole answers) and the entity cache (the fetches of a run) alike.
      new RegExp(
        `^hub_gateway_(?:entity|response)_cache_lookups_total\\{[^}]*outcome="${outcome}"[^}]*\\} (\\S+)$`,
        'gm',
      ),
    ),
  ]
    .map((m) => Number(m[1]))
    .reduce((a, b) => a + b, 0);
}

/** Whether one read through `url` moved the gateway's lookups of `outcome`. */
async function readCounts(url: string, outcome: 'hit' | 'bypass'): Promise<boolean> {
  const before = await lookups(hub.gatewayMetricsUrl, outcome);
  await count(url);
  return (await lookups(hub.gatewayMetricsUrl, outcome)) > before;
}

/** Commits an opportunity through `url`; returns when the mutation answered (the commit). */
async function commit(url: string): Promise<void> {
  const answer = await post(url, CREATE, { c: CUSTOMER, tag: newTag() }, admin);
  expect(answer.errors).toBeUndefined();
}

/** Reads through `url` until it shows `expected`; the ms from the commit's answer to that read. */
async function staleFor(url: string, expected: number, since: number): Promise<number> {
  for (;;) {
    const seen = await count(url);
    if (seen === expected) return Date.now() - since;
    expect(seen).toBe(expected - 1);
    if (Date.now() - since > 10_000) throw new Error('the change never reached the read');
  }
}

beforeAll(async () => {
  hub = await startHub();
  admin = await hub.token({ tenant: 'acme', roles: ['admin'], sub: 'admin1' });
}, 600_000);
afterAll(async () => {
  await hub?.stop();
  const redis = new Redis(REDIS);
  const keys = await redis.keys(`${PREFIX}:*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});

describe('entity cache on the hub (embedded bus, PostgreSQL)', () => {
  it(`a read right after a committed mutation returns the new value within ${BOUND_MS} ms, and never the old one after`, async () => {
    const url = hub.gatewayUrl;
    let expected = await count(url);
    const hitsBefore = await lookups(hub.gatewayMetricsUrl, 'hit');
    const delays: number[] = [];
    for (let i = 0; i < 20; i++) {
      expect(await count(url)).toBe(expected); // warm: cached
      await commit(url);
      const since = Date.now();
      expected++;
      delays.push(await staleFor(url, expected, since));
      for (let j = 0; j < 3; j++) expect(await count(url)).toBe(expected);
    }
    console.log(`entity cache: commit answered -> fresh read, ms: ${JSON.stringify(delays)}`);
    expect(Math.max(...delays)).toBeLessThan(BOUND_MS);
    expect(await lookups(hub.gatewayMetricsUrl, 'hit')).toBeGreaterThan(hitsBefore + 40);
  });

  it('a partner key never reads through the cache (its grant lives in the subgraphs), an admin’s same read does', async () => {
    const created = await hub.query<{ createApiKey: { secret: string } }>(
      'mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret } }',
      {
        input: {
          name: 'entity cache partner',
          app: 'partner-portal',
          customerIds: [CUSTOMER],
          fields: ['Query.customer', 'Customer.*', 'CustomerHealth.*'],
        },
      },
      admin,
    );
    expect(created.errors).toBeUndefined();
    const secret = created.data?.createApiKey.secret ?? '';
    const operation = persistedOperation('PartnerCustomer');
    const asPartner = () =>
      postRaw(
        hub.gatewayUrl,
        { variables: { id: CUSTOMER }, extensions: { persistedQuery: { version: 1, sha256Hash: operation.id } } },
        { 'x-api-key': secret },
      );
    const allLookups = async () =>
      (await lookups(hub.gatewayMetricsUrl, 'hit')) +
      (await lookups(hub.gatewayMetricsUrl, 'miss')) +
      (await lookups(hub.gatewayMetricsUrl, 'bypass'));
    // The key is read from the subgraphs' replicas: wait until the grant reads its customer.
    await expect
      .poll(async () => ((await asPartner()).data as { customer?: { id: string } } | undefined)?.customer?.id, {
        timeout: 15_000,
        interval: 200,
      })
      .toBe(CUSTOMER);
    const before = await allLookups();
    for (let i = 0; i < 3; i++) {
      const answer = await asPartner();
      expect(answer.errors).toBeUndefined();
      expect((answer.data as { customer: { health: { score: number } | null } }).customer.health).not.toBeNull();
    }
    expect(await allLookups()).toBe(before);
    await post(hub.gatewayUrl, operation.body, { id: CUSTOMER }, admin);
    expect(await allLookups()).toBeGreaterThan(before);
  });

  it('stops serving while a stream cannot be read (its subgraph is down) and serves again once caught up', async () => {
    const url = hub.gatewayUrl;
    await count(url);
    await hub.subgraphs.support.kill();
    try {
      // The support tail fails at once (connection refused); the cache passes every fetch by.
      await expect.poll(() => readCounts(url, 'bypass'), { timeout: 15_000, interval: 100 }).toBe(true);
    } finally {
      await hub.respawnSubgraph('support');
    }
    await expect.poll(() => readCounts(url, 'hit'), { timeout: 30_000, interval: 200 }).toBe(true);
  }, 120_000);

  it('two gateway processes share the cache through Redis, and both apply every event', async () => {
    const env = { REDIS_URL: REDIS, HUB_REDIS_PREFIX: PREFIX };
    const a = await hub.startGateway(env);
    const b = await hub.startGateway(env);
    const bMetrics = b.metricsUrl ?? '';
    let expected = await count(a.url);
    // Each gateway empties the shared cache once, when its tails first catch up (events before its
    // start are in no tail's future); from then on b finds what a stored, fetching none itself.
    await expect
      .poll(
        async () => {
          await count(a.url);
          const [hits, misses] = [await lookups(bMetrics, 'hit'), await lookups(bMetrics, 'miss')];
          expect(await count(b.url)).toBe(expected);
          return (await lookups(bMetrics, 'hit')) > hits && (await lookups(bMetrics, 'miss')) === misses;
        },
        { timeout: 30_000, interval: 200 },
      )
      .toBe(true);
    for (let i = 0; i < 5; i++) {
      await commit(a.url);
      const since = Date.now();
      expected++;
      const [da, db] = [await staleFor(a.url, expected, since), await staleFor(b.url, expected, since)];
      expect(Math.max(da, db)).toBeLessThan(BOUND_MS);
      expect(await count(b.url)).toBe(expected);
    }
  }, 180_000);
});
