import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { DEV_JWT_SECRET } from '@hub/core/config';
import { AuthenticationError, createAuthenticator, requestIdFrom } from '../src/auth.js';
import { post, startTestHub, token, type TestHub } from './helpers.js';

const jwtConfig = {
  secret: DEV_JWT_SECRET,
  jwksUrl: undefined,
  issuer: 'customer-data-hub',
  audience: 'customer-data-hub',
};
const authenticate = createAuthenticator(jwtConfig);

async function rawToken(
  claims: Record<string, unknown>,
  options: { exp?: string | number; iat?: number | null; iss?: string; aud?: string; secret?: string } = {},
) {
  const jwt = new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer(options.iss ?? 'customer-data-hub')
    .setAudience(options.aud ?? 'customer-data-hub');
  // `iat: null` leaves the claim out; a number sets it; by default it is now.
  if (options.iat !== null) jwt.setIssuedAt(options.iat);
  if (options.exp !== undefined) jwt.setExpirationTime(options.exp);
  return jwt.sign(new TextEncoder().encode(options.secret ?? DEV_JWT_SECRET));
}

async function refusal(authorization: string | undefined): Promise<AuthenticationError> {
  const error = await authenticate(authorization, 'r1').then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(AuthenticationError);
  const authError = error as AuthenticationError;
  expect(authError.graphqlError.extensions['code']).toBe('UNAUTHENTICATED');
  expect(authError.graphqlError.extensions['http']).toEqual({ status: 401 });
  return authError;
}

