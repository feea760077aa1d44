/**
 * The pages' sign-in at a real OpenID Connect provider (panva's `oidc-provider`, in this process on a
 * free port): authorization code + PKCE from the console, the provider's login and consent, the code
 * exchange, the access token the gateway verifies against the provider's JWKS (claims mapped by
 * `HUB_JWT_CLAIM_*`), its renewal with the refresh token before it expires, and the sign-out. Tokens
 * of another issuer, or of this one for another audience, are refused with 401 UNAUTHENTICATED.
 *
 * The whole hub runs as real processes (support/hub.ts); a second gateway process is configured to
 * trust the provider, the browser (Debian's Chromium) may reach the hub and the provider only.
 */
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import { exportJWK, generateKeyPair } from 'jose';
import Provider, { type Configuration } from 'oidc-provider';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePorts } from '@hub/core/process';
import { startHub, type Hub } from '../support/hub.js';
import { launchBrowser, type HubBrowser } from '../support/browser.js';

/** The hub's audience and the RFC 8707 resource the console asks the provider's access token for. */
const AUDIENCE = 'customer-data-hub';
const RESOURCE = 'urn:customer-data-hub';
const CLIENT_ID = 'hub-console';
/** The provider's custom claims are namespaced, as most providers require; the gateway maps them. */
const NS = 'https://hub.example.com/';
/** Short, so the page must renew during the test (30 s before expiry: after about 15 s). */
const ACCESS_TOKEN_TTL = 45;

/** The provider's people and the hub claims it issues for them. */
const ACCOUNTS: Record<string, { tenant: string; roles: string[]; book: string[] }> = {
  ada: { tenant: 'acme', roles: ['admin'], book: [] },
};

interface RunningProvider {
  issuer: string;
  server: Server;
}

async function startProvider(options: {
  redirectOrigin: string;
  clientCredentials?: boolean;
}): Promise<RunningProvider> {
  const [port] = await freePorts(1);
  const issuer = `http://127.0.0.1:${String(port)}`;
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const key = { ...(await exportJWK(privateKey)), kid: `test-${String(port)}`, alg: 'RS256', use: 'sig' };
  const pages = ['/console', '/graphiql'].map((page) => `${options.redirectOrigin}${page}`);
  const configuration: Configuration = {
    jwks: { keys: [key] },
    cookies: { keys: [randomBytes(32).toString('hex')] },
    clients: [
      {
        client_id: CLIENT_ID,
        token_endpoint_auth_method: 'none',
        redirect_uris: pages,
        post_logout_redirect_uris: pages,
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
      },
      {
        client_id: 'machine',
        client_secret: 'machine-secret-machine-secret-machine-secret',
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
      },
    ],
    pkce: { methods: ['S256'], required: () => true },
    features: {
      devInteractions: { enabled: true },
      clientCredentials: { enabled: options.clientCredentials ?? false },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => RESOURCE,
        useGrantedResource: () => true,
        getResourceServerInfo: () => ({
          scope: 'hub',
          audience: AUDIENCE,
          accessTokenFormat: 'jwt',
          accessTokenTTL: ACCESS_TOKEN_TTL,
          jwt: { sign: { alg: 'RS256' } },
        }),
      },
    },
    findAccount: (_ctx, sub) => ({ accountId: sub, claims: () => ({ sub }) }),
    extraTokenClaims: (_ctx, token) => {
      const account = ACCOUNTS['accountId' in token ? String(token.accountId) : ''] ?? ACCOUNTS['ada'];
      return account
        ? { [`${NS}tenant`]: account.tenant, [`${NS}roles`]: account.roles, [`${NS}book`]: account.book }
        : {};
    },
    // A public client gets a refresh token without offline_access: the console renews in the tab.
    issueRefreshToken: (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    clientBasedCORS: () => true,
  };
  const provider = new Provider(issuer, configuration);
  const server = await new Promise<Server>((resolve) => {
    const listening = provider.listen(port, '127.0.0.1', () => resolve(listening));
  });
  return { issuer, server };
}

let hub: Hub;
let idp: RunningProvider;
let other: RunningProvider;
let browser: HubBrowser;
let origin: string;

