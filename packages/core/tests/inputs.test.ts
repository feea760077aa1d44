import { Writable } from 'node:stream';
import { ApolloServer } from '@apollo/server';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/index.js';
import { parse } from 'graphql';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useErrorLogging } from '../src/errorLogging.js';
import { useInputChecks } from '../src/inputs.js';
import { scalarResolvers } from '../src/scalars.js';

/** The subgraph kit's plugins on a schema with the hub's scalars and a nested input. */
const typeDefs = parse(/* GraphQL */ `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
  scalar Money
  scalar DateTime
  input NoteInput {
    text: String!
    amount: Money
    tags: [String!]
    nested: NoteInput
  }
  type Query {
    echo(text: String, amount: Money): String
    boom: String
  }
  type Mutation {
    note(input: NoteInput!): String
  }
`);

const lines: Record<string, unknown>[] = [];
const server = new ApolloServer<{ requestId: string }>({
  schema: buildSubgraphSchema([
    {
      typeDefs,
      resolvers: {
        ...scalarResolvers,
        Query: {
          echo: (_p: unknown, args: unknown) => JSON.stringify(args),
          boom: () => {
            throw new Error('store exploded');
          },
        },
        Mutation: { note: () => 'ok' },
      } as GraphQLResolverMap<unknown>,
    },
  ]),
  plugins: [
    useInputChecks(),
    useErrorLogging<{ requestId: string }>({
      log: pino(
        { level: 'error' },
        new Writable({
          write(chunk: Buffer, _encoding, done) {
            lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
            done();
          },
        }),
      ),
    }),
  ],
});

beforeAll(() => server.start());
afterAll(() => server.stop());

async function run(query: string, variables: Record<string, unknown> = {}, requestId = 'req-1') {
  const response = await server.executeOperation({ query, variables }, { contextValue: { requestId } });
  if (response.body.kind !== 'single') throw new Error('incremental response');
  return { status: response.http.status, errors: response.body.singleResult.errors };
}

describe('the subgraph kit refuses NUL bytes in any string input (defence in depth)', () => {
  const cases: [string, string, Record<string, unknown>, string][] = [
    ['a variable', 'query($s: String) { echo(text: $s) }', { s: 'a\u0000' }, 's'],
    [
      'a nested input list',
      'mutation($i: NoteInput!) { note(input: $i) }',
      { i: { text: 'x', tags: ['\u0000'] } },
      'i.tags.0',
    ],
    [
      'a nested input object',
      'mutation($i: NoteInput!) { note(input: $i) }',
      { i: { text: 'x', nested: { text: '\u0000' } } },
      'i.nested.text',
    ],
    ['a literal', '{ echo(text: "a\\u0000") }', {}, 'text'],
    [
      'a nested literal',
      'mutation { note(input: { text: "x", nested: { text: "\\u0000" } }) }',
      {},
      'input.nested.text',
    ],
  ];
  for (const [name, query, variables, field] of cases) {
    it(`in ${name}: BAD_USER_INPUT naming ${field}, HTTP 400`, async () => {
      const { status, errors } = await run(query, variables);
      expect(status).toBe(400);
      expect(errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
    });
  }

  it('lets clean strings and valid Money through', async () => {
    const { errors } = await run('query($s: String, $m: Money) { echo(text: $s, amount: $m) }', { s: 'ok', m: '1.50' });
    expect(errors).toBeUndefined();
  });
});

describe('unexpected errors are logged with their request id', () => {
  it('logs the cause of a masked internal error, and not a coded refusal', async () => {
    lines.length = 0;
    await run('{ boom }', {}, 'req-boom');
    await run('{ echo(text: "a\\u0000") }', {}, 'req-refused');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      requestId: 'req-boom',
      msg: 'unexpected error',
      err: { message: 'store exploded' },
    });
  });
});
