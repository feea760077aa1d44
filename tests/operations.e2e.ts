/**
 * What an operator relies on, against the whole hub as real processes in production mode:
 * routing by the supergraph file's URLs, /metrics on its own port behind a token with bounded
 * series, and subgraph calls that neither hang nor take the other subgraphs down with them when one
 * subgraph hangs, dies and comes back.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DOMAINS, SUBGRAPH_PORTS } from '@hub/core/domains';
import { startHub, type GraphQLResponse, type Hub } from './support/hub.js';

const TIMEOUT_MS = 1500;
const HALF_OPEN_MS = 1000;

let hub: Hub;
let admin: string;

beforeAll(async () => {
  hub = await startHub({
    gatewayEnv: {
      SUBGRAPH_TIMEOUT_MS: String(TIMEOUT_MS),
      SUBGRAPH_RETRIES: '1',
      SUBGRAPH_BREAKER_FAILURES: '3',
      SUBGRAPH_BREAKER_HALF_OPEN_MS: String(HALF_OPEN_MS),
    },
  });
  admin = await hub.token({ tenant: 'acme', roles: ['admin'] });
});
afterAll(async () => {
  await hub?.stop();
});

/** Series names of the hub's own metrics (process metrics such as GC kinds may appear on their own). */
const hubSeries = (text: string) =>
  text
    .split('\n')
    .filter((line) => line.startsWith('hub_'))
    .map((line) => line.split(' ')[0]);

