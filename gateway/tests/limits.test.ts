/**
 * Demand control and rate limits of the gateway, over two small real subgraphs: customers
 * (helpers.ts) and the lab subgraph (hub.lab.ts). Every refusal is checked to reach no subgraph.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EnvReader } from '@hub/core/config';
import { startGateway } from '../src/server.js';
import { readLimitsConfig } from '../src/limits.js';
import { post, testConfig, token } from './helpers.js';
import { startLabHub, type LabHub } from './lab.js';

const LIMITS = {
  sales_rep: { depth: 4, aliases: 3, rootFields: 3, tokens: 200, directives: 2, cost: 100, requestsPerWindow: 1000 },
  admin: { depth: 6, aliases: 6, rootFields: 6, tokens: 400, directives: 4, cost: 1000, requestsPerWindow: 1000 },
};

let hub: LabHub;

beforeAll(async () => {
  hub = await startLabHub({
    limits: readLimitsConfig(new EnvReader({ HUB_LIMITS_ROLES: JSON.stringify(LIMITS) })),
    nodeEnv: 'production',
    logLevel: 'error',
  });
});

afterAll(() => hub?.stop());

const roles = ['sales_rep', 'admin'] as const;

/** A document whose `measure` is exactly `n`. */
const documents: Record<string, (n: number) => string> = {
  depth: (n) => `{ items(first: 1) { ${'children(first: 1) { '.repeat(n - 2)}id${' }'.repeat(n - 2)} } }`,
  aliases: (n) => `{ items(first: 1) { ${Array.from({ length: n }, (_, i) => `a${i}: id`).join(' ')} } }`,
  rootFields: (n) => `{ ${Array.from({ length: n }, (_, i) => (i === 0 ? 'plain { id }' : `r${i}: echo`)).join(' ')} }`,
  directives: (n) => `{ items(first: 1) { ${Array.from({ length: n }, () => 'id @include(if: true)').join(' ')} } }`,
  // `{ items(first: 1) { id } }` is 11 tokens; every further `id` one more.
  tokens: (n) => `{ items(first: 1) { ${'id '.repeat(n - 10)}} }`,
};

