import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { post, startTestHub, token, type TestHub } from './helpers.js';

describe('a subgraph that is down', () => {
  let hub: TestHub;
  let bearer: string;
  beforeAll(async () => {
    hub = await startTestHub();
    bearer = await token();
  });
  afterAll(async () => {
    await hub.stop();
  });

  const query = { query: '{ customers { id name openOpportunities } pipelineTotal }' };

  it('contributes its fields while it is up', async () => {
    const result = await post(hub.gateway.url, query, bearer);
    expect(result.body.errors).toBeUndefined();
    expect(result.body.data).toMatchObject({
      pipelineTotal: 42,
      customers: [{ openOpportunities: 10 }, { openOpportunities: 10 }],
    });
  });

  it('once killed, leaves every other field in place and a DOWNSTREAM_SERVICE_ERROR on each missing part', async () => {
    await hub.sales.stop();
    const result = await post(hub.gateway.url, query, bearer);
    expect(result.status).toBe(200);
    expect(result.body.data).toEqual({
      customers: [
        { id: 'cust_00001', name: 'Blue Labs 1', openOpportunities: null },
        { id: 'cust_00002', name: 'North Labs 2', openOpportunities: null },
      ],
      pipelineTotal: null,
    });
    const errors = result.body.errors ?? [];
    expect(errors.map((error) => error.path)).toEqual(expect.arrayContaining([['pipelineTotal'], ['customers', '@']]));
    for (const error of errors) {
      expect(error.extensions).toMatchObject({ code: 'DOWNSTREAM_SERVICE_ERROR', serviceName: 'sales' });
      // Outside development the transport failure (internal URLs, ports) stays in the logs.
      expect(error.extensions?.['reason']).toBeUndefined();
      expect(error.extensions?.['stacktrace']).toBeUndefined();
    }
  });

  it('makes /readyz answer 503 naming the subgraph, while /healthz stays 200', async () => {
    const base = new URL(hub.gateway.url).origin;
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(503);
    const report = (await ready.json()) as { supergraphLoaded: boolean; subgraphs: { name: string; ok: boolean }[] };
    expect(report.supergraphLoaded).toBe(true);
    expect(report.subgraphs).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: 'customers', ok: true }),
        expect.objectContaining({ name: 'sales', ok: false }),
      ]),
    );
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  });

  it('counts the failed fetches in /metrics by subgraph', async () => {
    const text = await (await fetch(`${new URL(hub.gateway.url).origin}/metrics`)).text();
    expect(text).toMatch(
      /hub_gateway_subgraph_fetch_duration_seconds_count\{[^}]*subgraph="sales"[^}]*outcome="unavailable"[^}]*\} [1-9]/,
    );
    expect(text).toMatch(/hub_graphql_errors_total\{[^}]*code="DOWNSTREAM_SERVICE_ERROR"[^}]*\} [1-9]/);
  });
});