const gaugeOf = (text: string, name: string, subgraph: string) =>
  Number(new RegExp(`^${name}\\{[^}]*subgraph="${subgraph}"[^}]*\\} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);

describe('routing', () => {
  it("sends every subgraph's fetches to the supergraph file's URLs: no SUBGRAPH_<NAME>_URL, no default port", async () => {
    for (const domain of DOMAINS) {
      expect(new URL(hub.subgraphs[domain].url).port).not.toBe(String(SUBGRAPH_PORTS[domain]));
    }
    const result = await hub.query(
      '{ customer(id: "cust_00001") { name journey { currentStage } renewal { renewalProbability } adoption { maturityLevel } finance { revenueAttribution { currentArr } } supportSatisfaction { averageScore } health { score } } }',
      {},
      admin,
    );
    expect(result.errors).toBeUndefined();
    expect(Object.values(result.data?.['customer'] as object).every((value) => value !== null)).toBe(true);
  });

  it("passes a subgraph's own BAD_USER_INPUT through with its code, not as an unavailable subgraph", async () => {
    const result = await hub.query(
      'mutation($value: Money!) { createOpportunity(input: { customerId: "cust_00001", ownerId: "u1", type: UPSELL, value: $value, probability: 0.5, timeline: "q1_2026", successFactors: [] }) { id } }',
      { value: 'NaN' },
      admin,
    );
    expect(result.errors?.[0]?.extensions?.['code']).toBe('BAD_USER_INPUT');
    expect(JSON.stringify(result.errors)).not.toMatch(/unavailable|DOWNSTREAM_SERVICE_ERROR/);
  });
});

describe('/metrics', () => {
  const processes = () => [
    { name: 'gateway', url: hub.gatewayUrl, metricsUrl: hub.gatewayMetricsUrl },
    ...DOMAINS.map((domain) => ({
      name: domain,
      url: hub.subgraphs[domain].url,
      metricsUrl: hub.subgraphs[domain].metricsUrl ?? '',
    })),
  ];

  it('is served on its own port only, behind the scraper token, by the gateway and every subgraph', async () => {
    for (const { name, url, metricsUrl } of processes()) {
      expect(new URL(metricsUrl).port, name).not.toBe(new URL(url).port);
      expect((await fetch(new URL('/metrics', url))).status, `${name} public port`).toBe(404);
      expect((await fetch(metricsUrl)).status, `${name} without token`).toBe(401);
      expect((await fetch(metricsUrl, { headers: { authorization: 'Bearer wrong-token-0123456789' } })).status).toBe(
        401,
      );
      expect(await hub.scrapeMetrics(metricsUrl), name).toMatch(/# TYPE hub_http_request_duration_seconds histogram/);
    }
  });

  it('keeps the same series after 3,000 requests to random paths, on a subgraph and on the gateway', async () => {
    const all = processes();
    const gatewayAndSales = all.filter(({ name }) => name === 'gateway' || name === 'sales');
    expect(gatewayAndSales).toHaveLength(2);
    for (const { name, url, metricsUrl } of gatewayAndSales) {
      const randomPath = () => `/${randomBytes(8).toString('hex')}/${randomBytes(4).toString('hex')}`;
      await (await fetch(new URL(randomPath(), url))).body?.cancel(); // a first 404 may add its status once
      const before = hubSeries(await hub.scrapeMetrics(metricsUrl));
      const sizeBefore = (await hub.scrapeMetrics(metricsUrl)).length;
      for (let i = 0; i < 3000; i += 100) {
        await Promise.all(
          Array.from({ length: 100 }, () => fetch(new URL(randomPath(), url)).then((r) => r.body?.cancel())),
        );
      }
      const text = await hub.scrapeMetrics(metricsUrl);
      expect(hubSeries(text), name).toEqual(before);
      expect(text.length, name).toBeLessThan(sizeBefore * 1.2);
    }
  });
});

const LOAD_QUERY =
  '{ customers(first: 5) { edges { node { id name health { score } supportSatisfaction { averageScore } } } } }';

type LoadData = { customers: { edges: { node: Record<string, unknown> }[] } };

interface Sample {
  ms: number;
  result: GraphQLResponse<LoadData>;
}

/** Runs `workers` loops of LOAD_QUERY until `stop()`; every answer is kept with its latency. */
function load(workers: number) {
  const samples: Sample[] = [];
  let running = true;
  const loops = Array.from({ length: workers }, async () => {
    while (running) {
      const started = performance.now();
      const result = await hub.query<LoadData>(LOAD_QUERY, {}, admin);
      samples.push({ ms: performance.now() - started, result });
    }
  });
  return {
    samples,
    async stop() {
      running = false;
      await Promise.all(loops);
      return samples;
    },
  };
}

async function until(condition: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Every answer kept the other subgraphs' fields; the support part is either there or a coded error. */
function expectDegradedGracefully(samples: Sample[]) {
  expect(samples.length).toBeGreaterThan(0);
  for (const { result } of samples) {
    expect(result.status).toBe(200);
    const edges = result.data?.customers.edges ?? [];
    expect(edges).toHaveLength(5);
    for (const { node } of edges) {
      expect(node['name']).toEqual(expect.any(String));
      expect(node['health']).toMatchObject({ score: expect.any(Number) });
    }
    for (const error of result.errors ?? []) {
      expect(error.extensions).toMatchObject({ code: 'DOWNSTREAM_SERVICE_ERROR', serviceName: 'support' });
    }
  }
}

describe('a subgraph that hangs, dies and comes back under load', () => {
  const circuit = async () =>
    gaugeOf(await hub.scrapeMetrics(hub.gatewayMetricsUrl), 'hub_subgraph_circuit_state', 'support');
  const supportAnswers = async () => {
    const result = await hub.query<LoadData>(LOAD_QUERY, {}, admin);
    return result.errors === undefined && result.data?.customers.edges[0]?.node['supportSatisfaction'] !== null;
  };

  it('times out a hanging subgraph, opens its circuit (fast answers), and closes it once it answers again', async () => {
    const traffic = load(4);
    hub.subgraphs.support.child.kill('SIGSTOP'); // alive, accepting connections, answering nothing
    try {
      await until(async () => (await circuit()) === 1, 30_000, 'the support circuit to open');
      await new Promise((resolve) => setTimeout(resolve, 2 * HALF_OPEN_MS));
    } finally {
      hub.subgraphs.support.child.kill('SIGCONT');
    }
    await until(supportAnswers, 30_000, 'support to answer again');
    const samples = await traffic.stop();
    expect(await circuit()).toBe(0);
    expectDegradedGracefully(samples);
    // No request waited past the subgraph timeout (plus the gateway's own work and a loaded machine).
    expect(Math.max(...samples.map((s) => s.ms))).toBeLessThan(TIMEOUT_MS + 2500);
    const metrics = await hub.scrapeMetrics(hub.gatewayMetricsUrl);
    const fetches = (outcome: string) =>
      new RegExp(
        `hub_gateway_subgraph_fetch_duration_seconds_count\\{[^}]*subgraph="support"[^}]*outcome="${outcome}"[^}]*\\} [1-9]`,
      );
    expect(metrics).toMatch(fetches('timeout'));
    // Answered at once, without calling the subgraph, while the circuit was open.
    expect(metrics).toMatch(fetches('circuit_open'));
  });

  it('keeps the other fields coming while it is killed, and closes the circuit after the restart', async () => {
    const traffic = load(4);
    await hub.subgraphs.support.kill();
    await until(async () => (await circuit()) === 1, 30_000, 'the support circuit to open');
    const downSamples = traffic.samples.length;
    await hub.respawnSubgraph('support');
    await until(supportAnswers, 60_000, 'the restarted support subgraph to answer');
    const samples = await traffic.stop();
    expect(samples.length).toBeGreaterThan(downSamples);
    expect(await circuit()).toBe(0);
    expectDegradedGracefully(samples);
    expect(samples.some((s) => s.result.errors?.length)).toBe(true);
    expect(Math.max(...samples.map((s) => s.ms))).toBeLessThan(TIMEOUT_MS + 2500);
    expect(await hub.scrapeMetrics(hub.gatewayMetricsUrl)).toMatch(
      /hub_subgraph_retries_total\{[^}]*subgraph="support"[^}]*\} [1-9]/,
    );
  });
});
