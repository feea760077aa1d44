/**
 * Demand control, rate limits and input checks of the gateway, over two small real subgraphs:
 * customers (helpers.ts) and a "lab" subgraph whose schema carries Federation's @cost/@listSize,
 * the custom scalars and a nested input. Every refusal is checked to reach no subgraph.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EnvReader } from '@hub/core/config';
import { startGateway, type RunningGateway } from '../src/server.js';
import { readLimitsConfig } from '../src/limits.js';
import { post, startCustomersSubgraph, startFakeSubgraph, testConfig, token, type FakeSubgraph } from './helpers.js';

const LAB_SDL = /* GraphQL */ `
  extend schema
    @link(url: "https://specs.apollo.dev/federation/v2.9", import: ["@key", "@cost", "@listSize", "@shareable"])
  scalar Money
  scalar DateTime
  input NoteInput {
    text: String!
    amount: Money
    at: DateTime
    tags: [String!]
    nested: NoteInput
  }
  type Item {
    id: ID!
    cheap: Int
    expensive: Int @cost(weight: 50)
    children(first: Int = 5): [Item!]! @listSize(slicingArguments: ["first"])
  }
  type ItemEdge {
    node: Item!
  }
  type ItemConnection {
    totalCount: Int
    edges: [ItemEdge!]!
  }
  type Query {
    page(first: Int): ItemConnection!
    items(first: Int): [Item!]! @listSize(slicingArguments: ["first"])
    assumed: [Item!]! @listSize(assumedSize: 7)
    plain: [Item!]!
    echo(text: String, amount: Money, at: DateTime): String
  }
  type Mutation {
    note(input: NoteInput!): String
  }
`;

const item = (id: number) => ({ id: String(id), cheap: 1, expensive: 2 });

function startLab(): Promise<FakeSubgraph> {
  return startFakeSubgraph({
    name: 'lab',
    sdl: LAB_SDL,
    resolvers: {
      Query: {
        items: (_p: unknown, { first }: { first?: number }) => Array.from({ length: first ?? 3 }, (_, i) => item(i)),
        assumed: () => [item(1)],
        page: () => ({ totalCount: 1, edges: [{ node: item(1) }] }),
        plain: () => [item(1)],
        echo: (_p: unknown, args: Record<string, unknown>) => JSON.stringify(args),
      },
      Mutation: { note: (_p: unknown, { input }: { input: unknown }) => JSON.stringify(input) },
      Item: {
        children: (_p: unknown, { first }: { first: number }) => Array.from({ length: first }, (_, i) => item(i)),
      },
    },
  });
}

const LIMITS = {
  sales_rep: { depth: 4, aliases: 3, rootFields: 3, tokens: 200, directives: 2, cost: 100, requestsPerWindow: 1000 },
  admin: { depth: 6, aliases: 6, rootFields: 6, tokens: 400, directives: 4, cost: 1000, requestsPerWindow: 1000 },
};

let lab: FakeSubgraph;
let customers: FakeSubgraph;
let gateway: RunningGateway;

beforeAll(async () => {
  customers = await startCustomersSubgraph();
  lab = await startLab();
  const limits = readLimitsConfig(new EnvReader({ HUB_LIMITS_ROLES: JSON.stringify(LIMITS) }));
  gateway = await startGateway(testConfig([customers, lab], { limits, nodeEnv: 'production', logLevel: 'error' }));
});

afterAll(async () => {
  await gateway?.stop();
  await Promise.allSettled([customers?.stop(), lab?.stop()]);
});

