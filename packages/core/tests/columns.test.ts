/**
 * Entity loaders read only the columns a selection needs (columns.ts, loaders.ts): derived from the
 * resolve info per field node, fail-safe to the whole row, one statement per tick with the union.
 */
import { createRequire } from 'node:module';
import type * as GraphQL from 'graphql';
import { describe, expect, it } from 'vitest';
import { ALL_COLUMNS, columnsFor, rowSpec } from '../src/columns.js';
import { keyedLoader, type Select } from '../src/loaders.js';

const { buildSchema, graphql } = createRequire(import.meta.url)('graphql') as typeof GraphQL;

const schema = buildSchema(/* GraphQL */ `
  type Query {
    item(id: ID!): Item
    items(ids: [ID!]!): [Item]
    other: Other
    node(id: ID!): Node
  }
  interface Node {
    id: ID!
  }
  type Item implements Node {
    id: ID!
    name: String
    price: Int
    label: String
    secret: String
    unmapped: String
    twin: Item
  }
  type Other implements Node {
    id: ID!
    note: String
  }
`);

const COLUMNS = {
  id: 'id',
  tenantId: 'tenantId',
  customerId: 'customerId',
  name: 'name',
  price: 'price',
  secret: 'secret',
  sku: 'sku',
};
const ITEM = rowSpec({ type: 'Item', columns: COLUMNS, computed: { label: ['name', 'sku'], twin: [] } });

function run(query: string, loads: (Select | 'whole')[]) {
  const fetched: (Select | 'whole')[] = [];
  const loader = keyedLoader(
    async (ids: readonly string[], select: Select) => {
      fetched.push(select ?? 'whole');
      // `__typename` for the Node interface's default type resolution.
      return ids.map((id) => ({
        __typename: 'Item',
        id,
        tenantId: 't',
        customerId: 'c',
        name: `n${id}`,
        price: 1,
        secret: 's',
        sku: 'k',
      }));
    },
    (row) => row.id,
    ITEM,
  );
  // Root fields resolved from the root value get (args, context, info).
  const item = ({ id }: { id: string }, _ctx: unknown, info: GraphQL.GraphQLResolveInfo) => loader.load(id, info);
  const items = ({ ids }: { ids: string[] }, _ctx: unknown, info: GraphQL.GraphQLResolveInfo) =>
    ids.map((id) => loader.load(id, info));
  return graphql({ schema, source: query, rootValue: { item, node: item, items } }).then((result) => {
    expect(result.errors).toBeUndefined();
    loads.push(...fetched);
    return result.data;
  });
}

describe('columns a selection needs', () => {
  it('reads the selected columns plus id, tenantId and customerId, and what computed fields need', async () => {
    const loads: (Select | 'whole')[] = [];
    await run('{ item(id: "1") { name } }', loads);
    await run('{ item(id: "1") { __typename label twin { id } } }', loads);
    expect(loads).toEqual([
      { customerId: true, id: true, name: true, tenantId: true },
      { customerId: true, id: true, name: true, sku: true, tenantId: true },
    ]);
  });

  it('reads the whole row for a field that is neither a column nor declared (a forgotten declaration costs speed, not answers)', async () => {
    const loads: (Select | 'whole')[] = [];
    await run('{ item(id: "1") { name unmapped } }', loads);
    expect(loads).toEqual(['whole']);
  });

  it('follows fragments on the type and abstract types, skips those on another object type', async () => {
    const loads: (Select | 'whole')[] = [];
    await run(
      `{ node(id: "1") { ... on Node { id } ... on Item { ...F } ... on Other { note } } }
       fragment F on Item { price }`,
      loads,
    );
    expect(loads).toEqual([{ customerId: true, id: true, price: true, tenantId: true }]);
  });

  it('one statement per tick with the union of its column sets; a later load is served when a read covers it', async () => {
    const loads: (Select | 'whole')[] = [];
    await run('{ a: item(id: "1") { name } b: item(id: "2") { price } c: items(ids: ["1", "3"]) { secret } }', loads);
    expect(loads).toEqual([{ customerId: true, id: true, name: true, price: true, secret: true, tenantId: true }]);
  });

  it('without info (a mutation`s check) reads the whole row; the cache is per field node', async () => {
    expect(columnsFor(undefined, ITEM)).toBe(ALL_COLUMNS);
    const fetched: (Select | 'whole')[] = [];
    const loader = keyedLoader(
      async (ids: readonly string[], select: Select) => {
        fetched.push(select ?? 'whole');
        return ids.map((id) => ({ id, name: 'n' }));
      },
      (row) => row.id,
      ITEM,
    );
    await loader.load('1');
    await loader.load('1');
    loader.clear('1');
    await loader.load('1');
    expect(fetched).toEqual(['whole', 'whole']);
  });
});
