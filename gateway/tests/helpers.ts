/**
 * Tiny real subgraphs for the gateway's tests: Apollo Server + `@apollo/subgraph` on port 0 over
 * real HTTP, refusing any request whose `x-hub-viewer` token does not verify (signature, audience
 * = the subgraph's name, request hash, lifetime, single use) — the same rule the domain subgraphs apply. They let the gateway be tested without Prisma stores.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/index.js';
import { expressMiddleware } from '@as-integrations/express5';
import express from 'express';
import { parse } from 'graphql';
import type { KeyObject } from 'node:crypto';
import { GATEWAY_PRINCIPAL, devKeyPair } from '@hub/core/keys';
import { unauthenticated } from '@hub/core/errors';
import { REQUEST_ID_HEADER, VIEWER_HEADER, createViewerVerifier, type Viewer } from '@hub/core/viewer';
import { loadGatewayConfig, type GatewayConfig } from '../src/config.js';
import { startGateway, type RunningGateway } from '../src/server.js';
import { signDevToken, type DevTokenClaims } from '../src/token.js';

export interface FakeSubgraph {
  readonly name: string;
  readonly url: string;
  /** Every viewer this subgraph accepted, in order (composition requests included). */
  readonly viewers: Viewer[];
  /** `x-request-id` headers received with those viewers. */
  readonly requestIds: string[];
  /** Requests refused for a missing or bad signature. */
  refused: number;
  stop(): Promise<void>;
}

export interface FakeSubgraphOptions {
  name: string;
  sdl: string;
  resolvers: GraphQLResolverMap<{ viewer: Viewer }>;
  /** The gateway public key it trusts (default: the development key). */
  gatewayKey?: KeyObject | undefined;
}

export async function startFakeSubgraph(options: FakeSubgraphOptions): Promise<FakeSubgraph> {
  const verify = createViewerVerifier({
    audience: options.name,
    gatewayKey: options.gatewayKey ?? devKeyPair(GATEWAY_PRINCIPAL).publicKey,
  });
  const app = express();
  const httpServer = createServer(app);
  const server = new ApolloServer<{ viewer: Viewer }>({
    schema: buildSubgraphSchema([{ typeDefs: parse(options.sdl), resolvers: options.resolvers }]),
    plugins: [ApolloServerPluginDrainHttpServer({ httpServer }), ApolloServerPluginInlineTraceDisabled()],
  });
  await server.start();
  const fake: FakeSubgraph = {
    name: options.name,
    url: '',
    viewers: [],
    requestIds: [],
    refused: 0,
    stop: async () => {
      await server.stop();
    },
  };
  app.get('/healthz', (_req, res) => void res.json({ status: 'ok' }));
  app.use(
    '/graphql',
    express.json(),
    expressMiddleware(server, {
      context: async ({ req }) => {
        try {
          const viewer = verify(req.header(VIEWER_HEADER), req.body);
          fake.viewers.push(viewer);
          fake.requestIds.push(req.header(REQUEST_ID_HEADER) ?? '');
          return { viewer };
        } catch {
          fake.refused++;
          throw unauthenticated('unsigned request');
        }
      },
    }),
  );
  await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  const { port } = httpServer.address() as AddressInfo;
  return Object.assign(fake, { url: `http://127.0.0.1:${port}/graphql` });
}

/**
 * Customers owns `Customer`; sales extends it — the smallest federated graph worth testing
 * (u1 owns cust_00001, u2 owns cust_00002).
 */
export const CUSTOMERS_SDL = /* GraphQL */ `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key", "@inaccessible"])
  type Query {
    customers: [Customer!]!
    whoami: String!
  }
  type Customer @key(fields: "id") {
    id: ID!
    name: String!
  }
`;

export const SALES_SDL = /* GraphQL */ `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
  type Query {
    pipelineTotal: Int
    boom: String
  }
  type Customer @key(fields: "id") {
    id: ID!
    openOpportunities: Int
  }
`;

