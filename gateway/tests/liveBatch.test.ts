/**
 * Resolutions batched per customer (live/batch.ts): the batched query repeats every root field
 * once per customer under its own alias and id variable, and each customer's part of the answer —
 * data and errors — comes back under the keys and paths the single query would have answered with.
 */
import { parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { batchedQuery, partOf } from '../src/live/batch.js';

const SINGLE = `query HubLivePayload($hubLiveId: ID!, $withHealth: Boolean!) {
  hubLiveRow: customer(id: $hubLiveId) { id }
  hubProbe0: customer(id: $hubLiveId) { id renewal { __typename } }
  customer(id: $hubLiveId) { name health @include(if: $withHealth) { score } ...F }
}
fragment F on Customer { industry }`;

describe('batchedQuery', () => {
  it.each([2, 3, 32])('repeats the root fields for %i customers, each with its own id variable', (count) => {
    const text = batchedQuery(parse(SINGLE), 'hubLiveId', count);
    expect(text).toBeDefined();
    const document = parse(text ?? '');
    const operation = document.definitions[0];
    if (operation?.kind !== 'OperationDefinition') throw new Error('no operation');
    const aliases = operation.selectionSet.selections.map((s) => (s.kind === 'Field' ? s.alias?.value : s.kind));
    expect(aliases).toEqual(
      Array.from({ length: count }, (_, i) => [`hb${i}_hubLiveRow`, `hb${i}_hubProbe0`, `hb${i}_customer`]).flat(),
    );
    expect(operation.variableDefinitions?.map((v) => v.variable.name.value).sort()).toEqual(
      ['withHealth', ...Array.from({ length: count }, (_, i) => `hubLiveId${i}`)].sort(),
    );
    // Every root field of customer i asks for $hubLiveId<i>, and nothing asks for $hubLiveId.
    expect(text).not.toMatch(/\$hubLiveId\b(?!\d)/);
    for (let i = 0; i < count; i++) expect(text?.match(new RegExp(`\\$hubLiveId${i}\\)`, 'g'))).toHaveLength(3);
    // The fragment stays, once.
    expect(text?.match(/fragment F on Customer/g)).toHaveLength(1);
  });

  it('does not batch a root holding anything but fields', () => {
    const text = `query Q($hubLiveId: ID!) { ... on Query { customer(id: $hubLiveId) { id } } }`;
    expect(batchedQuery(parse(text), 'hubLiveId', 2)).toBeUndefined();
  });
});

describe('partOf', () => {
  const answer = {
    data: {
      hb0_hubLiveRow: { id: 'a' },
      hb0_customer: { name: 'A' },
      hb1_hubLiveRow: null,
      hb1_customer: null,
      hb10_customer: { name: 'K' },
    },
    errors: [
      { message: 'no such customer', path: ['hb1_hubLiveRow'], extensions: { code: 'NOT_FOUND' } },
      { message: 'forbidden', path: ['hb10_customer', 'health'], extensions: { code: 'FORBIDDEN' } },
      { message: 'whole', extensions: { code: 'INTERNAL_SERVER_ERROR' } },
    ],
  };

  it('gives each customer its own data under the single query keys', () => {
    expect(partOf(answer, 0).data).toEqual({ hubLiveRow: { id: 'a' }, customer: { name: 'A' } });
    expect(partOf(answer, 1).data).toEqual({ hubLiveRow: null, customer: null });
    expect(partOf(answer, 10).data).toEqual({ customer: { name: 'K' } });
  });

  it("keeps each customer's errors to it, at its own paths; errors without a path go to all", () => {
    expect(partOf(answer, 0).errors.map((e) => e.message)).toEqual(['whole']);
    expect(partOf(answer, 1).errors).toEqual([
      { message: 'no such customer', path: ['hubLiveRow'], extensions: { code: 'NOT_FOUND' } },
      answer.errors[2],
    ]);
    expect(partOf(answer, 10).errors[0]).toEqual({
      message: 'forbidden',
      path: ['customer', 'health'],
      extensions: { code: 'FORBIDDEN' },
    });
  });

  it('keeps a null answer null', () => {
    expect(partOf({ data: null, errors: answer.errors }, 0)).toEqual({ data: null, errors: [answer.errors[2]] });
  });
});
