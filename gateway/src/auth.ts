import { randomUUID } from 'node:crypto';
import { createRemoteJWKSet, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { unauthenticated } from '@hub/core/errors';
import { checkDomainsClaim, ROLES, type Role, type Viewer } from '@hub/core/viewer';
import type { GraphQLError } from 'graphql';
import { BoundedLruCache } from './apqCache.js';
import { DEFAULT_CLAIM_NAMES, type ClaimNames, type JwtConfig } from './config.js';

/**
 * Roles a bearer token may claim. `system` is the gateway's own identity and `service` a subgraph's;
 * neither ever comes from outside.
 */
const TOKEN_ROLES: readonly Role[] = ROLES.filter((role) => role !== 'system' && role !== 'service');

/** Asymmetric algorithms accepted from an identity provider's JWKS. */
const JWKS_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'EdDSA'];

/** Small clock skew between the token issuer and this process. */
const CLOCK_TOLERANCE_SECONDS = 5;

/** A token older than this, or issued to live longer, is refused (`HUB_JWT_MAX_AGE`). */
export const DEFAULT_MAX_TOKEN_AGE_SECONDS = 24 * 3600;

/** A request id we accept from the caller; anything else is replaced so logs cannot be forged. */
const REQUEST_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

export function requestIdFrom(header: string | string[] | undefined): string {
  const value = Array.isArray(header) ? header[0] : header;
  return value !== undefined && REQUEST_ID_PATTERN.test(value) ? value : randomUUID();
}

export type Authenticator = (authorization: string | undefined, requestId: string) => Promise<Viewer>;

/** Why a token was refused, for the logs only: the client always gets the same generic message. */
export class AuthenticationError extends Error {
  constructor(
    readonly reason: string,
    readonly graphqlError: GraphQLError,
  ) {
    super(reason);
    this.name = 'AuthenticationError';
  }
}

function refuse(reason: string, message = 'Invalid or expired token'): never {
  throw new AuthenticationError(reason, unauthenticated(message));
}

function stringArray(value: unknown, claim: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) {
    refuse(`claim "${claim}" must be an array of strings`);
  }
  return value;
}

/**
 * Turns verified JWT claims into the viewer every subgraph receives. `names` maps the viewer's fields
 * to the token's claims (an identity provider's namespaced custom claims, `HUB_JWT_CLAIM_*`); the
 * values must have the hub's own shape, nothing is translated.
 */
export function viewerFromClaims(
  payload: JWTPayload,
  requestId: string,
  names: ClaimNames = DEFAULT_CLAIM_NAMES,
): Viewer {
  const userId = payload.sub;
  if (typeof userId !== 'string' || userId === '') refuse('claim "sub" is missing');
  const tenantId = payload[names.tenant];
  if (typeof tenantId !== 'string' || tenantId === '') refuse(`claim "${names.tenant}" is missing`);
  const roles = stringArray(payload[names.roles], names.roles);
  if (roles.length === 0) refuse(`claim "${names.roles}" is empty`);
  const unknown = roles.filter((role) => !(TOKEN_ROLES as readonly string[]).includes(role));
  if (unknown.length > 0) refuse(`claim "${names.roles}" has unknown roles: ${unknown.join(', ')}`);
  // An integration account writes only the domains its token names; a token naming none is refused.
  const domains = checkDomainsClaim(roles, payload[names.domains]);
  if (!domains.ok) refuse(`claim "${names.domains}": ${domains.reason}`);
  return Object.freeze({
    userId,
    tenantId,
    roles: roles as Role[],
    ...(domains.domains ? { domains: Object.freeze(domains.domains) } : {}),
    book: stringArray(payload[names.book], names.book),
    requestId,
  });
}

/** Verified tokens kept (by their exact text) so a client's next requests skip the signature check. */
const VERIFIED_TOKENS = 4096;
/**
 * How long a verified token is taken on trust before its signature is checked again: bounds how long
 * a key removed from the identity provider's JWKS still admits the tokens it signed.
 */