describe('demand control', () => {
  for (const role of roles) {
    for (const [measure, build] of Object.entries(documents)) {
      const limit = LIMITS[role][measure as keyof (typeof LIMITS)['admin']];
      it(`${role}: ${measure} at the limit (${limit}) runs, one above is OPERATION_TOO_COMPLEX before any subgraph`, async () => {
        const bearer = await token({ roles: [role] });
        const atLimit = await post(hub.gateway.url, { query: build(limit) }, bearer);
        expect(atLimit.body.errors?.[0]?.extensions?.['code']).not.toBe('OPERATION_TOO_COMPLEX');
        let refused: Awaited<ReturnType<typeof post>> | undefined;
        expect(
          await hub.labCalls(async () => {
            refused = await post(hub.gateway.url, { query: build(limit + 1) }, bearer);
          }),
        ).toBe(0);
        expect(refused?.status).toBe(400);
        expect(refused?.body.errors?.[0]?.extensions).toEqual({
          code: 'OPERATION_TOO_COMPLEX',
          measure,
          value: limit + 1,
          limit,
        });
      });
    }
  }

  // Demand control keeps what it measured of a text (tokens, document, measures) for the next request
  // with that text: the text over sales_rep's limit but within admin's, sent by both in either order.
  for (const [measure, build] of Object.entries(documents)) {
    for (const first of roles) {
      it(`${measure}: one text, remembered, is judged by each viewer's own limit (${first} first)`, async () => {
        const name = measure as keyof (typeof LIMITS)['admin'];
        // A fresh text per case (a trailing comment): what the cache holds comes from this test alone.
        const query = `${build(LIMITS.sales_rep[name] + 1)} # ${measure} ${first}`;
        const order = first === 'admin' ? roles.slice().reverse() : roles;
        for (const role of [...order, ...order]) {
          const result = await post(hub.gateway.url, { query }, await token({ roles: [role] }));
          const code = result.body.errors?.[0]?.extensions?.['code'];
          if (role === 'sales_rep') expect(code).toBe('OPERATION_TOO_COMPLEX');
          else expect(code).not.toBe('OPERATION_TOO_COMPLEX');
        }
      });
    }
  }

  const costs: [string, string, Record<string, unknown>, number][] = [
    // slicing argument x (1 + @cost 50 of `expensive`)
    ['@listSize(slicingArguments) times @cost', '{ items(first: 3) { id expensive } }', {}, 3 * (1 + 50)],
    ['the slicing argument from a variable', 'query($n: Int) { items(first: $n) { cheap } }', { n: 40 }, 40],
    ['nested lists multiply, argument defaults count', '{ items(first: 2) { children { id } } }', {}, 2 * (1 + 5)],
    [
      'a connection: first x its selection, its edges counted once',
      '{ page(first: 10) { totalCount edges { node { id } } } }',
      {},
      1 + 10 * 2,
    ],
    ['a connection without first: the default page size', '{ page { edges { node { id } } } }', {}, 1 + 20 * 2],
    ['@listSize(assumedSize)', '{ assumed { id } }', {}, 7],
    ['a plain list assumes HUB_COST_LIST_SIZE', '{ plain { id } }', {}, 10],
    ['a mutation field weighs 10 more', 'mutation { note(input: { text: "x" }) }', {}, 10],
  ];
  for (const [name, query, variables, cost] of costs) {
    it(`cost model: ${name} = ${cost}`, async () => {
      // Measured through a refusal: an admin limit just below the cost.
      const limits = readLimitsConfig(
        new EnvReader({ HUB_LIMITS_ROLES: JSON.stringify({ admin: { cost: cost - 1 } }) }),
      );
      const probe = await startGateway(testConfig([hub.customers, hub.lab], { limits }));
      try {
        const bearer = await token({ roles: ['admin'] });
        const result = await post(probe.url, { query, variables }, bearer);
        expect(result.body.errors?.[0]?.extensions).toMatchObject({ measure: 'cost', value: cost, limit: cost - 1 });
      } finally {
        await probe.stop();
      }
    });
  }

  it('one operation, other variables: each cost and input check is its own (remembered per variables, not per text)', async () => {
    const limits = readLimitsConfig(new EnvReader({ HUB_LIMITS_ROLES: JSON.stringify({ admin: { cost: 39 } }) }));
    const probe = await startGateway(testConfig([hub.customers, hub.lab], { limits }));
    try {
      const bearer = await token({ roles: ['admin'] });
      const query = 'query($n: Int) { items(first: $n) { cheap } }';
      const codes: unknown[] = [];
      for (const n of [5, 40, 5, 40, 'x', 5, 'x']) {
        const result = await post(probe.url, { query, variables: { n } }, bearer);
        codes.push(result.body.errors?.[0]?.extensions?.['code'] ?? 'ok');
      }
      expect(codes).toEqual([
        'ok',
        'OPERATION_TOO_COMPLEX',
        'ok',
        'OPERATION_TOO_COMPLEX',
        'BAD_USER_INPUT',
        'ok',
        'BAD_USER_INPUT',
      ]);
    } finally {
      await probe.stop();
    }
  });

  it('limits GET requests too', async () => {
    const query = documents['aliases']?.(LIMITS.sales_rep.aliases + 1) ?? '';
    const response = await fetch(`${hub.gateway.url}?query=${encodeURIComponent(query)}`, {
      headers: { authorization: `Bearer ${await token({ roles: ['sales_rep'] })}`, 'apollo-require-preflight': 'true' },
    });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { errors: { extensions: Record<string, unknown> }[] };
    expect(body.errors[0]?.extensions).toMatchObject({ code: 'OPERATION_TOO_COMPLEX', measure: 'aliases' });
  });

  it('fragments fanning out are refused by the cost walk (nodes), though tokens and depth are low', async () => {
    // F0 spreads F1 five times, F1 spreads F2 five times, …: 5^8 = 390 625 times `items`, ~150 tokens.
    const fragments = Array.from({ length: 8 }, (_, i) => `fragment F${i} on Query { ${`...F${i + 1} `.repeat(5)}}`);
    const query = `{ ...F0 } ${fragments.join(' ')} fragment F8 on Query { items(first: 10) { id } plain { id } }`;
    const limits = readLimitsConfig(
      new EnvReader({ HUB_LIMITS_ROLES: JSON.stringify({ admin: { cost: 1_000_000_000, depth: 20 } }) }),
    );
    const probe = await startGateway(testConfig([hub.customers, hub.lab], { limits }));
    try {
      let result: Awaited<ReturnType<typeof post>> | undefined;
      expect(
        await hub.labCalls(async () => {
          result = await post(probe.url, { query }, await token({ roles: ['admin'] }));
        }),
      ).toBe(0);
      expect(result?.status).toBe(400);
      expect(result?.body.errors?.[0]?.extensions).toMatchObject({ code: 'OPERATION_TOO_COMPLEX', measure: 'nodes' });
    } finally {
      await probe.stop();
    }
  });

  it('an APQ hash-only request is held to the limits of the viewer who sends it', async () => {
    const query = documents['aliases']?.(LIMITS.admin.aliases) ?? '';
    const sha256Hash = createHash('sha256').update(query).digest('hex');
    const extensions = { persistedQuery: { version: 1, sha256Hash } };
    const registered = await post(hub.gateway.url, { query, extensions }, await token({ roles: ['admin'] }));
    expect(registered.body.errors).toBeUndefined();
    const byHash = await post(hub.gateway.url, { extensions }, await token({ roles: ['sales_rep'] }));
    expect(byHash.status).toBe(400);
    expect(byHash.body.errors?.[0]?.extensions).toMatchObject({ code: 'OPERATION_TOO_COMPLEX', measure: 'aliases' });
    const asAdmin = await post(hub.gateway.url, { extensions }, await token({ roles: ['admin'] }));
    expect(asAdmin.body.errors).toBeUndefined();
  });
});

