/**
 * Subgraph-call resilience over real HTTP: a tiny sales subgraph behind a switchable front server
 * that forwards, hangs, answers 503, refuses with a GraphQL 400, or is closed (refused port).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { devKeyPair, GATEWAY_PRINCIPAL } from '@hub/core/keys';
import { VIEWER_HEADER, createViewerVerifier } from '@hub/core/viewer';
import type { SubgraphResilienceConfig } from '../src/config.js';
import { startGateway, type RunningGateway } from '../src/server.js';
import { post, startCustomersSubgraph, startFakeSubgraph, testConfig, token, type FakeSubgraph } from './helpers.js';

const SALES_SDL = /* GraphQL */ `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
  type Query {
    pipelineTotal: Int
  }
  type Mutation {
    touch: Int
  }
  type Customer @key(fields: "id") {
    id: ID!
    openOpportunities: Int
  }
`;

const FORWARDED = ['content-type', 'accept', VIEWER_HEADER, 'x-request-id'];

type Mode = 'up' | 'hang' | '503' | 'bad-input';

/** The sales subgraph as the gateway sees it, with a switch for how it fails. */
interface Front {
  url: string;
  mode: Mode;
  /** Requests that reached the front (every attempt of every fetch), with their viewer headers. */
  hits: { viewerHeader: string | undefined; body: unknown }[];
  close(): Promise<void>;
  reopen(): Promise<void>;
}

async function startFront(upstream: string): Promise<Front> {
  const sockets = new Set<Socket>();
  let port = 0;
  const front: Front = {
    url: '',
    mode: 'up',
    hits: [],
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
    reopen: () => new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve)),
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.url?.startsWith('/graphql'))
        front.hits.push({
          viewerHeader: req.headers[VIEWER_HEADER] as string,
          body: req.method === 'POST' ? JSON.parse(Buffer.concat(chunks).toString() || 'null') : undefined,
        });
      if (front.mode === 'hang') return;
      if (front.mode === '503') return void res.writeHead(503, { 'content-type': 'text/plain' }).end('overloaded');
      if (front.mode === 'bad-input') {
        const errors = [{ message: 'Variable "$x" got invalid value "NaN"', extensions: { code: 'BAD_USER_INPUT' } }];
        return void res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ errors }));
      }
      fetch(new URL(req.url ?? '/', upstream), {
        method: req.method ?? 'GET',
        // End-to-end headers only: hop-by-hop ones (connection, host, content-length) belong to this hop.
        headers: Object.fromEntries(
          Object.entries(req.headers).filter(
            (e): e is [string, string] => typeof e[1] === 'string' && FORWARDED.includes(e[0]),
          ),
        ),
        ...(req.method === 'POST' ? { body: Buffer.concat(chunks) } : {}),
      }).then(
        async (response) => {
          res.writeHead(response.status, { 'content-type': response.headers.get('content-type') ?? 'text/plain' });
          res.end(Buffer.from(await response.arrayBuffer()));
        },
        () => res.writeHead(502).end(),
      );
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  return Object.assign(front, { url: `http://127.0.0.1:${port}/graphql` });
}

const FAST: SubgraphResilienceConfig = { timeoutMs: 400, retries: 2, breakerFailures: 1000, halfOpenAfterMs: 60_000 };

let customers: FakeSubgraph;
let sales: FakeSubgraph;
let front: Front;
let bearer: string;
const gateways: RunningGateway[] = [];

async function gatewayWith(resilience: SubgraphResilienceConfig): Promise<RunningGateway> {
  front.mode = 'up';
  const gateway = await startGateway(testConfig([customers, { name: 'sales', url: front.url }], { resilience }));
  gateways.push(gateway);
  return gateway;
}

