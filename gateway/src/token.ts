import { parseArgs } from 'node:util';
import { SignJWT, decodeJwt } from 'jose';
import { DEV_JWT_SECRET } from '@hub/core/config';
import { DOMAINS, type Domain } from '@hub/core/domains';
import { checkDomainsClaim, ROLES, type Role } from '@hub/core/viewer';

export interface DevTokenClaims {
  readonly tenant: string;
  readonly roles: readonly Role[];
  readonly user: string;
  readonly book?: readonly string[];
  /** The domains an `integration` token may write (required with that role, refused without it). */
  readonly domains?: readonly Domain[];
  /** `jose` duration: `90s`, `30m`, `1h`, `7d`. */
  readonly ttl?: string;
}

/** The gateway refuses tokens issued to live longer than its maximum token age (default 24 h). */
const DEFAULT_MAX_AGE_SECONDS = 24 * 3600;

export interface TokenSigningOptions {
  readonly secret?: string;
  readonly issuer?: string;
  readonly audience?: string;
  /** Refuse a `ttl` longer than this, since the gateway would refuse the token (`HUB_JWT_MAX_AGE`). */
  readonly maxAgeSeconds?: number;
}

/** `system` is the gateway's own identity: no bearer token may carry it. */
export const TOKEN_ROLES = ROLES.filter((role) => role !== 'system');

const TTL_PATTERN = /^\d+\s*(s|sec|secs|m|min|mins|h|hr|hrs|d|day|days|w|week|weeks)$/;

/** Why the dev token command refuses to run here, or `undefined` when it may. */
export function devTokenRefusal(env: Record<string, string | undefined>): string | undefined {
  if (env['NODE_ENV'] === 'production') return 'NODE_ENV=production: dev tokens are only for development';
  if (env['HUB_JWKS_URL'])
    return 'HUB_JWKS_URL is set: the hub verifies tokens from an identity provider, not the dev secret';
  const secret = env['HUB_JWT_SECRET'];
  if (secret !== undefined && secret !== '' && secret !== DEV_JWT_SECRET) {
    return 'HUB_JWT_SECRET is not the development secret: refusing to mint tokens for a non-development hub';
  }
  return undefined;
}

/** An HS256 token in the shape the gateway verifies (`sub`, `tenant`, `roles`, `book`, `iat`, `exp`). */
export async function signDevToken(claims: DevTokenClaims, options: TokenSigningOptions = {}): Promise<string> {
  const ttl = claims.ttl ?? '1h';
  if (!TTL_PATTERN.test(ttl)) throw new Error(`ttl must look like 90s, 30m, 1h or 7d, got ${JSON.stringify(ttl)}`);
  const unknown = claims.roles.filter((role) => !(TOKEN_ROLES as readonly string[]).includes(role));
  if (unknown.length > 0) throw new Error(`unknown role(s): ${unknown.join(', ')}; known: ${TOKEN_ROLES.join(', ')}`);
  if (claims.roles.length === 0) throw new Error('at least one role is required');
  const domains = checkDomainsClaim(claims.roles, claims.domains);
  if (!domains.ok) throw new Error(`--domains: ${domains.reason}`);
  const token = await new SignJWT({
    tenant: claims.tenant,
    roles: [...claims.roles],
    book: [...(claims.book ?? [])],
    ...(domains.domains ? { domains: domains.domains } : {}),
  })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(claims.user)
    .setIssuer(options.issuer ?? 'customer-data-hub')
    .setAudience(options.audience ?? 'customer-data-hub')
    .setIssuedAt()
    .setExpirationTime(ttl)
    .sign(new TextEncoder().encode(options.secret ?? DEV_JWT_SECRET));
  // jose resolved the duration; compare what it wrote rather than parsing `ttl` a second way.
  const { iat = 0, exp = 0 } = decodeJwt(token);
  const maxAge = options.maxAgeSeconds ?? DEFAULT_MAX_AGE_SECONDS;
  if (exp - iat > maxAge) throw new Error(`ttl ${ttl} is longer than the gateway's maximum token age (${maxAge} s)`);
  return token;
}

function commaList(values: readonly string[] | undefined): string[] {
  return (values ?? [])
    .flatMap((value) => value.split(','))
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

/**
 * The claims `npm run token -- --tenant acme --role sales_rep --user u1 [--book u1,u2] [--ttl 1h]`
 * (an integration account: `--role integration --domains product,finance`)
 * stands for (throws naming what is wrong). Shared by the CLI and the test that runs the README's
 * token commands, so the docs are checked against what the command really mints.
 */
export function devTokenClaimsFromArgs(args: readonly string[]): DevTokenClaims {
  const { values } = parseArgs({
    args: [...args],
    options: {
      tenant: { type: 'string' },
      role: { type: 'string', multiple: true },
      user: { type: 'string' },
      book: { type: 'string', multiple: true },
      domains: { type: 'string', multiple: true },
      ttl: { type: 'string' },
    },
  });
  if (!values.tenant) throw new Error('--tenant is required');
  if (!values.user) throw new Error('--user is required');
  const roles = commaList(values.role);
  if (roles.length === 0) throw new Error('--role is required');
  const domains = values.domains === undefined ? undefined : commaList(values.domains);
  if (roles.includes('integration') && (domains === undefined || domains.length === 0))
    throw new Error(`--role integration needs --domains <domain>[,<domain>] (known: ${DOMAINS.join(', ')})`);
  return {
    tenant: values.tenant,
    user: values.user,
    roles: roles as Role[],
    // A sales rep's or CS manager's book defaults to their own customers.
    book: values.book ? commaList(values.book) : [values.user],
    ...(domains !== undefined ? { domains: domains as Domain[] } : {}),
    ...(values.ttl !== undefined ? { ttl: values.ttl } : {}),
  };
}
