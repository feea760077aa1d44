/**
 * Sign-in at the identity provider for every page (OIDC authorization code flow with PKCE, a public
 * client: no secret exists in the page). The protocol work — discovery, the S256 challenge, the
 * `state`/`nonce` checks, the ID token's claims, the token and refresh requests — is oauth4webapi's
 * (panva; spec-checked, no dependencies); this module only keeps the state between the redirects.
 *
 * What the gateway verifies is the provider's **access token** (a JWT for the hub's audience, checked
 * against `HUB_JWKS_URL`); it becomes the page's bearer credential like a pasted one. The ID token is
 * kept for the sign-out hint only.
 *
 * Storage: the tab's sessionStorage. The flow leaves the page and comes back, so the PKCE verifier,
 * `state` and `nonce` cannot live in memory; the tokens sit beside them so a reload keeps the
 * session. sessionStorage is one tab's (another tab signs in on its own), is gone when the tab
 * closes and is never sent anywhere; never localStorage ("remember" is for pasted tokens). What an
 * XSS could read there it could also use in memory; the pages' CSP (`script-src 'self'`) is the
 * defence against that.
 *
 * Expiry: 30 s before the access token expires, the refresh token (if the provider issued one) buys
 * a new one; without one, or when the refresh fails, the session ends and the page offers "Sign in"
 * again (the provider's own session usually makes that one redirect without a prompt).
 */
import * as oauth from 'oauth4webapi';
import { clearCredential, saveCredential, setClaimNames, type ClaimNames, type Credential } from './credentials.js';

/** `GET /ui/config.json` (gateway/src/ui.ts `pagesConfig`). */
export interface OidcConfig {
  readonly issuer: string;
  readonly clientId: string;
  readonly scopes: string;
  readonly resource: string | null;
}

interface Pending {
  readonly verifier: string;
  readonly state: string;
  readonly nonce: string;
  readonly redirectUri: string;
  /** The page's address when it left (its own parameters: `?domain=`, `?interval=`). */
  readonly returnTo: string;
}

export interface OidcSession {
  readonly idToken: string | undefined;
  readonly refreshToken: string | undefined;
  /** ms since the epoch. */
  readonly expiresAt: number;
}

const PENDING_KEY = 'hub.oidc.pending';
const SESSION_KEY = 'hub.oidc.session';
/** Renew this long before the access token expires. */
const RENEW_BEFORE_MS = 30_000;

/** The sign-in's settings, `undefined` when the gateway offers none; also sets the claim names shown. */
export async function loadOidcConfig(): Promise<OidcConfig | undefined> {
  const response = await fetch('/ui/config.json', { headers: { accept: 'application/json' } });
  if (!response.ok) return undefined;
  const body = (await response.json()) as { oidc?: OidcConfig | null; claims?: ClaimNames };
  if (body.claims !== undefined) setClaimNames(body.claims);
  return body.oidc ?? undefined;
}

/** An http issuer is accepted only on loopback (the gateway's config refuses it anywhere else). */
function requestOptions(config: OidcConfig): { [oauth.allowInsecureRequests]?: boolean } {
  return new URL(config.issuer).protocol === 'http:' ? { [oauth.allowInsecureRequests]: true } : {};
}

const servers = new Map<string, Promise<oauth.AuthorizationServer>>();

/** The provider's metadata (`/.well-known/openid-configuration`), fetched once per page. */
function discover(config: OidcConfig): Promise<oauth.AuthorizationServer> {
  let server = servers.get(config.issuer);
  if (server === undefined) {
    const issuer = new URL(config.issuer);
    server = oauth
      .discoveryRequest(issuer, { algorithm: 'oidc', ...requestOptions(config) })
      .then((response) => oauth.processDiscoveryResponse(issuer, response));
    server.catch(() => servers.delete(config.issuer));
    servers.set(config.issuer, server);
  }
  return server;
}

function read<T>(key: string): T | undefined {
  try {
    const raw = window.sessionStorage.getItem(key);
    return raw === null ? undefined : (JSON.parse(raw) as T);
  } catch {
    return undefined;
  }
}

/** The page itself, without its query and fragment: `<origin>/console` or `<origin>/graphiql`. */
function redirectUri(): string {
  return `${window.location.origin}${window.location.pathname}`;
}

function resourceParameters(config: OidcConfig): Record<string, string> {
  return config.resource === null ? {} : { resource: config.resource };
}

