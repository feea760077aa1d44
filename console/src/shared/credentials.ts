/**
 * The hub's credentials in the browser, shared by every page: a person's bearer token (a JWT from
 * `npm run token` in development, an identity provider's in production) or an integration/partner
 * API key (`hub_…`, sent as `x-api-key`). Over HTTP they travel as headers, over graphql-ws in
 * `connection_init` — exactly what the gateway accepts from any other client (identify.ts,
 * live/transport.ts). Nothing here is a session of its own: the gateway verifies every request.
 *
 * Storage: the tab's sessionStorage by default; localStorage only when "remember" is ticked.
 * A token handed over in the URL (`#token=…`, or `?token=…` for convenience) is moved into storage
 * and removed from the address bar at once, so it stays out of history and Referer headers
 * (the gateway also sends `Referrer-Policy: no-referrer` and never logs page URLs).
 */

export type CredentialKind = 'bearer' | 'apiKey';

export interface Credential {
  readonly kind: CredentialKind;
  readonly value: string;
}

const STORAGE_KEY = 'hub.credential';
const URL_PARAMS = ['token', 'apikey'] as const;

/** `hub_…` is an API key; anything else a bearer token. A pasted `Bearer ` prefix is dropped. */
export function parseCredential(input: string, kind?: CredentialKind): Credential | undefined {
  const value = input.trim().replace(/^Bearer\s+/i, '');
  if (value === '') return undefined;
  return { kind: kind ?? (value.startsWith('hub_') ? 'apiKey' : 'bearer'), value };
}

function readStored(storage: Storage): Credential | undefined {
  try {
    const raw = storage.getItem(STORAGE_KEY);
    if (raw === null) return undefined;
    const parsed = JSON.parse(raw) as Partial<Credential>;
    if ((parsed.kind === 'bearer' || parsed.kind === 'apiKey') && typeof parsed.value === 'string') {
      return { kind: parsed.kind, value: parsed.value };
    }
  } catch {
    // A corrupt entry is as good as none.
  }
  return undefined;
}

/** Takes `token`/`apikey` out of the URL's fragment or query (and the address bar). */
function takeFromUrl(): Credential | undefined {
  const url = new URL(window.location.href);
  const fragment = new URLSearchParams(url.hash.replace(/^#/, ''));
  let found: Credential | undefined;
  for (const name of URL_PARAMS) {
    const value = fragment.get(name) ?? url.searchParams.get(name);
    if (value !== null && found === undefined) found = parseCredential(value, name === 'apikey' ? 'apiKey' : 'bearer');
    fragment.delete(name);
    url.searchParams.delete(name);
  }
  if (found === undefined) return undefined;
  url.hash = fragment.toString();
  window.history.replaceState(window.history.state, '', url.toString());
  return found;
}

/** Whether the stored credential lives in localStorage (survives the tab). */
export function isRemembered(): boolean {
  return readStored(window.localStorage) !== undefined;
}

export function saveCredential(credential: Credential, remember: boolean): void {
  const raw = JSON.stringify(credential);
  window.sessionStorage.setItem(STORAGE_KEY, raw);
  if (remember) window.localStorage.setItem(STORAGE_KEY, raw);
  else window.localStorage.removeItem(STORAGE_KEY);
}

export function clearCredential(): void {
  window.sessionStorage.removeItem(STORAGE_KEY);
  window.localStorage.removeItem(STORAGE_KEY);
}

/** The credential of this page: from the URL (then stored for the tab), the tab, or the browser. */
export function loadCredential(): Credential | undefined {
  const fromUrl = takeFromUrl();
  if (fromUrl !== undefined) {
    saveCredential(fromUrl, isRemembered());
    return fromUrl;
  }
  return readStored(window.sessionStorage) ?? readStored(window.localStorage);
}

/** HTTP headers for a GraphQL request. */
export function credentialHeaders(credential: Credential | undefined): Record<string, string> {
  if (credential === undefined) return {};
  return credential.kind === 'apiKey'
    ? { 'x-api-key': credential.value }
    : { authorization: `Bearer ${credential.value}` };
}

/** The graphql-ws `connection_init` payload (the gateway reads `authorization` or `x-api-key`). */
export function connectionParams(credential: Credential | undefined): Record<string, string> {
  return credentialHeaders(credential);
}

/** Which claims name the tenant, roles and domains (the gateway's `HUB_JWT_CLAIM_*`, from /ui/config.json). */
export interface ClaimNames {
  readonly tenant: string;
  readonly roles: string;
  readonly domains: string;
}
let claimNames: ClaimNames = { tenant: 'tenant', roles: 'roles', domains: 'domains' };

export function setClaimNames(names: ClaimNames): void {
  claimNames = { tenant: names.tenant, roles: names.roles, domains: names.domains };
}

/** The domains an integration token names (display only: the gateway decides). */
export function credentialDomains(credential: Credential | undefined): string[] | undefined {
  if (credential?.kind !== 'bearer') return undefined;
  const domains = decodeJwtClaims(credential.value)?.[claimNames.domains];
  return Array.isArray(domains) ? domains.map(String) : undefined;
}

/** The roles a bearer token claims (display only: the gateway decides). */
export function credentialRoles(credential: Credential | undefined): string[] | undefined {
  if (credential?.kind !== 'bearer') return undefined;
  const roles = decodeJwtClaims(credential.value)?.[claimNames.roles];
  return Array.isArray(roles) ? roles.map(String) : undefined;
}

/** What a person can tell about a bearer token without verifying it (display only). */
export function describeCredential(credential: Credential | undefined): string {
  if (credential === undefined) return 'no credential';
  if (credential.kind === 'apiKey') return `API key ${credential.value.slice(0, 8)}…`;
  const claims = decodeJwtClaims(credential.value);
  if (claims === undefined) return 'bearer token';
  const roles = credentialRoles(credential)?.join(', ') ?? '?';
  const exp = typeof claims['exp'] === 'number' ? new Date(claims['exp'] * 1000).toLocaleString() : '?';
  return `${String(claims['sub'] ?? '?')} @ ${String(claims[claimNames.tenant] ?? '?')} (${roles}), expires ${exp}`;
}

export function decodeJwtClaims(token: string): Record<string, unknown> | undefined {
  const part = token.split('.')[1];
  if (part === undefined) return undefined;
  try {
    const json = atob(part.replace(/-/g, '+').replace(/_/g, '/'));
    const parsed: unknown = JSON.parse(json);
    return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
