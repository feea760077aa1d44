import { createHash, randomUUID, sign, verify, type KeyObject } from 'node:crypto';
import { DOMAINS, type Domain } from './domains.js';
import { GATEWAY_PRINCIPAL } from './keys.js';
import { ReplayCache } from './replayCache.js';
import { canonicalJson } from './canonicalJson.js';

/** Header carrying the viewer to a subgraph: a single-use Ed25519 token addressed to it (see createViewerSigner). */
export const VIEWER_HEADER = 'x-hub-viewer';
/** Header carrying the request id across the gateway into subgraphs and logs. */
export const REQUEST_ID_HEADER = 'x-request-id';

export const ROLES = [
  'admin',
  'cs_manager',
  'sales_rep',
  'marketing',
  'finance',
  'partner',
  'integration',
  'system',
  'service',
] as const;
export type Role = (typeof ROLES)[number];

/**
 * Who is asking. Built once per request at the gateway, verified once per request in each
 * subgraph, and passed to every resolver and loader. No row is read without `tenantId`.
 */
export interface Viewer {
  /** Subject: a user id, a partner key id, `system` for gateway-internal calls, `service:<subgraph>`. */
  readonly userId: string;
  /** Tenant every row read or written belongs to. `null` only for the `system` viewer. */
  readonly tenantId: string | null;
  readonly roles: readonly Role[];
  /** Owner ids whose customers form this viewer's book of business. */
  readonly book: readonly string[];
  /**
   * Partner grant: the API key id whose grant (customers, fields) each subgraph reads from its local
   * replica (packages/core/src/replica.ts). The viewer never carries a list of rows: its size does
   * not grow with a book of business or a grant.
   */
  readonly grantId?: string | undefined;
  /** Partner app whose persisted-operation safelist applies. */
  readonly app?: string | undefined;
  /**
   * The domains an `integration` viewer may write (its token's or API key's `domains` claim); the
   * role counts in no other domain (packages/core/src/authz.ts). Set only, and always, with that role.
   */
  readonly domains?: readonly Domain[] | undefined;
  readonly requestId: string;
}

/**
 * A viewer with its rows, resolved by each subgraph from its own store (the local customer replica,
 * packages/core/src/replica.ts) once per request; never signed and never sent.
 */
export interface ScopedViewer extends Viewer {
  /**
   * `null`: every customer of the tenant (only tenant-wide roles); a list: only these customers (a
   * book of business, a partner's grant). A book-scoped role without a list sees nothing: fail closed.
   */
  readonly customerIds: readonly string[] | null;
  /** Partner grant: the fields a partner may read, as `Type.field` or `Type.*` (from the replica). */
  readonly grant?: { readonly fields: readonly string[] } | undefined;
}

/**
 * Checks a `domains` claim for `roles` and returns it deduplicated and sorted, or a reason to refuse:
 * the `integration` role needs a non-empty list of known domains, and no other role carries one.
 * Shared by the gateway (bearer tokens, API keys), the dev token CLI and the viewer verifier here.
 */
export function checkDomainsClaim(
  roles: readonly string[],
  domains: unknown,
): { ok: true; domains: Domain[] | undefined } | { ok: false; reason: string } {
  const integration = roles.includes('integration');
  if (domains === undefined || domains === null)
    return integration
      ? { ok: false, reason: 'the integration role needs a non-empty domains claim' }
      : { ok: true, domains: undefined };
  if (!Array.isArray(domains) || !domains.every((item) => typeof item === 'string'))
    return { ok: false, reason: 'domains must be a list of domain names' };
  if (!integration) return { ok: false, reason: 'only the integration role carries domains' };
  if (domains.length === 0) return { ok: false, reason: 'the integration role needs at least one domain' };
  const unknown = domains.filter((domain) => !(DOMAINS as readonly string[]).includes(domain));
  if (unknown.length > 0)
    return { ok: false, reason: `unknown domain(s) ${unknown.join(', ')}; known: ${DOMAINS.join(', ')}` };
  return { ok: true, domains: [...new Set(domains as Domain[])].sort() };
}

/** How long a viewer token lives: it is signed per fetch, just before it is sent. */
export const VIEWER_TOKEN_TTL_MS = 5_000;
/** Clock difference tolerated between signer and verifier (issued-at and expiry). */
export const CLOCK_SKEW_MS = 1_000;
/** Headers are small; anything longer than this is not ours. */
const MAX_TOKEN_LENGTH = 64 * 1024;

const SERVICE_PREFIX = 'service:';

/** The issuer of a subgraph's own calls to another subgraph. */
export function serviceIssuer(service: string): string {
  return `${SERVICE_PREFIX}${service}`;
}

