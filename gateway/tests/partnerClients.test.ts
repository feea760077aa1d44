/**
 * A partner's real Apollo Client 4 against the gateway over HTTP (the customers, health, sales and
 * support subgraphs on fresh Postgres databases, demo data seeded), with an `x-api-key` header.
 * Both of Apollo's ways of naming a persisted operation must work against our manifest: the
 * standard `createPersistedQueryLink({ sha256 })`, which hashes the document as the client sends it
 * (with `__typename` added to every selection set), and `generatePersistedQueryIdsFromManifest`.
 */
import { ApolloClient, ApolloLink, CombinedGraphQLErrors, HttpLink, InMemoryCache, ServerError } from '@apollo/client';
import { createPersistedQueryLink } from '@apollo/client/link/persisted-queries';
import { generatePersistedQueryIdsFromManifest } from '@apollo/persisted-query-lists';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parse, type DocumentNode } from 'graphql';
import { startTestSubgraph, type TestSubgraph } from '@hub/core/testing';
import { scopeToTenant } from '@hub/store';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../subgraphs/customers/src/apiKeys.js';
import { subgraph as customersSubgraph } from '../../subgraphs/customers/src/server.js';
import { subgraph as healthSubgraph } from '../../subgraphs/health/src/server.js';
import { subgraph as salesSubgraph } from '../../subgraphs/sales/src/server.js';
import { subgraph as supportSubgraph } from '../../subgraphs/support/src/server.js';
import type { PersistedQueryManifest } from '../src/plugins/usePersistedOperations.js';
import { startGateway, type RunningGateway } from '../src/server.js';
import { testConfig } from './helpers.js';

const manifest = JSON.parse(
  readFileSync(new URL('../persisted/partner-portal.json', import.meta.url), 'utf8'),
) as PersistedQueryManifest;

/** The app's own document for an operation, as its source code would hold it. */
const documentOf = (name: string): DocumentNode =>
  parse(readFileSync(new URL(`../operations/partner-portal/${name}.graphql`, import.meta.url), 'utf8'));

/** Variables for each operation of the manifest; a new operation must be given some here. */
const VARIABLES: Record<string, Record<string, unknown>> = {
  PartnerCustomer: { id: 'cust_00001' },
  PartnerCustomers: { first: 10 },
  PartnerRenewal: { id: 'cust_00001' },
  PartnerSupportSummary: { id: 'cust_00001' },
};

/** Every field the partner-portal operations read. */
const GRANT = [
  'Query.customer',
  'Query.customers',
  'Customer.name',
  'Customer.health',
  'Customer.renewal',
  'Customer.supportSatisfaction',
  'CustomerHealth.score',
  'CustomerHealth.trend',
  'HealthTrend.thirtyDayChange',
  'RenewalForecast.renewalDate',
  'RenewalForecast.renewalProbability',
  'SupportSatisfaction.*',
];

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

type Subgraph = TestSubgraph<unknown>;
let subgraphs: Subgraph[] = [];
let gateway: RunningGateway;
let secret: string;

/** What the client put on the wire, to show the standard link sends the hash alone. */
const sent: Record<string, unknown>[] = [];

function partnerClient(kind: 'sha256' | 'manifest' | 'none') {
  const http = new HttpLink({
    uri: gateway.url,
    headers: { 'x-api-key': secret },
    fetch: (input, init) => {
      sent.push(JSON.parse(String(init?.body)) as Record<string, unknown>);
      return fetch(input, init);
    },
  });
  const persisted =
    kind === 'sha256'
      ? createPersistedQueryLink({ sha256 })
      : kind === 'manifest'
        ? createPersistedQueryLink(
            generatePersistedQueryIdsFromManifest({ loadManifest: () => ({ operations: [...manifest.operations] }) }),
          )
        : undefined;
  return new ApolloClient({ cache: new InMemoryCache(), link: persisted ? ApolloLink.from([persisted, http]) : http });
}