beforeAll(async () => {
  hub = await startHub();
  // The gateway's origin is known before it starts: the provider must list the pages' redirect URIs.
  const [gatewayPort] = await freePorts(1);
  // The gateway names itself localhost in its ready line.
  origin = `http://localhost:${String(gatewayPort)}`;
  idp = await startProvider({ redirectOrigin: origin });
  other = await startProvider({ redirectOrigin: origin, clientCredentials: true });
  await hub.startGateway({
    PORT: String(gatewayPort),
    HUB_JWKS_URL: `${idp.issuer}/jwks`,
    HUB_JWT_ISSUER: idp.issuer,
    HUB_JWT_AUDIENCE: AUDIENCE,
    HUB_JWT_CLAIM_TENANT: `${NS}tenant`,
    HUB_JWT_CLAIM_ROLES: `${NS}roles`,
    HUB_JWT_CLAIM_BOOK: `${NS}book`,
    HUB_OIDC_CLIENT_ID: CLIENT_ID,
    HUB_OIDC_SCOPES: 'openid hub',
    HUB_OIDC_RESOURCE: RESOURCE,
  });
  expect(new URL(hub.gatewayUrl).origin).toBe(origin);
  browser = await launchBrowser(origin, { allowOrigins: [idp.issuer] });
}, 600_000);
afterAll(async () => {
  await browser?.close();
  await hub?.stop();
  for (const provider of [idp, other]) await new Promise((resolve) => provider?.server.close(resolve));
});

const soon = { timeout: 20_000 };