/** The subgraph a service issuer names (`service:sales` -> `sales`), else undefined. */
export function serviceOf(issuer: string): string | undefined {
  return issuer.startsWith(SERVICE_PREFIX) ? issuer.slice(SERVICE_PREFIX.length) : undefined;
}

/** The request a token is bound to, as sent (gateway) and as received (subgraph). */
export interface SignedRequest {
  readonly query?: string | null | undefined;
  readonly variables?: Readonly<Record<string, unknown>> | null | undefined;
  readonly operationName?: string | null | undefined;
}

/** sha256 (base64url) of the canonical JSON of query, variables and operation name. */
export function requestHash(request: SignedRequest): string {
  const canonical = canonicalJson({
    query: request.query ?? null,
    variables: request.variables ?? {},
    operationName: request.operationName ?? null,
  });
  return createHash('sha256').update(canonical).digest('base64url');
}

interface TokenClaims {
  /** `gateway`, or `service:<subgraph>` for a subgraph's own call. */
  iss: string;
  /** The one subgraph the token is addressed to. */
  aud: string;
  /** requestHash of the one request it was signed for. */
  req: string;
  jti: string;
  /** Issued at / expires, in milliseconds since the epoch (lifetimes are a few seconds). */
  iat: number;
  exp: number;
  viewer: Viewer;
}

export interface ViewerSigner {
  readonly issuer: string;
  /** A token for `viewer`, addressed to subgraph `audience`, valid once for `request`. */
  sign(viewer: Viewer, audience: string, request: SignedRequest): string;
}

export interface ViewerSignerOptions {
  /** `gateway`, or `serviceIssuer(<subgraph>)`. */
  readonly issuer: string;
  readonly privateKey: KeyObject;
  /** @default VIEWER_TOKEN_TTL_MS */
  readonly ttlMs?: number;
  /** @default Date.now */
  readonly clock?: () => number;
}

/**
 * Token: `base64url(JSON claims).base64url(Ed25519 signature of the first part)`. Not a JWS: one
 * algorithm, no header to negotiate it, and node:crypto does it in microseconds (scripts/bench-signing.ts).
 */
export function createViewerSigner(options: ViewerSignerOptions): ViewerSigner {
  const ttlMs = options.ttlMs ?? VIEWER_TOKEN_TTL_MS;
  const clock = options.clock ?? Date.now;
  return {
    issuer: options.issuer,
    sign(viewer, audience, request) {
      const iat = clock();
      const claims: TokenClaims = {
        iss: options.issuer,
        aud: audience,
        req: requestHash(request),
        jti: randomUUID(),
        iat,
        exp: iat + ttlMs,
        viewer,
      };
      const encoded = Buffer.from(JSON.stringify(claims)).toString('base64url');
      return `${encoded}.${sign(null, Buffer.from(encoded), options.privateKey).toString('base64url')}`;
    },
  };
}

export class ViewerVerificationError extends Error {}

export interface ViewerVerifierOptions {
  /** The verifying subgraph's own name: tokens addressed elsewhere are refused. */
  readonly audience: string;
  /** The gateway's public key. */
  readonly gatewayKey: KeyObject;
  /** Public keys of the subgraphs whose own calls this one accepts, by subgraph name. */
  readonly serviceKeys?: Readonly<Record<string, KeyObject>>;
  /** Ids already accepted. @default a new ReplayCache */
  readonly replay?: ReplayCache;
  /** Longest lifetime accepted. @default VIEWER_TOKEN_TTL_MS */
  readonly maxTtlMs?: number;
  /** @default Date.now */
  readonly clock?: () => number;
}

/**
 * Verifies a viewer token against the request that carried it; throws `ViewerVerificationError`
 * (the reason is for the log) unless the signature, audience, request hash, lifetime and
 * single use all hold. `body` is the parsed JSON body as received.
 */
export type ViewerVerifier = (token: string | undefined, body: unknown) => Viewer;

