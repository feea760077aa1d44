import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { post, startTestHub, token, type TestHub } from './helpers.js';

const METRICS_TOKEN = randomBytes(16).toString('hex');

/** Series of the hub's own metrics (process metrics such as GC kinds may appear on their own). */
function hubSeries(text: string): string[] {
  return text.split('\n').filter((line) => line.startsWith('hub_'));
}

describe('the gateway’s /metrics on its own port, behind a token', () => {
  let hub: TestHub;
  beforeAll(async () => {
    hub = await startTestHub({ metrics: { port: 0, host: '127.0.0.1', token: METRICS_TOKEN } });
  });
  afterAll(async () => {
    await hub.stop();
  });

  const scrape = (authorization?: string) =>
    fetch(hub.gateway.metricsUrl, authorization ? { headers: { authorization } } : {});

  it('is not served on the public GraphQL port', async () => {
    expect(new URL(hub.gateway.metricsUrl).port).not.toBe(String(hub.gateway.port));
    expect((await fetch(new URL('/metrics', hub.gateway.url))).status).toBe(404);
  });

  it('answers 401 without the token or with a wrong one, and the exposition with it', async () => {
    expect((await scrape()).status).toBe(401);
    expect((await scrape(`Bearer ${METRICS_TOKEN.slice(1)}`)).status).toBe(401);
    expect((await scrape(`Basic ${METRICS_TOKEN}`)).status).toBe(401);
    const ok = await scrape(`Bearer ${METRICS_TOKEN}`);
    expect(ok.status).toBe(200);
    expect(await ok.text()).toMatch(/# TYPE hub_http_request_duration_seconds histogram/);
  });

  it('serves nothing else on the metrics port', async () => {
    const other = await fetch(new URL('/graphql', hub.gateway.metricsUrl), {
      headers: { authorization: `Bearer ${METRICS_TOKEN}` },
    });
    expect(other.status).toBe(404);
  });

  const randomPath = (i: number) => {
    const random = randomBytes(6).toString('hex');
    return i % 2 ? `/${random}/x${i}` : `/graphql/${random}`;
  };

  it('keeps the same series after 3,000 requests to random paths', async () => {
    // One of each kind first: a new status may add a series once; a new path must never.
    await post(hub.gateway.url, { query: '{ customers { id openOpportunities } }' }, await token());
    for (const i of [0, 1]) await (await fetch(new URL(randomPath(i), hub.gateway.url))).body?.cancel();
    const before = hubSeries(await (await scrape(`Bearer ${METRICS_TOKEN}`)).text()).map((l) => l.split(' ')[0]);
    for (let i = 0; i < 3000; i += 50) {
      await Promise.all(
        Array.from({ length: 50 }, (_, j) =>
          fetch(new URL(randomPath(i + j), hub.gateway.url)).then((response) => response.body?.cancel()),
        ),
      );
    }
    const after = hubSeries(await (await scrape(`Bearer ${METRICS_TOKEN}`)).text()).map((l) => l.split(' ')[0]);
    expect(after).toEqual(before);
  });
});
