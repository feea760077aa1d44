/**
 * API-key authentication: `x-api-key: hub_…` -> sha256 -> the customers subgraph's internal
 * `_apiKeyByHash` -> a partner viewer of the key's tenant, grant id and app, or, for a
 * key with domains, an integration viewer writing those domains of the key's tenant.
 */
import { ErrorCode, hubError, unauthenticated } from '@hub/core/errors';
import { checkDomainsClaim, type Viewer } from '@hub/core/viewer';
import { API_KEY_SECRET_PREFIX, hashApiKeySecret, type ApiKeyGrant } from '@hub/core/apiKeys';
import { BoundedLruCache } from './apqCache.js';
import { AuthenticationError } from './auth.js';
import type { InternalQuery } from './internal.js';

export const API_KEY_HEADER = 'x-api-key';
/** A revoked key keeps working for at most this long (the cache holds only active keys). */
export const API_KEY_TTL_SECONDS = 30;
export const API_KEY_CACHE_SIZE = 10_000;
/** `hub_` + 43 base64url characters; anything far off is refused without a lookup. */
const SECRET_RE = /^hub_[A-Za-z0-9_-]{20,100}$/;

const API_KEY_BY_HASH_QUERY = /* GraphQL */ `
  query ApiKeyByHash($hash: String!) {
    _apiKeyByHash(hash: $hash) {
      id
      tenantId
      name
      app
      customerIds
      fields
      domains
    }
  }
`;

export type ApiKeyAuthenticator = (secret: string, requestId: string) => Promise<Viewer>;

export interface ApiKeyAuthenticatorOptions {
  /** Internal client of the customers subgraph. */
  readonly customers: InternalQuery;
  readonly ttlSeconds?: number;
  readonly maxEntries?: number;
}

function refuse(reason: string): never {
  throw new AuthenticationError(reason, unauthenticated('Invalid or revoked API key'));
}

/**
 * The partner viewer of a key: its tenant, app and grant id. Not its customers or fields: each
 * subgraph reads the grant from its local replica (packages/core/src/replica.ts), so a grant of
 * 1,000 customers costs the header nothing, and a revoked grant reads nothing anywhere at once.
 */
export function partnerViewer(grant: ApiKeyGrant, requestId: string): Viewer {
  if (grant.app === null) refuse(`API key ${grant.id} has neither an app nor domains`);
  return Object.freeze({
    userId: `apikey:${grant.id}`,
    tenantId: grant.tenantId,
    roles: ['partner'] as const,
    book: [],
    grantId: grant.id,
    app: grant.app,
    requestId,
  });
}

/**
 * The integration viewer of a key with domains: tenant-wide in its tenant, no
 * app (so no safelist: it sends its own sync mutations), the role counting only in those domains.
 */
export function integrationViewer(grant: ApiKeyGrant, requestId: string): Viewer {
  const domains = checkDomainsClaim(['integration'], grant.domains);
  if (!domains.ok || !domains.domains) refuse(`API key ${grant.id}: ${domains.ok ? 'no domains' : domains.reason}`);
  return Object.freeze({
    userId: `apikey:${grant.id}`,
    tenantId: grant.tenantId,
    roles: ['integration'] as const,
    domains: Object.freeze(domains.domains),
    book: [],
    requestId,
  });
}

/** The viewer a key stands for: an integration account when it names domains, else a partner. */
export function apiKeyViewer(grant: ApiKeyGrant, requestId: string): Viewer {
  return grant.domains.length > 0 ? integrationViewer(grant, requestId) : partnerViewer(grant, requestId);
}

/**
 * Resolves API keys, caching each active key for `ttlSeconds` in a bounded LRU keyed by the
 * hash (never the secret). Unknown, malformed and revoked keys -> UNAUTHENTICATED (401). A lookup
 * that fails (customers subgraph down) -> DOWNSTREAM_SERVICE_ERROR (503): fail closed.
 */
export function createApiKeyAuthenticator(options: ApiKeyAuthenticatorOptions): ApiKeyAuthenticator {
  const ttl = options.ttlSeconds ?? API_KEY_TTL_SECONDS;
  const cache = new BoundedLruCache<ApiKeyGrant>(options.maxEntries ?? API_KEY_CACHE_SIZE);

  return async (secret, requestId) => {
    if (!secret.startsWith(API_KEY_SECRET_PREFIX) || !SECRET_RE.test(secret)) refuse('malformed API key');
    const hash = hashApiKeySecret(secret);
    let grant = await cache.get(hash);
    if (!grant) {
      let data: { _apiKeyByHash: ApiKeyGrant | null };
      try {
        data = await options.customers(API_KEY_BY_HASH_QUERY, { hash }, { tenantId: null, requestId });
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        throw new AuthenticationError(
          `API key lookup failed: ${reason}`,
          hubError(ErrorCode.DownstreamServiceError, 'API keys cannot be checked right now; try again shortly', {
            serviceName: 'customers',
            http: { status: 503 },
          }),
        );
      }
      if (!data._apiKeyByHash) refuse(`unknown or revoked API key ${secret.slice(0, 8)}…`);
      grant = data._apiKeyByHash;
      await cache.set(hash, grant, { ttl });
    }
    return apiKeyViewer(grant, requestId);
  };
}