const metricsOf = async (gateway: RunningGateway) => (await fetch(gateway.metricsUrl)).text();
const metricValue = (text: string, name: string, subgraph = 'sales') =>
  Number(new RegExp(`^${name}\\{[^}]*subgraph="${subgraph}"[^}]*\\} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);

beforeAll(async () => {
  customers = await startCustomersSubgraph();
  sales = await startFakeSubgraph({
    name: 'sales',
    sdl: SALES_SDL,
    resolvers: {
      Query: { pipelineTotal: () => 42 },
      Mutation: { touch: () => 1 },
      Customer: { __resolveReference: (ref: { id: string }) => ({ id: ref.id, openOpportunities: 3 }) },
    },
  });
  front = await startFront(sales.url);
  bearer = await token();
});
afterEach(async () => {
  await Promise.all(gateways.splice(0).map((gateway) => gateway.stop()));
  if (front.mode !== 'up') front.mode = 'up';
});
afterAll(async () => {
  await front.close();
  await Promise.allSettled([customers.stop(), sales.stop()]);
});

const CROSS = { query: '{ customers { id name openOpportunities } pipelineTotal }' };

function expectSalesMissing(body: Awaited<ReturnType<typeof post>>['body']) {
  expect(body.data).toEqual({
    customers: [
      { id: 'cust_00001', name: 'Blue Labs 1', openOpportunities: null },
      { id: 'cust_00002', name: 'North Labs 2', openOpportunities: null },
    ],
    pipelineTotal: null,
  });
  expect(body.errors?.length).toBeGreaterThan(0);
  for (const error of body.errors ?? []) {
    expect(error.extensions).toMatchObject({ code: 'DOWNSTREAM_SERVICE_ERROR', serviceName: 'sales' });
  }
}

describe('subgraph calls', () => {
  it('go through a pooled fetcher and answer as before while the subgraph is up', async () => {
    const gateway = await gatewayWith(FAST);
    const result = await post(gateway.url, CROSS, bearer);
    expect(result.body.errors).toBeUndefined();
    expect(result.body.data).toMatchObject({ pipelineTotal: 42, customers: [{ openOpportunities: 3 }, {}] });
  });

  it('give up on a hanging subgraph at the timeout, once per fetch, keeping the other fields', async () => {
    const gateway = await gatewayWith(FAST);
    front.mode = 'hang';
    const before = front.hits.length;
    const started = Date.now();
    const result = await post(gateway.url, CROSS, bearer);
    // Bounded by the timeout (400 ms) plus scheduling slack, not by the hang.
    expect(Date.now() - started).toBeLessThan(FAST.timeoutMs + 2000);
    expectSalesMissing(result.body);
    // The entity fetch and the root fetch, each tried once: a timeout is not retried.
    expect(front.hits.length - before).toBe(2);
    expect(await metricsOf(gateway)).toMatch(
      /hub_gateway_subgraph_fetch_duration_seconds_count\{[^}]*subgraph="sales"[^}]*outcome="timeout"[^}]*\} 2/,
    );
  });

  it('retry a query on 503 with fresh signatures, up to SUBGRAPH_RETRIES, and count the retries', async () => {
    const gateway = await gatewayWith(FAST);
    front.mode = '503';
    const before = front.hits.length;
    const result = await post(gateway.url, { query: '{ pipelineTotal }' }, bearer);
    expect(result.body.errors?.[0]?.extensions).toMatchObject({
      code: 'DOWNSTREAM_SERVICE_ERROR',
      serviceName: 'sales',
    });
    const attempts = front.hits.slice(before);
    expect(attempts).toHaveLength(FAST.retries + 1);
    // Each attempt is signed afresh: a single-use token resent would be refused as a replay.
    expect(new Set(attempts.map((attempt) => attempt.viewerHeader)).size).toBe(attempts.length);
    const verify = createViewerVerifier({ audience: 'sales', gatewayKey: devKeyPair(GATEWAY_PRINCIPAL).publicKey });
    for (const attempt of attempts) expect(verify(attempt.viewerHeader, attempt.body)).toMatchObject({ userId: 'u1' });
    expect(metricValue(await metricsOf(gateway), 'hub_subgraph_retries_total')).toBe(FAST.retries);
  });

  it('never retry a mutation', async () => {
    const gateway = await gatewayWith(FAST);
    front.mode = '503';
    const before = front.hits.length;
    const result = await post(gateway.url, { query: 'mutation { touch }' }, bearer);
    expect(result.body.errors?.[0]?.extensions).toMatchObject({
      code: 'DOWNSTREAM_SERVICE_ERROR',
      serviceName: 'sales',
    });
    expect(front.hits.length - before).toBe(1);
  });

  it('pass a subgraph’s own 4xx GraphQL errors through with their codes, untried again', async () => {
    const gateway = await gatewayWith(FAST);
    front.mode = 'bad-input';
    const before = front.hits.length;
    const result = await post(gateway.url, { query: '{ pipelineTotal }' }, bearer);
    expect(result.body.errors).toEqual([
      expect.objectContaining({
        message: 'Variable "$x" got invalid value "NaN"',
        extensions: expect.objectContaining({ code: 'BAD_USER_INPUT', serviceName: 'sales' }),
      }),
    ]);
    expect(front.hits.length - before).toBe(1);
  });

  it('answer at once from a refused port, after bounded retries', async () => {
    const gateway = await gatewayWith(FAST);
    await front.close();
    try {
      const result = await post(gateway.url, CROSS, bearer);
      expectSalesMissing(result.body);
      expect(metricValue(await metricsOf(gateway), 'hub_subgraph_retries_total')).toBe(2 * FAST.retries);
    } finally {
      await front.reopen();
    }
  });

  it('open the circuit after consecutive failures, fail fast without calling, and close after a probe', async () => {
    // halfOpenAfter long enough that the open-circuit requests below all fall inside it on a loaded machine.
    // Failures here are 503s, answered at once: the timeout only needs room for the probe on a loaded machine.
    const breaker = { timeoutMs: 2000, retries: 0, breakerFailures: 3, halfOpenAfterMs: 3000 };
    const gateway = await gatewayWith(breaker);
    const query = { query: '{ pipelineTotal }' };
    front.mode = '503';
    const before = front.hits.length;
    for (let i = 0; i < breaker.breakerFailures; i++) await post(gateway.url, query, bearer);
    expect(front.hits.length - before).toBe(breaker.breakerFailures);
    expect(metricValue(await metricsOf(gateway), 'hub_subgraph_circuit_state')).toBe(1);

    // Open: answered with the coded partial-data error, and the subgraph is not called at all.
    for (let i = 0; i < 5; i++) {
      const result = await post(gateway.url, query, bearer);
      expect(result.body.errors?.[0]?.extensions).toMatchObject({
        code: 'DOWNSTREAM_SERVICE_ERROR',
        serviceName: 'sales',
      });
    }
    expect(front.hits.length - before).toBe(breaker.breakerFailures);

    // Back up: after halfOpenAfter one probe goes through, succeeds, and the circuit closes.
    front.mode = 'up';
    await new Promise((resolve) => setTimeout(resolve, breaker.halfOpenAfterMs + 100));
    const probe = await post(gateway.url, query, bearer);
    expect(probe.body).toEqual({ data: { pipelineTotal: 42 } });
    const text = await metricsOf(gateway);
    expect(metricValue(text, 'hub_subgraph_circuit_state')).toBe(0);
    expect(metricValue(text, 'hub_subgraph_circuit_opened_total')).toBe(1);
    expect(metricValue(text, 'hub_subgraph_circuit_state', 'customers')).toBe(0);
  });
});
