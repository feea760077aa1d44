import { sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConfigError, EnvReader } from '../src/config.js';
import { DOMAINS } from '../src/domains.js';
import {
  GATEWAY_PRINCIPAL,
  devKeyPair,
  encodeKey,
  generateSigningKeyPair,
  isDevKey,
  parseSigningKey,
  readSigningKey,
} from '../src/keys.js';
import { ReplayCache } from '../src/replayCache.js';
import { subgraphConfigFromEnv } from '../src/subgraph.js';
import {
  CLOCK_SKEW_MS,
  VIEWER_TOKEN_TTL_MS,
  ViewerVerificationError,
  createViewerSigner,
  createViewerVerifier,
  requestHash,
  serviceIssuer,
  type SignedRequest,
  type Viewer,
} from '../src/viewer.js';

const viewer: Viewer = {
  userId: 'u1',
  tenantId: 'acme',
  roles: ['sales_rep'],
  book: ['u1'],
  requestId: 'r1',
};
const request: SignedRequest = {
  query: 'query Q($id: ID!, $n: Int) { customer(id: $id) { id } }',
  variables: { id: 'cust_00001', n: 3, nested: { b: 1, a: [{ y: 2, x: 1 }] } },
  operationName: 'Q',
};
const gateway = generateSigningKeyPair();
const sales = generateSigningKeyPair();

function setup(now = { t: 1_000_000 }) {
  const clock = () => now.t;
  const signer = createViewerSigner({ issuer: GATEWAY_PRINCIPAL, privateKey: gateway.privateKey, clock });
  const verify = createViewerVerifier({
    audience: 'sales',
    gatewayKey: gateway.publicKey,
    serviceKeys: { sales: sales.publicKey },
    clock,
  });
  return { now, signer, verify };
}

/** Re-encodes a token's claims after `change` and keeps the original signature. */
function tamper(token: string, change: (claims: Record<string, unknown>) => void): string {
  const [encoded = '', signature = ''] = token.split('.');
  const claims = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8')) as Record<string, unknown>;
  change(claims);
  return `${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${signature}`;
}

