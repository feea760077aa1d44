/**
 * The customers of a viewer's customer-scoped roles, resolved once per request at the gateway and
 * signed into the viewer as `customerIds`; each subgraph then decides per domain which of the
 * viewer's roles count (packages/core/src/authz.ts), so nobody asks again:
 *   a book role (cs_manager, sales_rep)  -> the customers whose owner is in the `book` claim, also
 *                                           beside a tenant-wide role (its rows do not become theirs)
 *   only tenant-wide roles               -> null (no list needed)
 *   anything else                        -> [] (fail closed; partners get theirs from the API key)
 */
import { BOOK_ROLES, TENANT_WIDE_ROLES } from '@hub/core/authz';
import { ErrorCode, hubError } from '@hub/core/errors';
import { hasRole, type Viewer } from '@hub/core/viewer';
import { BoundedLruCache } from './apqCache.js';
import { InternalLookupError, type InternalQuery } from './internal.js';

/** Book changes (reassignments) reach the viewer within this time. */
export const SCOPE_TTL_SECONDS = 30;
export const SCOPE_CACHE_SIZE = 10_000;

const VIEWER_SCOPE_QUERY = /* GraphQL */ `
  query ViewerScope($ownerIds: [ID!]!) {
    _viewerScope(ownerIds: $ownerIds)
  }
`;

export interface ScopeResolverOptions {
  /** Internal client of the customers subgraph. */
  readonly customers: InternalQuery;
  readonly ttlSeconds?: number;
  readonly maxEntries?: number;
  /** Told about every lookup that fails (the request itself gets a generic error). */
  readonly onFailure?: (reason: string, viewer: Viewer) => void;
}

export interface ScopeResolver {
  /** The viewer with `customerIds` set; throws a coded error (no data) when the lookup fails. */
  resolve(viewer: Viewer): Promise<Viewer>;
  /** Number of cached books (tests, metrics). */
  readonly size: number;
}

function scopeUnavailable(): Error {
  return hubError(ErrorCode.DownstreamServiceError, 'Your customer scope could not be resolved; try again shortly', {
    serviceName: 'customers',
    http: { status: 503 },
  });
}

export function createScopeResolver(options: ScopeResolverOptions): ScopeResolver {
  const ttl = options.ttlSeconds ?? SCOPE_TTL_SECONDS;
  const cache = new BoundedLruCache<readonly string[]>(options.maxEntries ?? SCOPE_CACHE_SIZE);

  async function bookScope(viewer: Viewer, tenantId: string): Promise<readonly string[]> {
    const book = [...new Set(viewer.book)].sort();
    if (book.length === 0) return [];
    // NUL cannot occur in a JWT string claim that is also a valid id, so the key is unambiguous.
    const key = [tenantId, ...book].join('\u0000');
    const cached = await cache.get(key);
    if (cached) return cached;
    let ids: readonly string[];
    try {
      const data = await options.customers<{ _viewerScope: string[] }>(
        VIEWER_SCOPE_QUERY,
        { ownerIds: book },
        { tenantId, requestId: viewer.requestId },
      );
      if (!Array.isArray(data._viewerScope)) throw new InternalLookupError('_viewerScope returned no list');
      ids = Object.freeze([...data._viewerScope]);
    } catch (error) {
      options.onFailure?.(error instanceof Error ? error.message : String(error), viewer);
      throw scopeUnavailable();
    }
    await cache.set(key, ids, { ttl });
    return ids;
  }

  return {
    async resolve(viewer) {
      if (viewer.tenantId !== null && hasRole(viewer, ...BOOK_ROLES)) {
        return Object.freeze({ ...viewer, customerIds: await bookScope(viewer, viewer.tenantId) });
      }
      const tenantWideOnly = viewer.roles.length > 0 && viewer.roles.every((role) => TENANT_WIDE_ROLES.includes(role));
      return Object.freeze({ ...viewer, customerIds: tenantWideOnly ? null : [] });
    },
    get size() {
      return cache.size;
    },
  };
}