async function graphql(authorization: string, query = '{ sync { product { status { domain } } } }') {
  const response = await fetch(hub.gatewayUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${authorization}` },
    body: JSON.stringify({ query }),
  });
  return {
    status: response.status,
    body: (await response.json()) as { data?: unknown; errors?: { extensions?: { code?: string } }[] },
  };
}

describe('sign-in at the identity provider (OIDC code + PKCE)', () => {
  let accessToken = '';
  let idToken = '';

  it('serves the pages the provider and client id, and lets them reach the provider only', async () => {
    const response = await fetch(`${origin}/ui/config.json`);
    expect(await response.json()).toEqual({
      oidc: { issuer: idp.issuer, clientId: CLIENT_ID, scopes: 'openid hub', resource: RESOURCE },
      claims: { tenant: `${NS}tenant`, roles: `${NS}roles`, domains: 'domains' },
    });
    const page = await fetch(`${origin}/console`);
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain(`connect-src 'self' ${idp.issuer};`);
    expect(csp).toContain("script-src 'self';");
  });

  it('signs in from the console, comes back with the code, and shows the graph for that identity', async () => {
    const { page, problems } = await browser.open(`${origin}/console?domain=product&interval=1000`);
    const authorize = page.waitForRequest((request) => request.url().startsWith(`${idp.issuer}/auth?`));
    await page.getByRole('button', { name: 'Sign in' }).click();
    const params = new URL((await authorize).url()).searchParams;
    expect(params.get('response_type')).toBe('code');
    expect(params.get('client_id')).toBe(CLIENT_ID);
    expect(params.get('redirect_uri')).toBe(`${origin}/console`);
    expect(params.get('code_challenge_method')).toBe('S256');
    expect(params.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(params.get('state')).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    expect(params.get('nonce')).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    expect(params.get('resource')).toBe(RESOURCE);

    // The provider's own login and consent pages (oidc-provider's development interactions).
    await page.waitForURL(`${idp.issuer}/interaction/**`);
    await page.locator('input[name="login"]').fill('ada');
    await page.locator('input[name="password"]').fill('any');
    await browser.screenshot(page, 'console-signin-provider');
    await page.locator('button[type="submit"]').click();
    await page.locator('button[type="submit"]', { hasText: /continue/i }).click();

    // Back on the console, the code exchanged and out of the address bar.
    await expect.poll(() => page.url(), soon).toBe(`${origin}/console?domain=product&interval=1000`);
    await expect.poll(() => page.getByTestId('credential').textContent(), soon).toContain('ada @ acme (admin)');
    await page.getByRole('button', { name: 'Sign out' }).waitFor(soon);
    // The live panel's subscription and the queries run with the provider's token.
    await expect.poll(() => page.getByTestId('live-state').textContent(), soon).toBe('live');
    await page.getByTestId('live-product').waitFor(soon);
    await browser.screenshot(page, 'console-signed-in');

    const stored = await page.evaluate(() => ({
      credential: JSON.parse(window.sessionStorage.getItem('hub.credential') ?? '{}') as { value?: string },
      session: JSON.parse(window.sessionStorage.getItem('hub.oidc.session') ?? '{}') as {
        idToken?: string;
        refreshToken?: string;
      },
      pending: window.sessionStorage.getItem('hub.oidc.pending'),
      local: window.localStorage.length,
    }));
    accessToken = stored.credential.value ?? '';
    idToken = stored.session.idToken ?? '';
    expect(stored.session.refreshToken).toBeTruthy();
    expect(stored.pending).toBeNull();
    expect(stored.local).toBe(0);

    // The gateway accepts the provider's access token as that identity.
    const answer = await graphql(accessToken);
    expect(answer.status).toBe(200);
    expect(answer.body.errors).toBeUndefined();

    // Before the token expires the page trades the refresh token for a new one and stays live.
    const before = accessToken;
    await expect
      .poll(
        () =>
          page.evaluate(
            () => (JSON.parse(window.sessionStorage.getItem('hub.credential') ?? '{}') as { value?: string }).value,
          ),
        { timeout: (ACCESS_TOKEN_TTL + 10) * 1000, interval: 1000 },
      )
      .not.toBe(before);
    await expect.poll(() => page.getByTestId('credential').textContent(), soon).toContain('ada @ acme (admin)');
    await expect.poll(() => page.getByTestId('live-state').textContent(), soon).toBe('live');
    const renewed = await page.evaluate(
      () => (JSON.parse(window.sessionStorage.getItem('hub.credential') ?? '{}') as { value?: string }).value ?? '',
    );
    expect((await graphql(renewed)).status).toBe(200);

    // Sign out: the tab forgets the tokens and the provider ends its session (the hint is the ID
    // token of the latest refresh).
    idToken = await page.evaluate(
      () =>
        (JSON.parse(window.sessionStorage.getItem('hub.oidc.session') ?? '{}') as { idToken?: string }).idToken ?? '',
    );
    expect(idToken).not.toBe(stored.session.idToken);
    const endSession = page.waitForRequest((request) => request.url().startsWith(`${idp.issuer}/session/end`));
    await page.getByRole('button', { name: 'Sign out' }).click();
    const logout = new URL((await endSession).url()).searchParams;
    expect(logout.get('id_token_hint')).toBe(idToken);
    expect(logout.get('post_logout_redirect_uri')).toBe(`${origin}/console`);
    expect(
      await page.evaluate(() => [
        window.sessionStorage.getItem('hub.credential'),
        window.sessionStorage.getItem('hub.oidc.session'),
      ]),
    ).toEqual([null, null]);

    // Only the provider's own pages (login, consent, logout) tried another origin: oidc-provider's
    // templates import Google Fonts, aborted here. Nothing the hub's pages asked for left the hub.
    for (const url of problems.offOrigin) expect(new URL(url).hostname).toBe('fonts.googleapis.com');
    expect(problems.errors.filter((error) => !error.includes('net::ERR_INTERNET_DISCONNECTED'))).toEqual([]);
    expect(problems.errors.length).toBeLessThanOrEqual(problems.offOrigin.length);
    await page.close();
  }, 180_000);

  it('refuses the provider’s ID token (another audience) and another provider’s token with 401', async () => {
    expect(idToken).not.toBe('');
    const wrongAudience = await graphql(idToken);
    expect(wrongAudience.status).toBe(401);
    expect(wrongAudience.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');

    // A real access token for the hub's audience with the hub's claims, from another issuer.
    const issued = await fetch(`${other.issuer}/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from('machine:machine-secret-machine-secret-machine-secret').toString('base64')}`,
      },
      body: new URLSearchParams({ grant_type: 'client_credentials', resource: RESOURCE, scope: 'hub' }),
    });
    expect(issued.status).toBe(200);
    const foreign = ((await issued.json()) as { access_token: string }).access_token;
    const claims = JSON.parse(Buffer.from(foreign.split('.')[1] ?? '', 'base64url').toString()) as Record<
      string,
      unknown
    >;
    expect(claims['iss']).toBe(other.issuer);
    expect(claims['aud']).toBe(AUDIENCE);
    const otherIssuer = await graphql(foreign);
    expect(otherIssuer.status).toBe(401);
    expect(otherIssuer.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});
