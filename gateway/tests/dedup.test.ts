/**
 * Viewer-safe in-flight deduplication (datasource.ts, issue 10 item 3): identical query fetches of
 * one viewer in flight share one subgraph call; two viewers never share one — not of different
 * books, not of one book (the user is part of the key) — and mutations are never shared. A real
 * gateway in front of a real subgraph whose field takes 1.5 s, so the concurrent requests overlap.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Viewer } from '@hub/core/viewer';
import { startGateway, type RunningGateway } from '../src/server.js';
import { callsDuring } from './lab.js';
import { post, startFakeSubgraph, testConfig, token, type FakeSubgraph } from './helpers.js';

const SDL = /* GraphQL */ `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
  type Query {
    slowWhoami: String!
  }
  type Mutation {
    slowTouch: String!
  }
`;
// Long enough that every concurrent request reaches its fetch while the first is still in flight,
// even on a loaded machine (at 300 ms, 32 requests under load 40+ did not all overlap).
const pause = () => new Promise((r) => setTimeout(r, 1500));
const whoami = ({ viewer }: { viewer: Viewer }) => `${viewer.userId}@${viewer.tenantId}:${viewer.book.join(',')}`;

let subgraph: FakeSubgraph;
let deduplicating: RunningGateway;
let plain: RunningGateway;

beforeAll(async () => {
  subgraph = await startFakeSubgraph({
    name: 'customers',
    sdl: SDL,
    resolvers: {
      Query: { slowWhoami: async (_p: unknown, _a: unknown, ctx: { viewer: Viewer }) => (await pause(), whoami(ctx)) },
      Mutation: {
        slowTouch: async (_p: unknown, _a: unknown, ctx: { viewer: Viewer }) => (await pause(), whoami(ctx)),
      },
    },
  });
  deduplicating = await startGateway(testConfig([subgraph], { deduplicateFetches: true }));
  plain = await startGateway(testConfig([subgraph], { deduplicateFetches: false }));
});
afterAll(async () => {
  await deduplicating?.stop();
  await plain?.stop();
  await subgraph?.stop();
});

async function concurrently(gateway: RunningGateway, tokens: string[], query: string) {
  return Promise.all(tokens.map((t) => post(gateway.url, { query }, t)));
}

describe('in-flight deduplication of subgraph fetches', () => {
  it.each([2, 8, 32])('%i identical queries of one viewer in flight make one subgraph call', async (n) => {
    const t = await token({ user: 'u1', book: ['u1'] });
    let answers: Awaited<ReturnType<typeof concurrently>> = [];
    const calls = await callsDuring(subgraph, async () => {
      answers = await concurrently(deduplicating, Array(n).fill(t), '{ slowWhoami }');
    });
    expect(calls).toBe(1);
    for (const answer of answers) expect(answer.body).toEqual({ data: { slowWhoami: 'u1@acme:u1' } });
  });

  it.each([
    { what: 'different books', a: { user: 'u1', book: ['u1'] }, b: { user: 'u2', book: ['u2'] } },
    { what: 'one book, two users', a: { user: 'u1', book: ['u1'] }, b: { user: 'u9', book: ['u1'] } },
    { what: 'two tenants', a: { user: 'u1', book: ['u1'] }, b: { user: 'u1', book: ['u1'], tenant: 'globex' } },
    {
      what: 'two roles',
      a: { user: 'u1', book: ['u1'] },
      b: { user: 'u1', book: ['u1'], roles: ['cs_manager' as const] },
    },
  ])('never shares a fetch between two viewers ($what): each gets its own answer', async ({ a, b }) => {
    const [ta, tb] = await Promise.all([token(a), token(b)]);
    let answers: Awaited<ReturnType<typeof concurrently>> = [];
    const calls = await callsDuring(subgraph, async () => {
      answers = await concurrently(deduplicating, [ta, tb, ta, tb], '{ slowWhoami }');
    });
    expect(calls).toBe(2);
    const tenantOf = (c: { tenant?: string }) => c.tenant ?? 'acme';
    const expected = (c: { user: string; book: string[]; tenant?: string }) =>
      `${c.user}@${tenantOf(c)}:${c.book.join(',')}`;
    expect(answers.map((r) => (r.body as { data: { slowWhoami: string } }).data.slowWhoami)).toEqual([
      expected(a),
      expected(b),
      expected(a),
      expected(b),
    ]);
  });

  it('never shares a mutation', async () => {
    const t = await token({ user: 'u1', book: ['u1'], roles: ['admin'] });
    const calls = await callsDuring(subgraph, () =>
      concurrently(deduplicating, Array(4).fill(t), 'mutation { slowTouch }'),
    );
    expect(calls).toBe(4);
  });

  it('with HUB_SUBGRAPH_DEDUP=false every request makes its own call', async () => {
    const t = await token({ user: 'u1', book: ['u1'] });
    const calls = await callsDuring(subgraph, () => concurrently(plain, Array(8).fill(t), '{ slowWhoami }'));
    expect(calls).toBe(8);
  });
});