const CUSTOMERS = [
  { id: 'cust_00001', name: 'Blue Labs 1', ownerId: 'u1' },
  { id: 'cust_00002', name: 'North Labs 2', ownerId: 'u2' },
];

export function startCustomersSubgraph(gatewayKey?: KeyObject): Promise<FakeSubgraph> {
  return startFakeSubgraph({
    name: 'customers',
    sdl: CUSTOMERS_SDL,
    gatewayKey,
    resolvers: {
      Query: {
        customers: () => CUSTOMERS,
        whoami: (_parent: unknown, _args: unknown, { viewer }: { viewer: Viewer }) =>
          `${viewer.userId}@${viewer.tenantId}`,
      },
      Customer: { __resolveReference: (ref: { id: string }) => CUSTOMERS.find((c) => c.id === ref.id) },
    },
  });
}

export function startSalesSubgraph(gatewayKey?: KeyObject): Promise<FakeSubgraph> {
  return startFakeSubgraph({
    name: 'sales',
    sdl: SALES_SDL,
    gatewayKey,
    resolvers: {
      Query: {
        pipelineTotal: () => 42,
        boom: () => {
          throw new Error('connection string postgres://secret@db leaked');
        },
      },
      Customer: { __resolveReference: (ref: { id: string }) => ({ id: ref.id, openOpportunities: ref.id.length }) },
    },
  });
}

/** A test gateway config over the given subgraphs (explicit URLs), on port 0, with quiet logs. */
export function testConfig(
  subgraphs: readonly { name: string; url: string }[],
  overrides: Partial<GatewayConfig> = {},
): GatewayConfig {
  return {
    ...loadGatewayConfig({ NODE_ENV: 'test', PORT: '0' }),
    subgraphs: subgraphs.map(({ name, url }) => ({ name, url })),
    // Given explicitly, like SUBGRAPH_<NAME>_URL: they also override a supergraph file's routing URLs.
    subgraphUrlOverrides: Object.fromEntries(subgraphs.map(({ name, url }) => [name, url])),
    subgraphWaitMs: 5000,
    logLevel: 'silent',
    // Fake subgraphs carry no change events (no `_events` to tail): the entity cache would never
    // serve, and its tails would add calls to the subgraphs the tests count. Its own tests turn it on.
    entityCache: { ...loadGatewayConfig({ NODE_ENV: 'test' }).entityCache, enabled: false },
    ...overrides,
  };
}

export interface TestHub {
  gateway: RunningGateway;
  customers: FakeSubgraph;
  sales: FakeSubgraph;
  stop(): Promise<void>;
}

/** Two fake subgraphs and a gateway composing them from their running schemas. */
export async function startTestHub(overrides: Partial<GatewayConfig> = {}): Promise<TestHub> {
  const customers = await startCustomersSubgraph();
  const sales = await startSalesSubgraph();
  const gateway = await startGateway(testConfig([customers, sales], overrides));
  return {
    gateway,
    customers,
    sales,
    async stop() {
      await gateway.stop();
      await Promise.allSettled([customers.stop(), sales.stop()]);
    },
  };
}

export function token(claims: Partial<DevTokenClaims> = {}, secret?: string): Promise<string> {
  return signDevToken(
    { tenant: 'acme', roles: ['sales_rep'], user: 'u1', book: ['u1', 'u2'], ...claims },
    secret !== undefined ? { secret } : {},
  );
}

export interface HttpResult {
  status: number;
  headers: Headers;
  body: {
    data?: Record<string, unknown> | null;
    errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, unknown> }[];
  };
}

/** POSTs a GraphQL request to the gateway, optionally with a bearer token and extra headers. */
export async function post(
  url: string,
  body: Record<string, unknown>,
  bearer?: string,
  headers: Record<string, string> = {},
): Promise<HttpResult> {
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(bearer !== undefined ? { authorization: `Bearer ${bearer}` } : {}),
      ...headers,
    },
    body: JSON.stringify(body),
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as HttpResult['body'] };
}
