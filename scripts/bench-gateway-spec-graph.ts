/**
 * The graph and cases of `npm run bench:gateway:spec` (scripts/bench-gateway-spec.ts): four small
 * Federation 2.3 subgraphs and, per feature, a query with the answer the spec says it must get.
 */
import type { buildSubgraphSchema } from '@apollo/subgraph';
import type { DocumentNode } from 'graphql';

type SchemaModule = Exclude<
  Extract<Parameters<typeof buildSubgraphSchema>[0], readonly unknown[]>[number],
  DocumentNode
>;
type Resolvers = NonNullable<SchemaModule['resolvers']>;

const LINK = (imports: string[]) =>
  `extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: [${imports.map((i) => `"${i}"`).join(', ')}])`;

interface ProductRow {
  upc: string;
  sku: string;
  package: string;
  name: string;
  price: number;
  weight: number;
}
const PRODUCTS: ProductRow[] = [
  { upc: '1', sku: 's1', package: 'box', name: 'Table', price: 899, weight: 100 },
  { upc: '2', sku: 's2', package: 'crate', name: 'Couch', price: 1299, weight: 1000 },
  { upc: '3', sku: 's3', package: 'bag', name: 'Chair', price: 54, weight: 50 },
];
const USERS = [
  { id: 'u1', username: 'ada', name: 'Ada Lovelace' },
  { id: 'u2', username: 'alan', name: 'Alan Turing' },
];
const REVIEWS = [
  { id: 'r1', body: 'Love it', authorId: 'u1', sku: 's1' },
  { id: 'r2', body: 'Too expensive', authorId: 'u1', sku: 's2' },
  { id: 'r3', body: 'Could be better', authorId: 'u2', sku: 's3' },
];
const MEDIA = [
  { __typename: 'Book', id: 'm1', title: 'Dune', author: 'Herbert' },
  { __typename: 'Movie', id: 'm2', title: 'Alien', director: 'Scott' },
];

export interface SpecSubgraph {
  readonly name: string;
  readonly sdl: string;
  readonly resolvers: Resolvers;
}

const productOf = (ref: { upc?: string; sku?: string; package?: string }) =>
  PRODUCTS.find((p) => (ref.upc !== undefined ? p.upc === ref.upc : p.sku === ref.sku && p.package === ref.package));

export const SUBGRAPHS: readonly SpecSubgraph[] = [
  {
    name: 'products',
    sdl: `${LINK(['@key', '@inaccessible'])}
      type Product @key(fields: "upc") @key(fields: "sku package") {
        upc: String! sku: String! package: String! name: String! price: Int! weight: Int!
        internalCode: String @inaccessible
      }
      type Query { topProducts: [Product!]! product(upc: String!): Product }`,
    resolvers: {
      Query: { topProducts: () => PRODUCTS, product: (_: unknown, args: { upc: string }) => productOf(args) ?? null },
      Product: { __resolveReference: productOf, internalCode: () => 'secret' },
    },
  },
  {
    name: 'inventory',
    sdl: `${LINK(['@key', '@external', '@requires'])}
      type Product @key(fields: "upc") {
        upc: String! price: Int! @external weight: Int! @external
        shippingEstimate: Int! @requires(fields: "price weight")
        inStock: Boolean!
      }`,
    resolvers: {
      Product: {
        __resolveReference: (ref: { upc: string }) => ref,
        inStock: (p: { upc: string }) => p.upc !== '2',
        // Free shipping above 1000, else half the weight: wrong unless price and weight were required.
        shippingEstimate: (p: { price: number; weight: number }) => (p.price > 1000 ? 0 : p.weight / 2),
      },
    },
  },
  {
    name: 'reviews',
    sdl: `${LINK(['@key', '@external', '@provides', '@override', '@interfaceObject'])}
      type Review { id: ID! body: String! author: User! @provides(fields: "username") product: Product! }
      type User @key(fields: "id") { id: ID! username: String! @external name: String! @override(from: "accounts") reviews: [Review!]! }
      type Product @key(fields: "sku package") { sku: String! package: String! reviews: [Review!]! }
      type Media @key(fields: "id") @interfaceObject { id: ID! rating: Int! }
      type Query { reviews: [Review!]! }`,
    resolvers: {
      Query: { reviews: () => REVIEWS },
      Review: {
        // The username is provided here, so a planner honouring @provides never asks accounts.
        author: (r: { authorId: string }) => {
          const user = USERS.find((u) => u.id === r.authorId);
          return { id: r.authorId, username: user?.username };
        },
        product: (r: { sku: string }) => {
          const product = PRODUCTS.find((p) => p.sku === r.sku);
          return { sku: r.sku, package: product?.package };
        },
      },
      User: {
        __resolveReference: (ref: { id: string }) => ref,
        name: (u: { id: string }) => `${USERS.find((x) => x.id === u.id)?.name ?? '?'} (reviews)`,
        reviews: (u: { id: string }) => REVIEWS.filter((r) => r.authorId === u.id),
      },
      Product: {
        __resolveReference: (ref: { sku: string; package: string }) => ref,
        reviews: (p: { sku: string }) => REVIEWS.filter((r) => r.sku === p.sku),
      },
      Media: {
        __resolveReference: (ref: { id: string }) => ref,
        rating: (m: { id: string }) => (m.id === 'm1' ? 5 : 4),
      },
    },
  },
  {
    name: 'accounts',
    sdl: `${LINK(['@key', '@shareable'])}
      type User @key(fields: "id") { id: ID! username: String! @shareable name: String! }
      interface Media @key(fields: "id") { id: ID! title: String! }
      type Book implements Media @key(fields: "id") { id: ID! title: String! author: String! }
      type Movie implements Media @key(fields: "id") { id: ID! title: String! director: String! }
      type Query { me: User media: [Media!]! }`,
    resolvers: {
      Query: { me: () => USERS[0], media: () => MEDIA },
      User: { __resolveReference: (ref: { id: string }) => USERS.find((u) => u.id === ref.id) },
      Media: {
        __resolveReference: (ref: { id: string }) => MEDIA.find((m) => m.id === ref.id),
        __resolveType: (m: { __typename: string }) => m.__typename,
      },
      Book: { __resolveReference: (ref: { id: string }) => MEDIA.find((m) => m.id === ref.id) },
      Movie: { __resolveReference: (ref: { id: string }) => MEDIA.find((m) => m.id === ref.id) },
    },
  },
];