describe('the authenticator', () => {
  it('turns a valid token into a viewer with user, tenant, roles, book and the request id', async () => {
    const viewer = await authenticate(`Bearer ${await token({ roles: ['cs_manager'], book: ['u3'] })}`, 'req-7');
    expect(viewer).toEqual({
      userId: 'u1',
      tenantId: 'acme',
      roles: ['cs_manager'],
      book: ['u3'],
      requestId: 'req-7',
    });
  });

  it('refuses a missing header, a non-bearer header and garbage', async () => {
    await refusal(undefined);
    await refusal('Basic dTE6cGFzcw==');
    await refusal('Bearer not.a.jwt');
  });

  it('refuses a token signed with another secret (forged)', async () => {
    const forged = await token({}, 'an-attacker-secret-that-is-long-enough-123');
    expect((await refusal(`Bearer ${forged}`)).reason).toMatch(/signature/i);
  });

  it('refuses an expired token and a token without expiry', async () => {
    const claims = { sub: 'u1', tenant: 'acme', roles: ['admin'] };
    await refusal(`Bearer ${await rawToken(claims, { exp: Math.floor(Date.now() / 1000) - 60 })}`);
    await refusal(`Bearer ${await rawToken(claims)}`);
  });

  // Issue time x lifetime, against the default maximum token age of 24 h.
  const now = () => Math.floor(Date.now() / 1000);
  const HOUR = 3600;
  const YEAR_2286 = Date.UTC(2286, 0, 1) / 1000;
  const ages: { iat: number | null | (() => number); label: string }[] = [
    { label: 'issued now', iat: () => now() },
    { label: 'issued 20 h ago', iat: () => now() - 20 * HOUR },
    { label: 'issued 25 h ago', iat: () => now() - 25 * HOUR },
    { label: 'issued in an hour', iat: () => now() + HOUR },
    { label: 'without iat', iat: null },
  ];
  const lifetimes: { label: string; exp: (iat: number) => number }[] = [
    { label: 'living 1 h', exp: (iat) => Math.max(iat, now()) + HOUR },
    { label: 'living 24 h', exp: (iat) => iat + 24 * HOUR },
    { label: 'expiring in 2286', exp: () => YEAR_2286 },
  ];
  for (const age of ages) {
    for (const lifetime of lifetimes) {
      const iat = typeof age.iat === 'function' ? age.iat() : age.iat;
      const accepted =
        iat !== null &&
        iat <= now() &&
        now() - iat <= 24 * HOUR &&
        lifetime.exp(iat) - iat <= 24 * HOUR &&
        lifetime.exp(iat) > now();
      it(`${accepted ? 'accepts' : 'refuses'} a token ${age.label}, ${lifetime.label}`, async () => {
        const issued = typeof age.iat === 'function' ? age.iat() : age.iat;
        const signed = await rawToken(
          { sub: 'u1', tenant: 'acme', roles: ['admin'] },
          { iat: issued, exp: lifetime.exp(issued ?? now()) },
        );
        if (accepted) expect(await authenticate(`Bearer ${signed}`, 'r1')).toMatchObject({ userId: 'u1' });
        else await refusal(`Bearer ${signed}`);
      });
    }
  }

  describe('a token accepted once (remembered for a minute: its time claims are checked on every use)', () => {
    afterEach(() => {
      vi.useRealTimers();
    });
    const claims = { sub: 'u1', tenant: 'acme', roles: ['admin'] };
    // Each case: the token, and how far the clock moves after its first (accepted) use.
    // (The maximum age cannot run out before the expiry: a longer lifetime is refused at once.)
    const cases: { label: string; sign: () => Promise<string>; laterSeconds: number }[] = [
      { label: 'past its expiry', sign: () => rawToken(claims, { exp: now() + 20 }), laterSeconds: 30 },
      {
        label: 'past its expiry, issued a day ago',
        sign: () => rawToken(claims, { iat: now() - 24 * HOUR + 10, exp: now() + 10 }),
        laterSeconds: 20,
      },
    ];
    for (const { label, sign, laterSeconds } of cases) {
      it(`is refused ${label}, although it was remembered`, async () => {
        const signed = await sign();
        const fresh = createAuthenticator(jwtConfig);
        await expect(fresh(`Bearer ${signed}`, 'r1')).resolves.toMatchObject({ userId: 'u1' });
        await expect(fresh(`Bearer ${signed}`, 'r2')).resolves.toMatchObject({ userId: 'u1', requestId: 'r2' });
        vi.useFakeTimers({ now: Date.now() + laterSeconds * 1000, toFake: ['Date'] });
        await expect(fresh(`Bearer ${signed}`, 'r3')).rejects.toBeInstanceOf(AuthenticationError);
      });
    }

    it('is not accepted by a gateway with another secret or audience because another one accepted it', async () => {
      const signed = await rawToken(claims, { exp: '1h' });
      await expect(authenticate(`Bearer ${signed}`, 'r1')).resolves.toMatchObject({ userId: 'u1' });
      const other = createAuthenticator({ ...jwtConfig, audience: 'another-app' });
      await expect(other(`Bearer ${signed}`, 'r1')).rejects.toBeInstanceOf(AuthenticationError);
    });
  });

  it('takes the maximum age from the config: 1 h refuses a 2 h token that 24 h accepts', async () => {
    const signed = await rawToken({ sub: 'u1', tenant: 'acme', roles: ['admin'] }, { exp: '2h' });
    await expect(authenticate(`Bearer ${signed}`, 'r1')).resolves.toMatchObject({ userId: 'u1' });
    const strict = createAuthenticator({ ...jwtConfig, maxAgeSeconds: HOUR });
    await expect(strict(`Bearer ${signed}`, 'r1')).rejects.toBeInstanceOf(AuthenticationError);
  });

  it('refuses the wrong issuer or audience', async () => {
    const claims = { sub: 'u1', tenant: 'acme', roles: ['admin'] };
    await refusal(`Bearer ${await rawToken(claims, { exp: '1h', iss: 'someone-else' })}`);
    await refusal(`Bearer ${await rawToken(claims, { exp: '1h', aud: 'another-app' })}`);
  });

  it('refuses tokens without a tenant, with unknown roles, or claiming the system role', async () => {
    await refusal(`Bearer ${await rawToken({ sub: 'u1', roles: ['admin'] }, { exp: '1h' })}`);
    await refusal(`Bearer ${await rawToken({ sub: 'u1', tenant: 'acme', roles: ['root'] }, { exp: '1h' })}`);
    await refusal(`Bearer ${await rawToken({ sub: 'u1', tenant: 'acme', roles: ['system'] }, { exp: '1h' })}`);
    await refusal(`Bearer ${await rawToken({ sub: 'u1', tenant: 'acme', roles: 'admin' }, { exp: '1h' })}`);
  });

  it('carries an integration token’s domains into the viewer, deduplicated and sorted', async () => {
    const jwt = await rawToken(
      { sub: 'crm', tenant: 'acme', roles: ['integration'], domains: ['product', 'finance', 'product'] },
      { exp: '1h' },
    );
    expect(await authenticate(`Bearer ${jwt}`, 'r1')).toEqual({
      userId: 'crm',
      tenantId: 'acme',
      roles: ['integration'],
      domains: ['finance', 'product'],
      book: [],
      requestId: 'r1',
    });
  });

  it.each([
    ['integration without domains', { roles: ['integration'] }],
    ['integration with an empty list', { roles: ['integration'], domains: [] }],
    ['an unknown domain', { roles: ['integration'], domains: ['product', 'billing'] }],
    ['domains that are not a list', { roles: ['integration'], domains: 'product' }],
    ['domains on another role', { roles: ['finance'], domains: ['finance'] }],
  ])('refuses a token with %s', async (_name, claims) => {
    const error = await refusal(`Bearer ${await rawToken({ sub: 'crm', tenant: 'acme', ...claims }, { exp: '1h' })}`);
    expect(error.reason).toMatch(/domains/);
  });

  it('reads the viewer from the claims HUB_JWT_CLAIM_* name (an identity provider’s namespaced claims)', async () => {
    const ns = 'https://hub.example.com/';
    const mapped = createAuthenticator({
      ...jwtConfig,
      claims: { tenant: `${ns}tenant`, roles: `${ns}roles`, book: `${ns}book`, domains: `${ns}domains` },
    });
    const claims = { sub: 'ada', [`${ns}tenant`]: 'acme', [`${ns}roles`]: ['cs_manager'], [`${ns}book`]: ['u3'] };
    expect(await mapped(`Bearer ${await rawToken(claims, { exp: '1h' })}`, 'r1')).toEqual({
      userId: 'ada',
      tenantId: 'acme',
      roles: ['cs_manager'],
      book: ['u3'],
      requestId: 'r1',
    });
    // The hub's own names mean nothing there: no tenant under the mapped name is refused.
    const plain = await rawToken({ sub: 'ada', tenant: 'acme', roles: ['admin'] }, { exp: '1h' });
    const error = await mapped(`Bearer ${plain}`, 'r2').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AuthenticationError);
    expect((error as AuthenticationError).reason).toBe(`claim "${ns}tenant" is missing`);
    const integration = await rawToken(
      { sub: 'crm', [`${ns}tenant`]: 'acme', [`${ns}roles`]: ['integration'], [`${ns}domains`]: ['product'] },
      { exp: '1h' },
    );
    expect(await mapped(`Bearer ${integration}`, 'r3')).toMatchObject({ roles: ['integration'], domains: ['product'] });
  });

  it('keeps a well-formed caller request id and replaces a malformed one', () => {
    expect(requestIdFrom('abc-123')).toBe('abc-123');
    expect(requestIdFrom('bad id\nforged log line')).toMatch(/^[0-9a-f-]{36}$/);
    expect(requestIdFrom(undefined)).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('the authenticator with a JWKS (production identity provider)', () => {
  it('accepts a token signed by a key of the JWKS and refuses an HS256 token', async () => {
    const { publicKey, privateKey } = await generateKeyPair('RS256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    const server = createServer((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const verify = createAuthenticator({
        ...jwtConfig,
        secret: undefined,
        jwksUrl: `http://127.0.0.1:${port}/jwks.json`,
      });
      const signed = await new SignJWT({ tenant: 'acme', roles: ['admin'] })
        .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
        .setSubject('u1')
        .setIssuer('customer-data-hub')
        .setAudience('customer-data-hub')
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(privateKey);
      expect(await verify(`Bearer ${signed}`, 'r1')).toMatchObject({
        userId: 'u1',
        tenantId: 'acme',
        roles: ['admin'],
      });
      await expect(verify(`Bearer ${await token()}`, 'r2')).rejects.toBeInstanceOf(AuthenticationError);
    } finally {
      server.close();
    }
  });
});

describe('the gateway over HTTP', () => {
  let hub: TestHub;
  beforeAll(async () => {
    hub = await startTestHub();
  });
  afterAll(async () => {
    await hub.stop();
  });

  const query = { query: '{ whoami customers { id name } }' };

  it('answers 401 UNAUTHENTICATED without a token', async () => {
    const result = await post(hub.gateway.url, query);
    expect(result.status).toBe(401);
    expect(result.body.errors?.[0]?.extensions?.['code']).toBe('UNAUTHENTICATED');
    expect(result.body.data ?? null).toBeNull();
  });

  it('answers 401 UNAUTHENTICATED to a forged, an expired and an everlasting token (exp in 2286)', async () => {
    const forged = await token({}, 'an-attacker-secret-that-is-long-enough-123');
    const expired = await rawToken(
      { sub: 'u1', tenant: 'acme', roles: ['admin'] },
      { exp: Math.floor(Date.now() / 1000) - 10 },
    );
    const everlasting = await rawToken(
      { sub: 'u1', tenant: 'acme', roles: ['admin'] },
      { exp: Date.UTC(2286, 0, 1) / 1000 },
    );
    for (const bearer of [forged, expired, everlasting]) {
      const result = await post(hub.gateway.url, query, bearer);
      expect(result.status).toBe(401);
      expect(result.body.errors?.[0]?.extensions?.['code']).toBe('UNAUTHENTICATED');
    }
  });

  it('refuses anonymous introspection too: every operation needs a viewer', async () => {
    const result = await post(hub.gateway.url, { query: '{ __schema { queryType { name } } }' });
    expect(result.status).toBe(401);
  });

  it('runs the operation for a valid token, as that viewer', async () => {
    const result = await post(hub.gateway.url, query, await token({ user: 'u9', tenant: 'globex' }));
    expect(result.status).toBe(200);
    expect(result.body.errors).toBeUndefined();
    expect(result.body.data).toEqual({
      whoami: 'u9@globex',
      customers: [
        { id: 'cust_00001', name: 'Blue Labs 1' },
        { id: 'cust_00002', name: 'North Labs 2' },
      ],
    });
  });

  it('serves the Sandbox landing page to a browser without a token', async () => {
    const response = await fetch(hub.gateway.url, { headers: { accept: 'text/html' } });
    expect(response.status).toBe(200);
    const html = await response.text();
    expect(html).toMatch(/embeddable-sandbox|EmbeddedSandbox/i);
  });

  it('refuses a simple GET without a preflight header (CSRF prevention)', async () => {
    const response = await fetch(`${hub.gateway.url}?query=${encodeURIComponent('{ whoami }')}`, {
      headers: { authorization: `Bearer ${await token()}` },
    });
    expect(response.status).toBe(400);
    expect(await response.text()).toMatch(/CSRF/);
  });
});
