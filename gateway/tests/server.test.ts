import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BoundedLruCache } from '../src/apqCache.js';
import { post, startTestHub, token, type TestHub } from './helpers.js';

describe('the gateway’s HTTP surface', () => {
  let hub: TestHub;
  let base: string;
  beforeAll(async () => {
    hub = await startTestHub();
    base = new URL(hub.gateway.url).origin;
  });
  afterAll(async () => {
    await hub.stop();
  });

  it('runs automatic persisted queries: unknown hash first, then by hash alone', async () => {
    const query = '{ customers { id } }';
    const sha256Hash = createHash('sha256').update(query).digest('hex');
    const extensions = { persistedQuery: { version: 1, sha256Hash } };
    const bearer = await token();

    const miss = await post(hub.gateway.url, { extensions }, bearer);
    expect(miss.body.errors?.[0]?.extensions?.['code']).toBe('PERSISTED_QUERY_NOT_FOUND');
    const register = await post(hub.gateway.url, { query, extensions }, bearer);
    expect(register.body.errors).toBeUndefined();
    const hit = await post(hub.gateway.url, { extensions }, bearer);
    expect(hit.body).toEqual(register.body);
  });

  it('does not run a persisted query for a caller without a token', async () => {
    const sha256Hash = createHash('sha256').update('{ customers { id } }').digest('hex');
    const result = await post(hub.gateway.url, { extensions: { persistedQuery: { version: 1, sha256Hash } } });
    expect(result.status).toBe(401);
  });

  it('answers introspection to an admin only; other roles get FORBIDDEN (403)', async () => {
    const query = '{ __schema { queryType { name } } }';
    const admin = await post(hub.gateway.url, { query }, await token({ roles: ['admin'] }));
    expect(admin.body.data).toEqual({ __schema: { queryType: { name: 'Query' } } });
    for (const role of ['cs_manager', 'sales_rep', 'marketing', 'finance'] as const) {
      const refused = await post(hub.gateway.url, { query }, await token({ roles: [role] }));
      expect(refused.status, role).toBe(403);
      expect(refused.body.errors?.[0]?.extensions?.['code'], role).toBe('FORBIDDEN');
      expect(refused.body.data ?? null, role).toBeNull();
    }
  });

  it('serves /healthz without a token and /readyz once the supergraph is loaded and subgraphs answer', async () => {
    expect(await (await fetch(`${base}/healthz`)).json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ ready: true, supergraphLoaded: true });
  });

  it('exposes request latency, errors by code and subgraph fetch latency on /metrics', async () => {
    await post(hub.gateway.url, { query: '{ customers { id openOpportunities } }' }, await token());
    await post(hub.gateway.url, { query: '{ customers { id } }' });
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(text).toMatch(/hub_http_request_duration_seconds_count\{[^}]*status="200"[^}]*\} [1-9]/);
    expect(text).toMatch(/hub_http_request_duration_seconds_count\{[^}]*status="401"[^}]*\} [1-9]/);
    expect(text).toMatch(/hub_graphql_errors_total\{[^}]*code="UNAUTHENTICATED"[^}]*\} [1-9]/);
    expect(text).toMatch(
      /hub_gateway_subgraph_fetch_duration_seconds_count\{[^}]*subgraph="customers"[^}]*outcome="ok"[^}]*\} [1-9]/,
    );
    expect(text).toMatch(
      /hub_gateway_subgraph_fetch_duration_seconds_count\{[^}]*subgraph="sales"[^}]*outcome="ok"[^}]*\} [1-9]/,
    );
  });

  it('answers a CORS preflight for the embedded Sandbox and echoes the request id header', async () => {
    const response = await fetch(hub.gateway.url, {
      method: 'OPTIONS',
      headers: { origin: 'https://sandbox.embed.apollographql.com', 'access-control-request-method': 'POST' },
    });
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe('https://sandbox.embed.apollographql.com');
    expect(response.headers.get('access-control-allow-headers')).toMatch(/authorization/);
    expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('the introspection policy hook', () => {
  let hub: TestHub;
  beforeAll(async () => {
    hub = await startTestHub({ introspection: false });
  });
  afterAll(async () => {
    await hub.stop();
  });

  it('refuses __schema and __type (even inside a fragment) with FORBIDDEN, but not __typename', async () => {
    const bearer = await token({ roles: ['admin'] });
    for (const query of [
      '{ __schema { types { name } } }',
      '{ ...F } fragment F on Query { __type(name: "Customer") { name } }',
    ]) {
      const result = await post(hub.gateway.url, { query }, bearer);
      expect(result.status).toBe(403);
      expect(result.body.errors?.[0]?.extensions?.['code']).toBe('FORBIDDEN');
    }
    const typename = await post(hub.gateway.url, { query: '{ __typename customers { __typename id } }' }, bearer);
    expect(typename.body.errors).toBeUndefined();
  });
});

describe('the APQ cache', () => {
  it('keeps at most maxEntries, evicting the least recently used', async () => {
    const cache = new BoundedLruCache(2);
    await cache.set('a', '1');
    await cache.set('b', '2');
    expect(await cache.get('a')).toBe('1');
    await cache.set('c', '3');
    expect(cache.size).toBe(2);
    expect(await cache.get('b')).toBeUndefined();
    expect(await cache.get('a')).toBe('1');
    expect(await cache.get('c')).toBe('3');
  });

  it('counts a synchronous peek as a use, and keeps an entry without a positive ttl until evicted', async () => {
    const cache = new BoundedLruCache(2);
    cache.put('a', '1', 0);
    cache.put('b', '2', -5);
    expect(cache.peek('a')).toBe('1');
    cache.put('c', '3');
    expect(cache.peek('b')).toBeUndefined();
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(cache.peek('a')).toBe('1');
    expect(await cache.delete('a')).toBe(true);
    expect(cache.size).toBe(1);
  });

  it('expires entries after their ttl', async () => {
    const cache = new BoundedLruCache(10);
    await cache.set('a', '1', { ttl: 0.001 });
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(await cache.get('a')).toBeUndefined();
  });
});
