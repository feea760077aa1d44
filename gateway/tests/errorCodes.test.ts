/**
 * Error codes and clues at the gateway: field suggestions per viewer, invalid scalars and NUL bytes
 * refused before any subgraph, coded 400s for malformed requests, unexpected errors logged with
 * their request id. Over the customers and lab subgraphs (helpers.ts, hub.lab.ts), in production mode.
 */
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway } from '../src/server.js';
import { post, startSalesSubgraph, testConfig, token } from './helpers.js';
import { startLabHub, type LabHub } from './lab.js';

let hub: LabHub;

beforeAll(async () => {
  hub = await startLabHub({ nodeEnv: 'production' });
});

afterAll(() => hub?.stop());

describe('error codes and clues', () => {
  it('hides field suggestions from everyone but admins', async () => {
    const query = 'mutation { nte(input: { text: "x" }) }';
    const rep = await post(hub.gateway.url, { query }, await token({ roles: ['sales_rep'] }));
    expect(rep.body.errors?.[0]?.message).not.toMatch(/Did you mean|"note"/);
    expect(rep.body.errors?.[0]?.extensions?.['code']).toBe('GRAPHQL_VALIDATION_FAILED');
    const admin = await post(hub.gateway.url, { query }, await token({ roles: ['admin'] }));
    expect(admin.body.errors?.[0]?.message).toMatch(/Did you mean "note"/);
  });

  it('hides enum value suggestions too', async () => {
    const query = '{ kinds(kind: SMAL) }';
    const rep = await post(hub.gateway.url, { query }, await token({ roles: ['sales_rep'] }));
    expect(rep.status).toBe(400);
    expect(rep.body.errors?.[0]?.message).not.toMatch(/Did you mean|SMALL/);
    const admin = await post(hub.gateway.url, { query }, await token({ roles: ['admin'] }));
    expect(admin.body.errors?.[0]?.message).toMatch(/Did you mean the enum value "SMALL"/);
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
      const calls = await hub.labCalls(async () => {
        result = await post(hub.gateway.url, { query, variables }, await token({ roles: ['admin'] }));
      });
      expect(calls).toBe(0);
      expect(result?.status).toBe(400);
      expect(result?.body.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', field });
      expect(result?.body.errors?.[0]?.message).toMatch(new RegExp(`^${field.replace(/\./g, '\\.')}: `));
    });
  }

  it('a variable of the wrong type is BAD_USER_INPUT naming it, without schema suggestions', async () => {
    for (const [query, variables, field] of [
      ['query($n: Int) { items(first: $n) { id } }', { n: 'abc' }, 'n'],
      ['mutation($i: NoteInput!) { note(input: $i) }', { i: { txt: 'x' } }, 'i'],
    ] as const) {
      let result: Awaited<ReturnType<typeof post>> | undefined;
      const calls = await hub.labCalls(async () => {
        result = await post(hub.gateway.url, { query, variables }, await token({ roles: ['sales_rep'] }));
      });
      expect(calls).toBe(0);
      expect(result?.status).toBe(400);
      expect(result?.body.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', field });
      expect(result?.body.errors?.[0]?.message).not.toMatch(/Did you mean|"text"/);
    }
  });

  it('valid Money and DateTime still reach the subgraph', async () => {
    const result = await post(
      hub.gateway.url,
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
    const result = await post(
      hub.gateway.url,
      { query: 'query A { plain { id } }', operationName: 'B' },
      await token(),
    );
    expect(result.status).toBe(400);
    expect(result.body.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'operationName' });
  });

  it('a syntax error is GRAPHQL_PARSE_FAILED (400)', async () => {
    for (const query of ['{ items(first: ', '{ items(first: 1) { id } ']) {
      const result = await post(hub.gateway.url, { query }, await token());
      expect([result.status, result.body.errors?.[0]?.extensions?.['code']]).toEqual([400, 'GRAPHQL_PARSE_FAILED']);
    }
  });

  it('an APQ hash that does not match its query is BAD_REQUEST (400)', async () => {
    const extensions = { persistedQuery: { version: 1, sha256Hash: 'a'.repeat(64) } };
    const result = await post(hub.gateway.url, { query: '{ plain { id } }', extensions }, await token());
    expect(result.status).toBe(400);
    expect(result.body.errors?.[0]?.extensions).toEqual({ code: 'BAD_REQUEST' });
  });

  it('a malformed JSON body is a JSON GraphQL error BAD_REQUEST (400), not an HTML page', async () => {
    const response = await fetch(hub.gateway.url, {
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

describe('unexpected errors at the gateway', () => {
  it('are logged with the request id, and the caller sees only the masked error', async () => {
    const lines: Record<string, unknown>[] = [];
    const logger = pino(
      { level: 'error' },
      new Writable({
        write(chunk: Buffer, _encoding, done) {
          lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
          done();
        },
      }),
    );
    const sales = await startSalesSubgraph();
    const probe = await startGateway(testConfig([hub.customers, sales]), { logger });
    try {
      const requestId = randomUUID();
      const result = await post(probe.url, { query: '{ boom }' }, await token(), { 'x-request-id': requestId });
      expect(result.body.errors?.[0]).toMatchObject({ message: 'Internal server error' });
      expect(lines.find((line) => line['msg'] === 'unexpected error')).toMatchObject({ requestId });
    } finally {
      await probe.stop();
      await sales.stop();
    }
  });
});