const VERIFIED_TTL_SECONDS = 60;

/** The checks of jwtVerify that depend on the time (expiry, not-before, maximum age), as jose does them. */
function stillValid(payload: JWTPayload, maxAgeSeconds: number): boolean {
  const now = Math.floor(Date.now() / 1000);
  if (typeof payload.exp !== 'number' || payload.exp <= now - CLOCK_TOLERANCE_SECONDS) return false;
  if (typeof payload.nbf === 'number' && payload.nbf > now + CLOCK_TOLERANCE_SECONDS) return false;
  return typeof payload.iat === 'number' && now - payload.iat - CLOCK_TOLERANCE_SECONDS <= maxAgeSeconds;
}

/**
 * Verifies `Authorization: Bearer <JWT>`: signature (HS256 shared secret, or the identity
 * provider's JWKS when configured), issuer, audience, a mandatory expiry and a mandatory issue
 * time no older than the maximum token age. A token issued to live longer than that age (an `exp`
 * in 2286) is refused too: an expiry far away makes a stolen token good forever.
 * Every failure is `UNAUTHENTICATED` with HTTP 401. A token that passed (and whose claims made a
 * viewer) is remembered for VERIFIED_TTL_SECONDS, its time claims checked on every use.
 */
export function createAuthenticator(config: JwtConfig): Authenticator {
  let key: Uint8Array | JWTVerifyGetKey;
  let algorithms: string[];
  if (config.jwksUrl !== undefined) {
    key = createRemoteJWKSet(new URL(config.jwksUrl));
    algorithms = JWKS_ALGORITHMS;
  } else if (config.secret !== undefined) {
    key = new TextEncoder().encode(config.secret);
    algorithms = ['HS256'];
  } else {
    throw new Error('JWT verification needs HUB_JWT_SECRET or HUB_JWKS_URL');
  }
  const maxAgeSeconds = config.maxAgeSeconds ?? DEFAULT_MAX_TOKEN_AGE_SECONDS;
  const options = {
    issuer: config.issuer,
    audience: config.audience,
    algorithms,
    requiredClaims: ['exp', 'iat', 'sub'],
    // jose checks now - iat (and refuses an iat in the future); the lifetime is checked below.
    maxTokenAge: maxAgeSeconds,
    clockTolerance: CLOCK_TOLERANCE_SECONDS,
  };
  const verified = new BoundedLruCache<JWTPayload>(VERIFIED_TOKENS);

  return async (authorization, requestId) => {
    if (authorization === undefined || authorization === '') {
      refuse('no Authorization header', 'Authentication required: send Authorization: Bearer <token>');
    }
    const match = /^Bearer\s+(\S+)$/i.exec(authorization);
    const token = match?.[1];
    if (token === undefined)
      refuse('Authorization header is not a Bearer token', 'Authorization must be a Bearer token');
    // The signature, issuer and audience of the same text cannot change: a token verified in the last
    // minute has only its time claims checked again (a token past them is verified afresh, and refused).
    const known = verified.peek(token);
    if (known && stillValid(known, maxAgeSeconds)) return viewerFromClaims(known, requestId, config.claims);
    let payload: JWTPayload;
    try {
      // Both overloads of jwtVerify take the same options; the union needs one call per key kind.
      payload = (
        typeof key === 'function' ? await jwtVerify(token, key, options) : await jwtVerify(token, key, options)
      ).payload;
    } catch (error) {
      const code = typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : 'unknown';
      refuse(`token rejected (${code})`);
    }
    // Both are numbers: jose validated them as required NumericDate claims.
    const lifetime = (payload.exp ?? 0) - (payload.iat ?? 0);
    if (lifetime > maxAgeSeconds + CLOCK_TOLERANCE_SECONDS) {
      refuse(`token lifetime ${lifetime}s exceeds the maximum token age ${maxAgeSeconds}s`);
    }
    const viewer = viewerFromClaims(payload, requestId, config.claims);
    verified.put(token, payload, VERIFIED_TTL_SECONDS);
    return viewer;
  };
}
