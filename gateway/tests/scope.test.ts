/**
 * The viewer's row scope: which roles need a book lookup, how lookups are cached, and that a failed
 * lookup fails the request closed. Lookups go over real HTTP to a small real customers subgraph.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GATEWAY_PRINCIPAL, devKeyPair, generateSigningKeyPair } from '@hub/core/keys';
import { createViewerSigner, type Role, type Viewer } from '@hub/core/viewer';
import { createInternalClient, type InternalQuery } from '../src/internal.js';
import { createScopeResolver } from '../src/scope.js';
import { post, startCustomersSubgraph, startTestHub, token, type FakeSubgraph, type TestHub } from './helpers.js';

const signer = createViewerSigner({ issuer: GATEWAY_PRINCIPAL, privateKey: devKeyPair(GATEWAY_PRINCIPAL).privateKey });

function viewer(roles: Role[], book: string[], tenantId = 'acme'): Viewer {
  return { userId: 'u1', tenantId, roles, book, customerIds: null, requestId: 'scope-test' };
}

/** The real internal client, counting the lookups that reach the subgraph. */
function counting(url: string): { query: InternalQuery; calls: { tenantId: string | null; variables: unknown }[] } {
  const real = createInternalClient({ url, audience: 'customers', signer });
  const calls: { tenantId: string | null; variables: unknown }[] = [];
  const query: InternalQuery = (text, variables, scope) => {
    calls.push({ tenantId: scope.tenantId, variables });
    return real(text, variables, scope);
  };
  return { query, calls };
}

describe('the scope resolver', () => {
  let customers: FakeSubgraph;
  beforeAll(async () => {
    customers = await startCustomersSubgraph();
  });
  afterAll(async () => {
    await customers.stop();
  });

  it('gives tenant-wide roles no list (null) and looks nothing up for them', async () => {
    const { query, calls } = counting(customers.url);
    const resolver = createScopeResolver({ customers: query });
    for (const role of ['admin', 'marketing', 'finance'] as const) {
      expect((await resolver.resolve(viewer([role], ['u1']))).customerIds).toBeNull();
    }
    expect(calls).toHaveLength(0);
  });

  it('still resolves the book of a book role beside a tenant-wide one (the subgraph decides per domain)', async () => {
    const { query, calls } = counting(customers.url);
    const resolver = createScopeResolver({ customers: query });
    for (const wide of ['admin', 'marketing', 'finance'] as const) {
      for (const book of ['sales_rep', 'cs_manager'] as const) {
        expect((await resolver.resolve(viewer([wide, book], ['u1']))).customerIds, `${wide}+${book}`).toEqual([
          'cust_00001',
        ]);
      }
    }
    expect(calls).toHaveLength(1);
  });

  it('resolves a book through _viewerScope as the system viewer of the tenant, once per tenant and book', async () => {
    const { query, calls } = counting(customers.url);
    const resolver = createScopeResolver({ customers: query });
    expect((await resolver.resolve(viewer(['sales_rep'], ['u2', 'u1']))).customerIds).toEqual([
      'cust_00001',
      'cust_00002',
    ]);
    expect((await resolver.resolve(viewer(['cs_manager'], ['u1', 'u2', 'u1']))).customerIds).toEqual([
      'cust_00001',
      'cust_00002',
    ]);
    expect(calls).toEqual([{ tenantId: 'acme', variables: { ownerIds: ['u1', 'u2'] } }]);
    const system = customers.viewers.at(-1);
    expect(system).toMatchObject({ userId: 'system', roles: ['system'], tenantId: 'acme', customerIds: null });

    // Another tenant's owner ids are other people: never served from acme's entry.
    await resolver.resolve(viewer(['sales_rep'], ['u1', 'u2'], 'globex'));
    expect(calls).toHaveLength(2);
    expect(calls[1]?.tenantId).toBe('globex');
    expect(resolver.size).toBe(2);
  });

  it('gives an empty book, a token partner and an unknown combination no customers, without a lookup', async () => {
    const { query, calls } = counting(customers.url);
    const resolver = createScopeResolver({ customers: query });
    expect((await resolver.resolve(viewer(['sales_rep'], []))).customerIds).toEqual([]);
    expect((await resolver.resolve(viewer(['partner'], ['u1']))).customerIds).toEqual([]);
    expect(calls).toHaveLength(0);
  });

  it('looks a book up again once its entry expires, and keeps at most maxEntries books', async () => {
    const { query, calls } = counting(customers.url);
    const resolver = createScopeResolver({ customers: query, ttlSeconds: 0.05, maxEntries: 2 });
    await resolver.resolve(viewer(['sales_rep'], ['u1']));
    await new Promise((resolve) => setTimeout(resolve, 80));
    await resolver.resolve(viewer(['sales_rep'], ['u1']));
    expect(calls).toHaveLength(2);
    await resolver.resolve(viewer(['sales_rep'], ['u2']));
    await resolver.resolve(viewer(['sales_rep'], ['u3']));
    expect(resolver.size).toBe(2);
  });

  it('fails closed when the lookup fails: a coded error, nothing cached, the reason reported', async () => {
    const failures: string[] = [];
    const down = createScopeResolver({
      customers: createInternalClient({
        url: 'http://127.0.0.1:9/graphql',
        audience: 'customers',
        signer,
        timeoutMs: 1000,
      }),
      onFailure: (reason) => failures.push(reason),
    });
    await expect(down.resolve(viewer(['sales_rep'], ['u1']))).rejects.toMatchObject({
      extensions: { code: 'DOWNSTREAM_SERVICE_ERROR' },
    });
    expect(down.size).toBe(0);
    expect(failures[0]).toMatch(/unreachable/);

    // A subgraph that answers, but with an error (here: an unsigned-looking request), is a failure too.
    const forged = createScopeResolver({
      customers: createInternalClient({
        url: customers.url,
        audience: 'customers',
        signer: createViewerSigner({ issuer: GATEWAY_PRINCIPAL, privateKey: generateSigningKeyPair().privateKey }),
      }),
    });
    await expect(forged.resolve(viewer(['cs_manager'], ['u1']))).rejects.toMatchObject({
      extensions: { code: 'DOWNSTREAM_SERVICE_ERROR' },
    });
  });
});

describe('the gateway when the scope lookup fails', () => {
  let hub: TestHub;
  beforeAll(async () => {
    hub = await startTestHub();
  });
  afterAll(async () => {
    await hub.stop();
  });

  it('answers a book-scoped viewer 503 without data and never calls the other subgraphs for it', async () => {
    await hub.customers.stop();
    const before = hub.sales.viewers.length;
    const result = await post(
      hub.gateway.url,
      { query: '{ pipelineTotal }' },
      await token({ roles: ['sales_rep'], book: ['u9'] }),
    );
    expect(result.status).toBe(503);
    expect(result.body.errors?.[0]?.extensions?.['code']).toBe('DOWNSTREAM_SERVICE_ERROR');
    expect(result.body.data ?? null).toBeNull();
    expect(hub.sales.viewers.length).toBe(before);

    // A tenant-wide viewer needs no lookup and still reads the subgraphs that are up.
    const admin = await post(hub.gateway.url, { query: '{ pipelineTotal }' }, await token({ roles: ['admin'] }));
    expect(admin.body).toEqual({ data: { pipelineTotal: 42 } });
  });
});