describe('rate limits (in memory, and when Redis is unreachable)', () => {
  for (const [name, redisUrl] of [
    ['in memory', undefined],
    ['Redis unreachable: per-replica fallback', 'redis://127.0.0.1:1'],
  ] as const) {
    it(`${name}: the request over the budget is RATE_LIMITED, 429, Retry-After; another user is untouched`, async () => {
      const limits = readLimitsConfig(
        new EnvReader({ HUB_LIMITS_ROLES: JSON.stringify({ sales_rep: { requestsPerWindow: 3 } }) }),
      );
      const probe = await startGateway(testConfig([hub.customers, hub.lab], { limits, redisUrl }));
      try {
        const u1 = await token({ roles: ['sales_rep'], user: 'u1' });
        for (let i = 0; i < 3; i++) expect((await post(probe.url, { query: '{ plain { id } }' }, u1)).status).toBe(200);
        const over = await post(probe.url, { query: '{ plain { id } }' }, u1);
        expect(over.status).toBe(429);
        const retryAfter = Number(over.headers.get('retry-after'));
        expect(retryAfter).toBeGreaterThanOrEqual(1);
        expect(retryAfter).toBeLessThanOrEqual(60);
        expect(over.body.errors?.[0]?.extensions).toEqual({
          code: 'RATE_LIMITED',
          limit: 'requestsPerWindow',
          retryAfterSeconds: retryAfter,
        });
        const u2 = await token({ roles: ['sales_rep'], user: 'u2' });
        expect((await post(probe.url, { query: '{ plain { id } }' }, u2)).status).toBe(200);
      } finally {
        await probe.stop();
      }
    });
  }

  it('cost per window: operations are charged their cost, the one that does not fit is refused', async () => {
    const limits = readLimitsConfig(
      new EnvReader({ HUB_LIMITS_ROLES: JSON.stringify({ admin: { costPerWindow: 100 } }) }),
    );
    const probe = await startGateway(testConfig([hub.customers, hub.lab], { limits }));
    try {
      const bearer = await token({ roles: ['admin'] });
      const query = '{ items(first: 40) { cheap } }'; // cost 40
      expect((await post(probe.url, { query }, bearer)).status).toBe(200);
      expect((await post(probe.url, { query }, bearer)).status).toBe(200);
      const over = await post(probe.url, { query }, bearer);
      expect(over.status).toBe(429);
      expect(over.body.errors?.[0]?.extensions).toMatchObject({ code: 'RATE_LIMITED', limit: 'costPerWindow' });
    } finally {
      await probe.stop();
    }
  });
});
