/**
 * A supergraph file's routing URLs are where the gateway sends each subgraph's fetches; only an
 * explicitly set `SUBGRAPH_<NAME>_URL` overrides them. The subgraphs here are named like domains
 * (customers, sales) but listen on random ports, not the defaults 4001/4003.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { composeSupergraph } from '../src/compose.js';
import { loadGatewayConfig } from '../src/config.js';
import { startGateway, type RunningGateway } from '../src/server.js';
import {
  CUSTOMERS_SDL,
  SALES_SDL,
  post,
  startCustomersSubgraph,
  startFakeSubgraph,
  startSalesSubgraph,
  token,
  type FakeSubgraph,
} from './helpers.js';

let customers: FakeSubgraph;
let sales: FakeSubgraph;
let otherSales: FakeSubgraph;
let dir: string;
let supergraphPath: string;

beforeAll(async () => {
  customers = await startCustomersSubgraph();
  sales = await startSalesSubgraph();
  // Same schema, another answer: tells which of the two the gateway called.
  otherSales = await startFakeSubgraph({
    name: 'sales',
    sdl: SALES_SDL,
    resolvers: {
      Query: { pipelineTotal: () => 7 },
      Customer: { __resolveReference: (ref: { id: string }) => ({ id: ref.id, openOpportunities: 0 }) },
    },
  });
  const composed = composeSupergraph([
    { name: 'customers', url: customers.url, sdl: CUSTOMERS_SDL },
    { name: 'sales', url: sales.url, sdl: SALES_SDL },
  ]);
  if (!composed.ok) throw new Error(composed.errors.join('\n'));
  dir = mkdtempSync(path.join(tmpdir(), 'hub-supergraph-'));
  supergraphPath = path.join(dir, 'supergraph.graphql');
  writeFileSync(supergraphPath, composed.supergraphSdl);
});
afterAll(async () => {
  await Promise.allSettled([customers.stop(), sales.stop(), otherSales.stop()]);
  rmSync(dir, { recursive: true, force: true });
});

async function gatewayWith(env: Record<string, string>): Promise<RunningGateway> {
  // No entity cache: these fake subgraphs serve no `_events`, so it could never serve here, and its
  // tails would add the gateway's own service reads to the viewers the customers subgraph records.
  return startGateway(
    loadGatewayConfig({
      NODE_ENV: 'test',
      PORT: '0',
      SUPERGRAPH_PATH: supergraphPath,
      HUB_ENTITY_CACHE: 'false',
      ...env,
    }),
  );
}

describe('routing URLs of a supergraph file', () => {
  it('are used for every subgraph when no SUBGRAPH_<NAME>_URL is set (not the default ports)', async () => {
    const gateway = await gatewayWith({});
    try {
      expect(gateway.hub.subgraphs).toEqual([
        { name: 'customers', url: customers.url },
        { name: 'sales', url: sales.url },
      ]);
      const result = await post(
        gateway.url,
        { query: '{ whoami customers { id openOpportunities } pipelineTotal }' },
        await token(),
      );
      expect(result.body.errors).toBeUndefined();
      expect(result.body.data).toMatchObject({ whoami: 'u1@acme', pipelineTotal: 42 });
      // Readiness uses them too. The gateway makes no lookup of its own for a token viewer (each
      // subgraph resolves the rows from its replica): the customers subgraph saw the user only.
      expect((await fetch(new URL('/readyz', gateway.url))).status).toBe(200);
      expect(customers.viewers.length).toBeGreaterThan(0);
      expect(customers.viewers.every((viewer) => viewer.userId === 'u1' && !('customerIds' in viewer))).toBe(true);
    } finally {
      await gateway.stop();
    }
  });

  it('are overridden by an explicitly set SUBGRAPH_<NAME>_URL, for that subgraph only', async () => {
    const gateway = await gatewayWith({ SUBGRAPH_SALES_URL: otherSales.url });
    try {
      const result = await post(gateway.url, { query: '{ customers { id } pipelineTotal }' }, await token());
      expect(result.body.errors).toBeUndefined();
      expect(result.body.data).toMatchObject({
        pipelineTotal: 7,
        customers: [{ id: 'cust_00001' }, { id: 'cust_00002' }],
      });
      expect(gateway.hub.subgraphs).toEqual([
        { name: 'customers', url: customers.url },
        { name: 'sales', url: otherSales.url },
      ]);
    } finally {
      await gateway.stop();
    }
  });
});
