import { SignJWT, jwtVerify } from 'jose';

/** Header the gateway uses to hand the verified viewer to subgraphs (a short-lived JWS). */
export const VIEWER_HEADER = 'x-hub-viewer';
/** Header carrying the request id across the gateway into subgraphs and logs. */
export const REQUEST_ID_HEADER = 'x-request-id';

export const ROLES = ['admin', 'cs_manager', 'sales_rep', 'marketing', 'finance', 'partner', 'system'] as const;
export type Role = (typeof ROLES)[number];

/**
 * Who is asking. Built once per request at the gateway, verified once per request in each
 * subgraph, and passed to every resolver and loader. No row is read without `tenantId`.
 */
export interface Viewer {
  /** Subject: a user id, a partner key id, or `system` for gateway-internal calls. */
  readonly userId: string;
  /** Tenant every row read or written belongs to. `null` only for the `system` viewer. */
  readonly tenantId: string | null;
  readonly roles: readonly Role[];
  /** Owner ids whose customers form this viewer's book of business. */
  readonly book: readonly string[];
  /**
   * Row scope resolved by the gateway: `null` means every customer of the tenant (roles that see the
   * whole tenant); a list means only these customers (a book of business, a partner's grant).
   * The subgraph kit treats a missing scope of a book-scoped role as empty: it fails closed.
   */
  readonly customerIds: readonly string[] | null;
  /** Partner grant: the fields a partner may read, as `Type.field` or `Type.*`. */
  readonly grant?: { readonly fields: readonly string[] } | undefined;
  /** Partner app whose persisted-operation safelist applies. */
  readonly app?: string | undefined;
  readonly requestId: string;
}

const ISSUER = 'hub-gateway';
const AUDIENCE = 'hub-subgraph';
const encoder = new TextEncoder();

export interface ViewerSigner {
  sign(viewer: Viewer): Promise<string>;
}

export function createViewerSigner(secret: string, ttlSeconds = 60): ViewerSigner {
  const key = encoder.encode(secret);
  return {
    async sign(viewer) {
      return new SignJWT({ viewer })
        .setProtectedHeader({ alg: 'HS256' })
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setIssuedAt()
        .setExpirationTime(`${ttlSeconds}s`)
        .sign(key);
    },
  };
}

export class ViewerVerificationError extends Error {}

/** Verifies a viewer header; throws `ViewerVerificationError` on anything but a valid, fresh signature. */
export function createViewerVerifier(secret: string): (token: string | undefined) => Promise<Viewer> {
  const key = encoder.encode(secret);
  return async (token) => {
    if (!token) throw new ViewerVerificationError(`missing ${VIEWER_HEADER} header`);
    try {
      const { payload } = await jwtVerify(token, key, { issuer: ISSUER, audience: AUDIENCE, algorithms: ['HS256'] });
      const viewer = payload['viewer'] as Viewer | undefined;
      if (!viewer || typeof viewer.userId !== 'string' || !Array.isArray(viewer.roles)) {
        throw new ViewerVerificationError('malformed viewer claim');
      }
      return Object.freeze(viewer);
    } catch (error) {
      if (error instanceof ViewerVerificationError) throw error;
      throw new ViewerVerificationError(`invalid ${VIEWER_HEADER} signature`);
    }
  };
}

/** The gateway's own identity: composition (`_service`) without a tenant, or internal lookups within one. */
export function systemViewer(requestId: string, tenantId: string | null = null): Viewer {
  return { userId: 'system', tenantId, roles: ['system'], book: [], customerIds: null, requestId };
}

export function hasRole(viewer: Viewer, ...roles: Role[]): boolean {
  return viewer.roles.some((role) => roles.includes(role));
}