/** Runs `run` once: it must throw a ViewerVerificationError whose reason matches. */
const refused = (run: () => unknown, reason: RegExp) => {
  let thrown: unknown;
  try {
    run();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(ViewerVerificationError);
  expect((thrown as Error).message).toMatch(reason);
};

describe('viewer token: accepted once, for its audience and request', () => {
  it('round-trips the viewer; the variables’ key order does not matter', () => {
    const { signer, verify } = setup();
    const token = signer.sign(viewer, 'sales', request);
    const reordered = {
      operationName: 'Q',
      variables: { nested: { a: [{ x: 1, y: 2 }], b: 1 }, n: 3, id: 'cust_00001' },
    };
    expect(verify(token, { ...reordered, query: request.query })).toEqual(viewer);
  });

  it('missing variables and operation name hash like empty ones', () => {
    expect(requestHash({ query: '{ a }' })).toBe(requestHash({ query: '{ a }', variables: {}, operationName: null }));
    expect(requestHash({ query: '{ a }' })).not.toBe(requestHash({ query: '{ b }' }));
  });

  const otherRequests: [string, Record<string, unknown>][] = [
    ['another query', { ...request, query: '{ createApiKey { apiKey } }' }],
    ['another variable value', { ...request, variables: { ...request.variables, id: 'cust_00002' } }],
    ['an extra variable', { ...request, variables: { ...request.variables, extra: true } }],
    ['another operation name', { ...request, operationName: 'Other' }],
    ['no body', {}],
  ];
  it.each(otherRequests)('refuses the token with %s', (_name, body) => {
    const { signer, verify } = setup();
    refused(() => verify(signer.sign(viewer, 'sales', request), body), /another request/);
  });

  it.each(DOMAINS.filter((d) => d !== 'sales'))('refuses a token addressed to %s', (audience) => {
    const { signer, verify } = setup();
    refused(() => verify(signer.sign(viewer, audience, request), request), /addressed to/);
  });

  it('refuses a second use of the same token', () => {
    const { signer, verify } = setup();
    const token = signer.sign(viewer, 'sales', request);
    expect(verify(token, request)).toEqual(viewer);
    refused(() => verify(token, request), /already used/);
  });

  it('expires after its lifetime plus the clock skew, not before', () => {
    const { now, signer, verify } = setup();
    const early = signer.sign(viewer, 'sales', request);
    const late = signer.sign(viewer, 'sales', request);
    now.t += VIEWER_TOKEN_TTL_MS + CLOCK_SKEW_MS - 1;
    expect(verify(early, request)).toEqual(viewer);
    now.t += 1;
    refused(() => verify(late, request), /expired/);
  });

  it('refuses a token issued in the future or living longer than allowed', () => {
    const { now, verify } = setup();
    const future = createViewerSigner({
      issuer: GATEWAY_PRINCIPAL,
      privateKey: gateway.privateKey,
      clock: () => now.t + CLOCK_SKEW_MS + 1,
    });
    refused(() => verify(future.sign(viewer, 'sales', request), request), /future/);
    const long = createViewerSigner({
      issuer: GATEWAY_PRINCIPAL,
      privateKey: gateway.privateKey,
      ttlMs: 60_000,
      clock: () => now.t,
    });
    refused(() => verify(long.sign(viewer, 'sales', request), request), /lifetime/);
  });

  const tamperings: [string, (claims: Record<string, unknown>) => void][] = [
    ['roles raised to admin', (c) => ((c['viewer'] as Record<string, unknown>)['roles'] = ['admin'])],
    ['tenant swapped', (c) => ((c['viewer'] as Record<string, unknown>)['tenantId'] = 'globex')],
    ['book widened', (c) => ((c['viewer'] as Record<string, unknown>)['book'] = ['u1', 'u2'])],
    ['grant swapped', (c) => ((c['viewer'] as Record<string, unknown>)['grantId'] = 'key_other')],
    ['audience changed', (c) => (c['aud'] = 'customers')],
    ['expiry extended', (c) => (c['exp'] = Number(c['exp']) + 60_000)],
    ['jti changed', (c) => (c['jti'] = 'fresh')],
    ['request hash replaced', (c) => (c['req'] = requestHash({ query: '{ other }' }))],
  ];
  it.each(tamperings)('refuses a tampered payload: %s', (_name, change) => {
    const { signer, verify } = setup();
    refused(() => verify(tamper(signer.sign(viewer, 'sales', request), change), request), /bad signature/);
  });

  it('refuses a token signed with another key, and garbage', () => {
    const { verify } = setup();
    const impostor = createViewerSigner({ issuer: GATEWAY_PRINCIPAL, privateKey: generateSigningKeyPair().privateKey });
    refused(() => verify(impostor.sign(viewer, 'sales', request), request), /bad signature/);
    const dev = createViewerSigner({ issuer: GATEWAY_PRINCIPAL, privateKey: devKeyPair(GATEWAY_PRINCIPAL).privateKey });
    refused(() => verify(dev.sign(viewer, 'sales', request), request), /bad signature/);
    refused(() => verify(undefined, request), /missing/);
    for (const garbage of ['x', 'a.b.c', 'not-base64.!!', `${Buffer.from('[1]').toString('base64url')}.AA`]) {
      expect(() => verify(garbage, request)).toThrow(ViewerVerificationError);
    }
  });

  it('refuses a gateway token that claims the service role or carries a malformed viewer', () => {
    const { signer, verify } = setup();
    refused(() => verify(signer.sign({ ...viewer, roles: ['service'] }, 'sales', request), request), /roles/);
    refused(() => verify(signer.sign({ ...viewer, roles: ['root' as 'admin'] }, 'sales', request), request), /roles/);
    refused(() => verify(signer.sign({ ...viewer, book: 'all' as never }, 'sales', request), request), /book/);
    refused(() => verify(signer.sign({ ...viewer, grantId: 7 as never }, 'sales', request), request), /grant/);
  });

  it('keeps only the known claims: rows a token might carry never reach a resolver', () => {
    const { signer, verify } = setup();
    const smuggled = { ...viewer, customerIds: ['cust_00002'], grant: { fields: ['Customer.*'] } } as Viewer;
    const verified = verify(signer.sign(smuggled, 'sales', request), request);
    expect(verified).toEqual(viewer);
    expect(Object.keys(verified)).not.toContain('customerIds');
  });
});

describe('service tokens: a subgraph speaks only as itself', () => {
  it('a trusted service becomes its service principal, whatever viewer it signed', () => {
    const { verify } = setup();
    const service = createViewerSigner({ issuer: serviceIssuer('sales'), privateKey: sales.privateKey });
    const verifyAt = createViewerVerifier({
      audience: 'customers',
      gatewayKey: gateway.publicKey,
      serviceKeys: { sales: sales.publicKey },
    });
    const claimed = { ...viewer, userId: 'admin-1', roles: ['admin' as const] };
    expect(verifyAt(service.sign(claimed, 'customers', request), request)).toEqual({
      userId: 'service:sales',
      tenantId: 'acme',
      roles: ['service'],
      book: [],
      requestId: 'r1',
    });
    // Untrusted issuer (a key the callee does not hold), a service naming another service, no tenant.
    const marketing = createViewerSigner({ issuer: serviceIssuer('marketing'), privateKey: sales.privateKey });
    refused(() => verify(marketing.sign(viewer, 'sales', request), request), /untrusted issuer/);
    const claimsGateway = createViewerSigner({ issuer: GATEWAY_PRINCIPAL, privateKey: sales.privateKey });
    refused(() => verifyAt(claimsGateway.sign(viewer, 'customers', request), request), /bad signature/);
    refused(() => verifyAt(service.sign({ ...viewer, tenantId: null }, 'customers', request), request), /tenant/);
  });
});

describe('replay cache', () => {
  it('remembers ids until they expire and refuses new ones when full of live ids', () => {
    const now = { t: 0 };
    const cache = new ReplayCache({ maxEntries: 2, clock: () => now.t });
    expect(cache.use('a', 100)).toBe(true);
    expect(cache.use('a', 100)).toBe(false);
    expect(cache.use('b', 150)).toBe(true);
    expect(cache.use('c', 200)).toBe(false);
    now.t = 100;
    expect(cache.use('c', 200)).toBe(true);
    expect(cache.size).toBe(2);
    now.t = 99_999;
    expect(cache.use('a', 100_100)).toBe(true);
    expect(cache.size).toBe(1);
  });
});

describe('keys from the environment', () => {
  const pem = (key: Parameters<typeof encodeKey>[0], type: 'pkcs8' | 'spki') =>
    key.export({ format: 'pem', type }).toString();

  it('accepts PEM and base64 DER of the same key, and refuses other kinds of keys', () => {
    const pair = generateSigningKeyPair();
    expect(encodeKey(parseSigningKey(pem(pair.privateKey, 'pkcs8'), 'private'))).toBe(encodeKey(pair.privateKey));
    expect(encodeKey(parseSigningKey(encodeKey(pair.publicKey), 'public'))).toBe(encodeKey(pair.publicKey));
    expect(() => parseSigningKey(encodeKey(pair.publicKey), 'private')).toThrow(/private key/);
    expect(() => parseSigningKey('not a key', 'public')).toThrow(/public key/);
    const signature = sign(null, Buffer.from('x'), parseSigningKey(encodeKey(pair.privateKey), 'private'));
    expect(signature).toHaveLength(64);
  });

  it('development keys are deterministic and known; fresh keys are not', () => {
    expect(encodeKey(devKeyPair('gateway').publicKey)).toBe(encodeKey(devKeyPair('gateway').publicKey));
    expect(isDevKey(devKeyPair('health').privateKey)).toBe(true);
    expect(isDevKey(generateSigningKeyPair().publicKey)).toBe(false);
  });

  it('production refuses a development key and a missing required key, with the variable’s name', () => {
    const read = new EnvReader({ K: encodeKey(devKeyPair(GATEWAY_PRINCIPAL).privateKey) });
    const options = { devDefault: devKeyPair('gateway').privateKey, production: true, required: true };
    expect(readSigningKey(read, 'K', 'private', options)).toBeUndefined();
    expect(readSigningKey(read, 'MISSING', 'private', options)).toBeUndefined();
    expect(read.problems).toEqual([
      'K is a development key; production refuses it',
      'MISSING is required in production (an Ed25519 private key)',
    ]);
  });

  it('a production subgraph needs the gateway’s public key and its own private key, never dev ones', () => {
    const MASTER_KEY = Buffer.alloc(32, 9).toString('base64');
    const problems = (env: Record<string, string>) => {
      try {
        subgraphConfigFromEnv('sales', {
          NODE_ENV: 'production',
          DATABASE_URL: 'postgres://x/y',
          HUB_MASTER_KEY: MASTER_KEY,
          ...env,
        });
        return [];
      } catch (error) {
        return error instanceof ConfigError ? error.problems : [String(error)];
      }
    };
    expect(problems({})).toEqual([
      expect.stringMatching(/HUB_GATEWAY_PUBLIC_KEY is required/),
      expect.stringMatching(/HUB_SERVICE_PRIVATE_KEY is required/),
    ]);
    expect(
      problems({
        HUB_GATEWAY_PUBLIC_KEY: encodeKey(devKeyPair('gateway').publicKey),
        HUB_SERVICE_PRIVATE_KEY: encodeKey(devKeyPair('sales').privateKey),
        HUB_SERVICE_CUSTOMERS_PUBLIC_KEY: encodeKey(devKeyPair('customers').publicKey),
      }),
    ).toEqual([
      expect.stringMatching(/HUB_GATEWAY_PUBLIC_KEY is a development key/),
      expect.stringMatching(/HUB_SERVICE_PRIVATE_KEY is a development key/),
      expect.stringMatching(/HUB_SERVICE_CUSTOMERS_PUBLIC_KEY is a development key/),
    ]);
    expect(
      problems({
        HUB_GATEWAY_PUBLIC_KEY: encodeKey(gateway.publicKey),
        HUB_SERVICE_PRIVATE_KEY: encodeKey(sales.privateKey),
      }),
    ).toEqual([]);
    // Customers calls nobody: no service key of its own is needed.
    expect(() =>
      subgraphConfigFromEnv('customers', {
        NODE_ENV: 'production',
        DATABASE_URL: 'postgres://x/y',
        HUB_GATEWAY_PUBLIC_KEY: encodeKey(gateway.publicKey),
        HUB_MASTER_KEY: MASTER_KEY,
      }),
    ).not.toThrow();
    // Nor does production start without the master key of encryption at rest.
    expect(
      problems({
        HUB_GATEWAY_PUBLIC_KEY: encodeKey(gateway.publicKey),
        HUB_SERVICE_PRIVATE_KEY: encodeKey(sales.privateKey),
        HUB_MASTER_KEY: '',
      }),
    ).toEqual([expect.stringMatching(/HUB_MASTER_KEY is required in production/)]);
  });
});