export interface SpecCase {
  readonly name: string;
  readonly query: string;
  /** The `data` expected, or `refused` (errors and no data). */
  readonly expect: unknown;
  /** How many calls one subgraph must get (batching, @provides). */
  readonly calls?: { readonly subgraph: string; readonly count: number };
}

export const SPEC_CASES: readonly SpecCase[] = [
  {
    name: '@key entity join, `_entities` batched (one call for 3 products)',
    query: '{ topProducts { name inStock } }',
    expect: { topProducts: PRODUCTS.map((p) => ({ name: p.name, inStock: p.upc !== '2' })) },
    calls: { subgraph: 'inventory', count: 1 },
  },
  {
    name: '@requires (price and weight sent to inventory)',
    query: '{ topProducts { name shippingEstimate } }',
    expect: {
      topProducts: [
        { name: 'Table', shippingEstimate: 50 },
        { name: 'Couch', shippingEstimate: 0 },
        { name: 'Chair', shippingEstimate: 25 },
      ],
    },
  },
  {
    name: 'compound @key (sku package)',
    query: '{ topProducts { name reviews { body } } }',
    expect: {
      topProducts: PRODUCTS.map((p) => ({
        name: p.name,
        reviews: REVIEWS.filter((r) => r.sku === p.sku).map((r) => ({ body: r.body })),
      })),
    },
  },
  {
    name: '@provides + @shareable (no call to accounts)',
    query: '{ reviews { body author { username } } }',
    expect: {
      reviews: REVIEWS.map((r) => ({
        body: r.body,
        author: { username: USERS.find((u) => u.id === r.authorId)?.username },
      })),
    },
    calls: { subgraph: 'accounts', count: 0 },
  },
  {
    name: 'three hops: reviews -> products (compound key) -> inventory (@requires)',
    query: '{ reviews { product { name shippingEstimate } } }',
    expect: {
      reviews: [
        { product: { name: 'Table', shippingEstimate: 50 } },
        { product: { name: 'Couch', shippingEstimate: 0 } },
        { product: { name: 'Chair', shippingEstimate: 25 } },
      ],
    },
  },
  {
    name: '@override (name from reviews)',
    query: '{ me { id name } }',
    expect: { me: { id: 'u1', name: 'Ada Lovelace (reviews)' } },
  },
  {
    name: 'interface entity (@interfaceObject)',
    query: '{ media { id title rating ... on Book { author } ... on Movie { director } } }',
    expect: {
      media: [
        { id: 'm1', title: 'Dune', rating: 5, author: 'Herbert' },
        { id: 'm2', title: 'Alien', rating: 4, director: 'Scott' },
      ],
    },
  },
  { name: '@inaccessible field refused', query: '{ topProducts { internalCode } }', expect: 'refused' },
  { name: 'missing entity is null', query: '{ product(upc: "9") { name inStock } }', expect: { product: null } },
];