/** Runs `fn` and returns how many requests the lab subgraph answered meanwhile. */
async function labCalls(fn: () => Promise<unknown>): Promise<number> {
  const before = lab.viewers.length;
  await fn();
  return lab.viewers.length - before;
}

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
        const atLimit = await post(gateway.url, { query: build(limit) }, bearer);
        expect(atLimit.body.errors?.[0]?.extensions?.['code']).not.toBe('OPERATION_TOO_COMPLEX');
        let refused: Awaited<ReturnType<typeof post>> | undefined;
        expect(
          await labCalls(async () => {
            refused = await post(gateway.url, { query: build(limit + 1) }, bearer);
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
      const probe = await startGateway(testConfig([customers, lab], { limits }));
      try {
        const bearer = await token({ roles: ['admin'] });
        const result = await post(probe.url, { query, variables }, bearer);
        expect(result.body.errors?.[0]?.extensions).toMatchObject({ measure: 'cost', value: cost, limit: cost - 1 });
      } finally {
        await probe.stop();
      }
    });
  }

  it('an APQ hash-only request is held to the limits of the viewer who sends it', async () => {
    const query = documents['aliases']?.(LIMITS.admin.aliases) ?? '';
    const sha256Hash = createHash('sha256').update(query).digest('hex');
    const extensions = { persistedQuery: { version: 1, sha256Hash } };
    const registered = await post(gateway.url, { query, extensions }, await token({ roles: ['admin'] }));
    expect(registered.body.errors).toBeUndefined();
    const byHash = await post(gateway.url, { extensions }, await token({ roles: ['sales_rep'] }));
    expect(byHash.status).toBe(400);
    expect(byHash.body.errors?.[0]?.extensions).toMatchObject({ code: 'OPERATION_TOO_COMPLEX', measure: 'aliases' });
    const asAdmin = await post(gateway.url, { extensions }, await token({ roles: ['admin'] }));
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
      const probe = await startGateway(testConfig([customers, lab], { limits, redisUrl }));
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
    const probe = await startGateway(testConfig([customers, lab], { limits }));
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

describe('error codes and clues', () => {
  it('hides field suggestions from everyone but admins', async () => {
    const query = 'mutation { nte(input: { text: "x" }) }';
    const rep = await post(gateway.url, { query }, await token({ roles: ['sales_rep'] }));
    expect(rep.body.errors?.[0]?.message).not.toMatch(/Did you mean|"note"/);
    expect(rep.body.errors?.[0]?.extensions?.['code']).toBe('GRAPHQL_VALIDATION_FAILED');
    const admin = await post(gateway.url, { query }, await token({ roles: ['admin'] }));
    expect(admin.body.errors?.[0]?.message).toMatch(/Did you mean "note"/);
  });

  const invalid: [string, string, Record<string, unknown>, string][] = [
    ['Money variable "NaN"', 'query($a: Money) { echo(amount: $a) }', { a: 'NaN' }, 'a'],
    ['Money variable "1e309"', 'query($a: Money) { echo(amount: $a) }', { a: '1e309' }, 'a'],
    ['Money literal "NaN"', '{ echo(amount: "NaN") }', {}, 'amount'],
    ['DateTime variable "yesterday"', 'query($t: DateTime) { echo(at: $t) }', { t: 'yesterday' }, 't'],
    ['DateTime literal "yesterday"', '{ echo(at: "yesterday") }', {}, 'at'],
    [
      'nested Money in a variable',
      'mutation($i: NoteInput!) { note(input: $i) }',
      { i: { text: 'x', nested: { text: 'y', amount: '1e309' } } },
      'i.nested.amount',
    ],
    ['nested DateTime literal', 'mutation { note(input: { text: "x", at: "yesterday" }) }', {}, 'input.at'],
    ['NUL in a variable', 'query($s: String) { echo(text: $s) }', { s: 'a\u0000b' }, 's'],
    [
      'NUL in a nested list of a variable',
      'mutation($i: NoteInput!) { note(input: $i) }',
      { i: { text: 'x', tags: ['ok', '\u0000'] } },
      'i.tags.1',
    ],
    ['NUL in a literal', '{ echo(text: "a\\u0000b") }', {}, 'text'],
    [
      'NUL in a nested literal',
      'mutation { note(input: { text: "x", nested: { text: "\\u0000" } }) }',
      {},
      'input.nested.text',
    ],
  ];
  for (const [name, query, variables, field] of invalid) {
    it(`${name}: BAD_USER_INPUT naming ${field}, HTTP 400, no subgraph called`, async () => {
      let result: Awaited<ReturnType<typeof post>> | undefined;
      const calls = await labCalls(async () => {
        result = await post(gateway.url, { query, variables }, await token({ roles: ['admin'] }));
      });
      expect(calls).toBe(0);
      expect(result?.status).toBe(400);
      expect(result?.body.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', field });
      expect(result?.body.errors?.[0]?.message).toMatch(new RegExp(`^${field.replace(/\./g, '\\.')}: `));
    });
  }

  it('valid Money and DateTime still reach the subgraph', async () => {
    const result = await post(
      gateway.url,
      {
        query: 'query($a: Money, $t: DateTime) { echo(amount: $a, at: $t) }',
        variables: { a: '12.50', t: '2026-01-01T00:00:00Z' },
      },
      await token({ roles: ['admin'] }),
    );
    expect(result.body.errors).toBeUndefined();
    expect(result.body.data?.['echo']).toContain('12.50');
  });

  it('an unknown operationName is BAD_USER_INPUT (400), not a 500', async () => {
    const result = await post(gateway.url, { query: 'query A { plain { id } }', operationName: 'B' }, await token());
    expect(result.status).toBe(400);
    expect(result.body.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'operationName' });
  });

  it('an APQ hash that does not match its query is BAD_REQUEST (400)', async () => {
    const extensions = { persistedQuery: { version: 1, sha256Hash: 'a'.repeat(64) } };
    const result = await post(gateway.url, { query: '{ plain { id } }', extensions }, await token());
    expect(result.status).toBe(400);
    expect(result.body.errors?.[0]?.extensions).toEqual({ code: 'BAD_REQUEST' });
  });

  it('a malformed JSON body is a JSON GraphQL error BAD_REQUEST (400), not an HTML page', async () => {
    const response = await fetch(gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await token()}` },
      body: '{"query": "{ plain { id } }"',
    });
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toMatch(/application\/json/);
    expect(await response.json()).toEqual({
      errors: [{ message: 'The request body is not valid JSON', extensions: { code: 'BAD_REQUEST' } }],
    });
  });
});