/** Leaves for the provider's login: authorization request with an S256 challenge, `state` and `nonce`. */
export async function signIn(config: OidcConfig): Promise<void> {
  const server = await discover(config);
  if (server.authorization_endpoint === undefined) throw new Error('the provider has no authorization endpoint');
  const pending: Pending = {
    verifier: oauth.generateRandomCodeVerifier(),
    state: oauth.generateRandomState(),
    nonce: oauth.generateRandomNonce(),
    redirectUri: redirectUri(),
    returnTo: `${window.location.pathname}${window.location.search}`,
  };
  const url = new URL(server.authorization_endpoint);
  const params: Record<string, string> = {
    client_id: config.clientId,
    redirect_uri: pending.redirectUri,
    response_type: 'code',
    scope: config.scopes,
    code_challenge: await oauth.calculatePKCECodeChallenge(pending.verifier),
    code_challenge_method: 'S256',
    state: pending.state,
    nonce: pending.nonce,
    ...resourceParameters(config),
  };
  for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value);
  window.sessionStorage.setItem(PENDING_KEY, JSON.stringify(pending));
  window.location.assign(url.toString());
}

function storeSession(result: oauth.TokenEndpointResponse, previous?: OidcSession): Credential {
  const session: OidcSession = {
    idToken: result.id_token ?? previous?.idToken,
    // A rotating provider sends a new refresh token; one that does not keeps the old one valid.
    refreshToken: result.refresh_token ?? previous?.refreshToken,
    expiresAt: Date.now() + (result.expires_in ?? 300) * 1000,
  };
  const credential: Credential = { kind: 'bearer', value: result.access_token };
  window.sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
  saveCredential(credential, false);
  return credential;
}

/**
 * The provider's redirect back (`?code=…&state=…` or `?error=…`), taken out of the address bar when
 * this module loads — before the page reads its own parameters — and replaced by the address the
 * page left from, so `?domain=` and the like survive the round trip.
 */
const callbackUrl: URL | undefined = (() => {
  const pending = read<Pending>(PENDING_KEY);
  const here = new URL(window.location.href);
  const params = here.searchParams;
  if (pending === undefined || !params.has('state') || !(params.has('code') || params.has('error'))) return undefined;
  const back = new URL(pending.returnTo, window.location.origin);
  window.history.replaceState(
    window.history.state,
    '',
    back.origin === here.origin && back.pathname === here.pathname ? back.toString() : here.pathname,
  );
  return here;
})();

/** Whether this page load is the provider's redirect back. */
export function isCallback(): boolean {
  return callbackUrl !== undefined;
}

/**
 * Finishes the sign-in on the redirect back: checks `state` (and the provider's error, if any),
 * exchanges the code with the PKCE verifier, checks the ID token's `nonce`, `iss` and `aud`, and
 * stores the access token as the tab's credential.
 */
export async function completeSignIn(config: OidcConfig): Promise<Credential> {
  const pending = read<Pending>(PENDING_KEY);
  window.sessionStorage.removeItem(PENDING_KEY);
  const current = callbackUrl;
  if (pending === undefined || current === undefined) throw new Error('no sign-in was started in this tab');
  const server = await discover(config);
  const client: oauth.Client = { client_id: config.clientId };
  const params = oauth.validateAuthResponse(server, client, current, pending.state);
  const response = await oauth.authorizationCodeGrantRequest(
    server,
    client,
    oauth.None(),
    params,
    pending.redirectUri,
    pending.verifier,
    { additionalParameters: resourceParameters(config), ...requestOptions(config) },
  );
  const result = await oauth.processAuthorizationCodeResponse(server, client, response, {
    expectedNonce: pending.nonce,
    requireIdToken: true,
  });
  return storeSession(result);
}

export function currentSession(): OidcSession | undefined {
  return read<OidcSession>(SESSION_KEY);
}

/** When to renew the session's access token (ms from now; 0: now). */
export function renewalDelay(session: OidcSession): number {
  return Math.max(0, session.expiresAt - RENEW_BEFORE_MS - Date.now());
}

/** A new access token from the refresh token; `undefined` when there is none (sign in again). */
export async function renew(config: OidcConfig): Promise<Credential | undefined> {
  const session = currentSession();
  if (session?.refreshToken === undefined) return undefined;
  const server = await discover(config);
  const client: oauth.Client = { client_id: config.clientId };
  const response = await oauth.refreshTokenGrantRequest(server, client, oauth.None(), session.refreshToken, {
    additionalParameters: resourceParameters(config),
    ...requestOptions(config),
  });
  return storeSession(await oauth.processRefreshTokenResponse(server, client, response), session);
}

/** Forgets the session in this tab (tokens and credential). */
export function endSession(): void {
  window.sessionStorage.removeItem(SESSION_KEY);
  window.sessionStorage.removeItem(PENDING_KEY);
  clearCredential();
}

/**
 * Signs out: forgets the tab's tokens, then ends the provider's session at its `end_session_endpoint`
 * (RP-initiated logout, back to this page) when it has one.
 */
export async function signOut(config: OidcConfig): Promise<void> {
  const session = currentSession();
  endSession();
  const server = await discover(config);
  if (server.end_session_endpoint === undefined) return;
  const url = new URL(server.end_session_endpoint);
  url.searchParams.set('client_id', config.clientId);
  url.searchParams.set('post_logout_redirect_uri', redirectUri());
  if (session?.idToken !== undefined) url.searchParams.set('id_token_hint', session.idToken);
  window.location.assign(url.toString());
}
