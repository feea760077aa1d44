/**
 * Test helpers shared by every package's tests: fresh Postgres databases, subgraphs on port 0,
 * signed GraphQL requests, and SQL statement counting. Real stores and real HTTP only.
 */
import pg from 'pg';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect } from 'vitest';
import { GATEWAY_PRINCIPAL, devKeyPair, parseSigningKey } from './keys.js';
import { diffCounts } from './metrics.js';
import type { Domain } from './domains.js';
import { startSubgraph, type RunningSubgraph, type SubgraphDefinition } from './subgraph.js';
import { createViewerSigner, REQUEST_ID_HEADER, VIEWER_HEADER, type Viewer } from './viewer.js';

/** Server used for test databases; each test file gets its own database on it. */
export const TEST_POSTGRES_URL = process.env['HUB_TEST_POSTGRES_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

export async function createTestDatabase(prefix = 'hub_t'): Promise<TestDatabase> {
  const name = `${prefix}_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: TEST_POSTGRES_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(TEST_POSTGRES_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    async drop() {
      const client = new pg.Client({ connectionString: TEST_POSTGRES_URL });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}

let requestCounter = 0;

export function testViewer(partial: Partial<Viewer> & { tenantId: string | null }): Viewer {
  return {
    userId: 'u1',
    roles: ['admin'],
    book: [],
    requestId: `test-${++requestCounter}`,
    ...partial,
  };
}

/** An admin of `tenantId` (a demo tenant, e.g. `acme`), signed like a gateway request. */
export function viewerFor(tenantId: string, partial: Partial<Viewer> = {}): Viewer {
  return testViewer({ ...partial, tenantId });
}

/** The two demo tenants' admins (see DEMO_TENANTS); most tests read as one and check the other is kept out. */
export const acme = viewerFor('acme');
export const globex = viewerFor('globex');

/** A Relay connection as a client receives it (only the selected fields are really present). */
export interface Page<N = Record<string, unknown>> {
  edges: { cursor: string; node: N }[];
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; endCursor: string | null };
  totalCount: number;
}

export interface GqlResult<T = Record<string, unknown>> {
  status: number;
  data?: T | null;
  errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, unknown> }[];
}

const gatewayKey = process.env['HUB_GATEWAY_PRIVATE_KEY'];
const signer = createViewerSigner({
  issuer: GATEWAY_PRINCIPAL,
  privateKey: gatewayKey ? parseSigningKey(gatewayKey, 'private') : devKeyPair(GATEWAY_PRINCIPAL).privateKey,
});

/** The subgraph behind each URL the test helpers started, so `gql` addresses its token to it. */
const subgraphNames = new Map<string, string>();

/** Lets `gql` address a subgraph a test started itself with `startSubgraph` (several in one test). */
export function registerTestSubgraph(url: string, name: string): void {
  subgraphNames.set(url, name);
}

function audienceOf(url: string): string {
  const name = subgraphNames.get(url);
  if (name === undefined) throw new Error(`gql: ${url} is not a subgraph started by startTestSubgraph`);
  return name;
}

/**
 * POSTs a GraphQL operation. With a viewer, signs it the way the gateway does (for that subgraph
 * and that request, once);
 * with `null`, sends it unsigned (to prove it is refused); with headers, sends them as given.
 */
export async function gql<T = Record<string, unknown>>(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  viewer: Viewer | null = null,
  headers: Record<string, string> = {},
): Promise<GqlResult<T>> {
  const signed: Record<string, string> = viewer
    ? {
        [VIEWER_HEADER]: signer.sign(viewer, audienceOf(url), { query, variables }),
        [REQUEST_ID_HEADER]: viewer.requestId,
      }
    : {};
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...signed, ...headers },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as Omit<GqlResult<T>, 'status'>;
  return { status: response.status, ...body };
}

export interface TestSubgraph<C> extends RunningSubgraph<C> {
  database: TestDatabase;
  /** The customers subgraph other domains check customer ids against (not started for customers itself). */
  customers: RunningSubgraph<unknown> | undefined;
  /** Creates a customer in `viewer`'s tenant through the customers subgraph; returns its id. */
  createCustomer(viewer: Viewer, name?: string): Promise<string>;
  /** Runs `fn` and returns the SQL statements per table it caused in this subgraph. */
  countStatements(fn: () => Promise<unknown>): Promise<Record<string, number>>;
}

function statementSnapshot(running: RunningSubgraph<unknown>): Promise<Map<string, number>> {
  return running.metrics.sqlStatements.get().then((metric) => {
    const counts = new Map<string, number>();
    for (const value of metric.values) counts.set(String(value.labels['table']), value.value);
    return counts;
  });
}

/**
 * A subgraph on port 0 over a fresh Postgres database, migrated and (by default) seeded. Another
 * domain gets a customers subgraph of its own on the same database (its customer replica follows
 * it), or shares `options.customers` (several domains over one customers store; not stopped here).
 */
export async function startTestSubgraph<C, L>(
  def: SubgraphDefinition<C, L>,
  options: { seed?: boolean; customers?: RunningSubgraph<unknown> } = {},
): Promise<TestSubgraph<C>> {
  const database = await createTestDatabase(`hub_t_${def.name}`);
  const common = {
    port: 0,
    seedDemo: options.seed ?? true,
    migrate: true,
    logLevel: process.env['LOG_LEVEL'] ?? 'warn',
  };
  let customers: RunningSubgraph<unknown> | undefined = options.customers;
  const ownsCustomers = customers === undefined;
  let running: RunningSubgraph<C>;
  try {
    // Other domains replicate the real customers subgraph's customers, on the same database.
    if (def.name !== 'customers' && !customers) {
      customers = await startSubgraph(await customersDefinition(), {
        ...common,
        store: { kind: 'postgres', url: database.url, schema: 'customers' },
      });
    }
    running = await startSubgraph(def, {
      ...common,
      store: { kind: 'postgres', url: database.url, schema: def.name },
      ...(customers ? { customersUrl: customers.url } : {}),
    });
  } catch (error) {
    if (ownsCustomers) await customers?.stop();
    await database.drop();
    throw error;
  }
  subgraphNames.set(running.url, def.name);
  if (customers) subgraphNames.set(customers.url, 'customers');
  return {
    ...running,
    database,
    customers,
    async createCustomer(viewer, name = 'Test Customer') {
      const url = customers?.url ?? running.url;
      const res = await gql<{ createCustomer: { id: string } }>(
        url,
        'mutation($name: String!) { createCustomer(input: { name: $name, ownerId: "u1" }) { id } }',
        { name },
        viewer,
      );
      const id = res.data?.createCustomer.id;
      if (!id) throw new Error(`createCustomer failed: ${JSON.stringify(res.errors)}`);
      return id;
    },
    async countStatements(fn) {
      const before = await statementSnapshot(running as RunningSubgraph<unknown>);
      await fn();
      return diffCounts(before, await statementSnapshot(running as RunningSubgraph<unknown>));
    },
    async stop() {
      await running.stop();
      if (ownsCustomers) await customers?.stop();
      await database.drop();
    },
  };
}

/** The customers subgraph's definition, loaded at run time (core does not depend on a subgraph at build time). */
async function customersDefinition(): Promise<SubgraphDefinition<unknown, unknown>> {
  const specifier = '@hub/subgraph-customers/src/server.ts';
  const module = (await import(specifier)) as { subgraph: SubgraphDefinition<unknown, unknown> };
  return module.subgraph;
}

/** The first error's extensions of a response that must have failed without data. */
export function errorOf(res: GqlResult): Record<string, unknown> {
  expect(res.data ?? null).toBeNull();
  return res.errors?.[0]?.extensions ?? {};
}

/** Asserts a failed response with this error code (and, when given, the offending field). */
export function expectError(res: GqlResult, code: string, field?: string): void {
  expect(errorOf(res)).toMatchObject({ code, ...(field ? { field } : {}) });
}

/**
 * Starts `def` with startTestSubgraph before the calling test file's tests and stops it (dropping
 * its database) after them. The returned handle forwards to the running subgraph, so tests write
 * `hub.url`; touching it outside a test (before beforeAll ran) throws.
 */
export function useTestSubgraph<C, L>(
  def: SubgraphDefinition<C, L>,
  options: { seed?: boolean } = {},
): TestSubgraph<C> {
  let running: TestSubgraph<C> | undefined;
  beforeAll(async () => {
    running = await startTestSubgraph(def, options);
  });
  afterAll(async () => {
    await running?.stop();
  });
  return new Proxy({} as TestSubgraph<C>, {
    get(_target, key) {
      if (!running) throw new Error(`the ${def.name} test subgraph is not started (use it inside a test)`);
      return Reflect.get(running, key);
    },
  });
}

/** Everything a page-by-page walk over a connection saw. */
export interface Walk<N> {
  nodes: N[];
  /** `totalCount` of every page, in order. */
  totals: number[];
  /** `totalCount` of the last page. */
  totalCount: number;
  pages: number;
}

/**
 * Reads connection `field` page by page (`$first` per page, `$after` = the previous `endCursor`)
 * until `hasNextPage` is false. The query must select the field's `edges { node }`,
 * `pageInfo { hasNextPage endCursor }` and `totalCount`; when it also selects `hasPreviousPage`,
 * every page must report it correctly. Fails on GraphQL errors.
 */
export async function walkPages<N>(
  url: string,
  query: string,
  field: string,
  options: { first: number; viewer: Viewer; variables?: Record<string, unknown>; maxPages?: number },
): Promise<Walk<N>> {
  const walk: Walk<N> = { nodes: [], totals: [], totalCount: -1, pages: 0 };
  let after: string | null = null;
  while (walk.pages < (options.maxPages ?? 1000)) {
    const res: GqlResult<Record<string, Page<N>>> = await gql<Record<string, Page<N>>>(
      url,
      query,
      { ...options.variables, first: options.first, after },
      options.viewer,
    );
    expect(res.errors).toBeUndefined();
    const page = res.data?.[field];
    if (!page) throw new Error(`no ${field} page`);
    if (typeof page.pageInfo.hasPreviousPage === 'boolean') expect(page.pageInfo.hasPreviousPage).toBe(after !== null);
    walk.pages++;
    walk.nodes.push(...page.edges.map((edge) => edge.node));
    walk.totals.push(page.totalCount);
    walk.totalCount = page.totalCount;
    if (!page.pageInfo.hasNextPage) return walk;
    after = page.pageInfo.endCursor;
  }
  throw new Error(`${field} still has pages after ${walk.pages}`);
}

/**
 * Who sends sync events in a test: an integration account issued for the events' common source (the
 * only viewer that may write as a system-of-record source, e.g. `finance`), else `fallback`.
 */
export function senderOf(
  tenantId: string,
  domain: Domain,
  events: readonly { source?: unknown }[],
  fallback: Viewer = viewerFor(tenantId),
): Viewer {
  const source = events[0]?.source;
  if (typeof source !== 'string' || events.some((event) => event.source !== source)) return fallback;
  return viewerFor(tenantId, { userId: source, roles: ['integration'], domains: [domain] });
}