function refuse(reason: string): never {
  throw new ViewerVerificationError(reason);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

const isStrings = (value: unknown): value is string[] =>
  Array.isArray(value) && value.every((item) => typeof item === 'string');

/**
 * What the gateway may say about a viewer. It never speaks for a service, and never about rows: the
 * viewer is rebuilt from the known claims only, so nothing else a token might carry reaches a resolver.
 */
function gatewayViewer(value: unknown): Viewer {
  if (!isRecord(value) || typeof value['userId'] !== 'string' || typeof value['requestId'] !== 'string')
    refuse('malformed viewer');
  const { roles, book, tenantId, grantId, app } = value;
  if (!isStrings(roles) || roles.some((role) => !ROLES.includes(role as Role) || role === 'service'))
    refuse('malformed viewer roles');
  if (!isStrings(book)) refuse('malformed viewer book');
  if (grantId !== undefined && typeof grantId !== 'string') refuse('malformed viewer grant');
  if (app !== undefined && typeof app !== 'string') refuse('malformed viewer app');
  if (tenantId !== null && typeof tenantId !== 'string') refuse('malformed viewer tenant');
  const domains = checkDomainsClaim(roles, value['domains']);
  if (!domains.ok) refuse(`malformed viewer domains: ${domains.reason}`);
  return {
    userId: value['userId'],
    tenantId,
    roles: roles as Role[],
    book,
    requestId: value['requestId'],
    ...(grantId === undefined ? {} : { grantId }),
    ...(app === undefined ? {} : { app }),
    ...(domains.domains ? { domains: domains.domains } : {}),
  };
}

export function createViewerVerifier(options: ViewerVerifierOptions): ViewerVerifier {
  const clock = options.clock ?? Date.now;
  const replay = options.replay ?? new ReplayCache({ clock });
  const maxTtlMs = options.maxTtlMs ?? VIEWER_TOKEN_TTL_MS;
  const keyOf = (issuer: string): KeyObject => {
    if (issuer === GATEWAY_PRINCIPAL) return options.gatewayKey;
    const service = serviceOf(issuer);
    const key = service === undefined ? undefined : options.serviceKeys?.[service];
    return key ?? refuse(`untrusted issuer ${JSON.stringify(issuer).slice(0, 80)}`);
  };
  return (token, body) => {
    if (!token) refuse(`missing ${VIEWER_HEADER} header`);
    if (token.length > MAX_TOKEN_LENGTH) refuse('oversized token');
    const [encoded = '', signature = '', ...rest] = token.split('.');
    if (!encoded || !signature || rest.length > 0) refuse('malformed token');
    let claims: unknown;
    try {
      claims = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8'));
    } catch {
      refuse('malformed token payload');
    }
    if (!isRecord(claims) || typeof claims['iss'] !== 'string') refuse('malformed token payload');
    const key = keyOf(claims['iss']);
    const sig = Buffer.from(signature, 'base64url');
    if (sig.length !== 64 || !verify(null, Buffer.from(encoded), key, sig)) refuse('bad signature');
    const { aud, req, jti, iat, exp, viewer, iss } = claims as Partial<TokenClaims> & { iss: string };
    if (aud !== options.audience) refuse(`addressed to ${JSON.stringify(aud)}, not ${options.audience}`);
    if (typeof iat !== 'number' || typeof exp !== 'number' || typeof jti !== 'string' || jti.length > 64)
      refuse('malformed token claims');
    const now = clock();
    if (now >= exp + CLOCK_SKEW_MS) refuse(`expired ${now - exp} ms ago`);
    if (iat > now + CLOCK_SKEW_MS) refuse('issued in the future');
    if (exp - iat > maxTtlMs) refuse(`lifetime ${exp - iat} ms is over ${maxTtlMs} ms`);
    if (!isRecord(body)) refuse('no JSON request body to match');
    const received = { query: body['query'], variables: body['variables'], operationName: body['operationName'] };
    if (req !== requestHash(received as SignedRequest)) refuse('signed for another request');
    let checked: Viewer;
    const service = serviceOf(iss);
    if (service === undefined) checked = gatewayViewer(viewer);
    else {
      // A service speaks only as itself, within one tenant.
      const tenantId = isRecord(viewer) ? viewer['tenantId'] : undefined;
      const requestId = isRecord(viewer) ? viewer['requestId'] : undefined;
      if (typeof tenantId !== 'string' || typeof requestId !== 'string') refuse('service viewer without a tenant');
      checked = servicePrincipal(service, tenantId, requestId);
    }
    if (!replay.use(jti, exp + CLOCK_SKEW_MS)) refuse('token already used (or replay cache full)');
    return Object.freeze(checked);
  };
}

/**
 * A subgraph calling another as itself: role `service`, which the role matrix grants nothing; the
 * callee's permission overrides name the few fields a service may call.
 */
export function servicePrincipal(service: string, tenantId: string, requestId: string): Viewer {
  return { userId: serviceIssuer(service), tenantId, roles: ['service'], book: [], requestId };
}

/** The gateway's own identity: composition (`_service`) without a tenant, or internal lookups within one. */
export function systemViewer(requestId: string, tenantId: string | null = null): Viewer {
  return { userId: 'system', tenantId, roles: ['system'], book: [], requestId };
}

export function hasRole(viewer: Viewer, ...roles: Role[]): boolean {
  return viewer.roles.some((role) => roles.includes(role));
}