/** The GraphQL error codes with which `client.query` fails. */
async function refusalCodes(query: Promise<unknown>): Promise<unknown[]> {
  const error = await query.then(
    () => new Error('the query was answered, not refused'),
    (reason: unknown) => reason,
  );
  if (CombinedGraphQLErrors.is(error)) return error.errors.map((e) => e.extensions?.['code']);
  if (ServerError.is(error)) {
    const body = JSON.parse(error.bodyText) as { errors?: { extensions?: { code?: string } }[] };
    return (body.errors ?? []).map((e) => e.extensions?.code);
  }
  throw error;
}

beforeAll(async () => {
  // One customers store, which every other domain's replica follows (the key is created in it).
  const customers = await startTestSubgraph(customersSubgraph);
  const others = await Promise.all(
    [healthSubgraph, salesSubgraph, supportSubgraph].map((def) =>
      startTestSubgraph(def as typeof healthSubgraph, { customers }),
    ),
  );
  subgraphs = [customers, ...others] as Subgraph[];
  const names = ['customers', 'health', 'sales', 'support'];
  gateway = await startGateway(testConfig(subgraphs.map(({ url }, i) => ({ name: names[i] ?? '', url }))));
  ({ secret } = await createApiKey(
    scopeToTenant(customers.store.client, 'acme'),
    'acme',
    { name: 'Partner Portal', app: 'partner-portal', customerIds: ['cust_00001', 'cust_00002'], fields: GRANT },
    'test',
  ));
});

afterAll(async () => {
  await gateway?.stop();
  // The replicas' domains first: they read the customers stream until they stop.
  await Promise.allSettled(subgraphs.slice(1).map((s) => s.stop()));
  await subgraphs[0]?.stop();
});

describe.each(['sha256', 'manifest'] as const)('a partner Apollo Client with the %s persisted-query link', (kind) => {
  // Subscriptions of the manifest run over graphql-ws: tests/live.e2e.ts.
  it.each(manifest.operations.filter((op) => op.type === 'query').map((op) => [op.name, op] as const))(
    'runs %s by its manifest id and gets data',
    async (name, op) => {
      const client = partnerClient(kind);
      const before = sent.length;
      const result = await client.query({
        query: documentOf(name),
        variables: VARIABLES[name] ?? {},
        fetchPolicy: 'no-cache',
      });
      expect(result.error).toBeUndefined();
      const data = result.data as Record<string, unknown>;
      const root = data['customer'] ?? data['customers'];
      expect(root, name).toMatchObject({ __typename: name === 'PartnerCustomers' ? 'CustomerConnection' : 'Customer' });
      if (name !== 'PartnerCustomers') expect(root).toMatchObject({ id: 'cust_00001', name: expect.any(String) });
      // One request, naming the operation by the manifest's id and carrying no GraphQL text.
      expect(sent.slice(before)).toEqual([
        expect.objectContaining({
          operationName: name,
          extensions: expect.objectContaining({ persistedQuery: { version: 1, sha256Hash: op.id } }),
        }),
      ]);
      expect(sent.at(-1)).not.toHaveProperty('query');
    },
  );
});

describe('a partner Apollo Client outside its manifest', () => {
  const FREE_FORM = parse('query Everyone { customers(first: 500) { totalCount } }');

  it('is refused a free-form query with PERSISTED_QUERY_NOT_IN_LIST', async () => {
    const codes = await refusalCodes(partnerClient('none').query({ query: FREE_FORM, fetchPolicy: 'no-cache' }));
    expect(codes).toEqual(['PERSISTED_QUERY_NOT_IN_LIST']);
  });

  it('is refused an unlisted operation sent by hash, and the link does not fall back to the text', async () => {
    const before = sent.length;
    const codes = await refusalCodes(partnerClient('sha256').query({ query: FREE_FORM, fetchPolicy: 'no-cache' }));
    expect(codes).toEqual(['PERSISTED_QUERY_NOT_IN_LIST']);
    expect(sent.slice(before).every((body) => !('query' in body))).toBe(true);
  });
});
