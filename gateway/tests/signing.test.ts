import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GATEWAY_PRINCIPAL, devKeyPair, generateSigningKeyPair } from '@hub/core/keys';
import { VIEWER_HEADER, createViewerSigner, createViewerVerifier, ViewerVerificationError } from '@hub/core/viewer';
import { startGateway } from '../src/server.js';
import { post, startCustomersSubgraph, startTestHub, testConfig, token, type TestHub } from './helpers.js';

describe('the signed viewer header', () => {
  it('round-trips through core’s verifier and is refused under another key', () => {
    const viewer = {
      userId: 'u1',
      tenantId: 'acme',
      roles: ['sales_rep' as const],
      book: ['u1'],
      requestId: 'r-1',
    };
    const dev = devKeyPair(GATEWAY_PRINCIPAL);
    const request = { query: '{ customers { id } }' };
    const signer = createViewerSigner({ issuer: GATEWAY_PRINCIPAL, privateKey: dev.privateKey });
    const verifier = createViewerVerifier({ audience: 'sales', gatewayKey: dev.publicKey });
    expect(verifier(signer.sign(viewer, 'sales', request), request)).toEqual(viewer);
    const elsewhere = createViewerVerifier({ audience: 'sales', gatewayKey: generateSigningKeyPair().publicKey });
    expect(() => elsewhere(signer.sign(viewer, 'sales', request), request)).toThrow(ViewerVerificationError);
  });
});

describe('the gateway signs every subgraph request', () => {
  let hub: TestHub;
  beforeAll(async () => {
    hub = await startTestHub();
  });
  afterAll(async () => {
    await hub.stop();
  });

  it('signed composition (introspection at start-up) as the system viewer', () => {
    const system = hub.customers.viewers.find((viewer) => viewer.userId === 'system');
    expect(system).toMatchObject({ tenantId: null, roles: ['system'] });
    expect(hub.customers.refused).toBe(0);
    expect(hub.sales.refused).toBe(0);
  });

  it('forwards the verified viewer and the caller’s request id to each subgraph of the plan', async () => {
    const bearer = await token({ user: 'u7', tenant: 'globex', roles: ['cs_manager'], book: ['u7', 'u2'] });
    const result = await post(hub.gateway.url, { query: '{ customers { id openOpportunities } }' }, bearer, {
      'x-request-id': 'trace-abc-123',
    });
    expect(result.status).toBe(200);
    expect(result.headers.get('x-request-id')).toBe('trace-abc-123');
    const expected = {
      userId: 'u7',
      tenantId: 'globex',
      roles: ['cs_manager'],
      // Who the viewer is, never its rows: each subgraph resolves the book from its own replica.
      book: ['u7', 'u2'],
      requestId: 'trace-abc-123',
    };
    expect(hub.customers.viewers.at(-1)).toEqual(expected);
    expect(hub.sales.viewers.at(-1)).toEqual(expected);
    expect(hub.customers.requestIds.at(-1)).toBe('trace-abc-123');
    expect(hub.sales.requestIds.at(-1)).toBe('trace-abc-123');
  });

  it('a subgraph refuses a request that does not carry the gateway signature', async () => {
    const direct = await fetch(hub.customers.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [VIEWER_HEADER]: 'forged' },
      body: JSON.stringify({ query: '{ customers { id } }' }),
    });
    expect(direct.status).toBe(401);
  });
});

describe('a gateway on the wrong key', () => {
  it('cannot compose: subgraphs refuse its signature, so start-up fails loudly', async () => {
    const customers = await startCustomersSubgraph(generateSigningKeyPair().publicKey);
    try {
      await expect(startGateway(testConfig([customers]))).rejects.toThrow(/customers/);
      expect(customers.refused).toBeGreaterThan(0);
    } finally {
      await customers.stop();
    }
  });
});
