import { signDevToken } from '@hub/gateway/token';
import type { Domain } from '@hub/core/domains';
import type { Role } from '@hub/core/viewer';

export interface TokenClaims {
  tenant: string;
  roles: Role[];
  sub?: string;
  book?: string[];
  /** Domains an `integration` token writes. */
  domains?: Domain[];
  expiresIn?: string;
}

/** A bearer token as an identity provider would issue it for the hub (HS256 with `secret`). */
export function signToken(
  secret: string,
  { tenant, roles, sub = 'u1', book = [], domains, expiresIn = '10m' }: TokenClaims,
): Promise<string> {
  return signDevToken({ tenant, roles, user: sub, book, ttl: expiresIn, ...(domains ? { domains } : {}) }, { secret });
}

export async function post<T = Record<string, unknown>>(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  token?: string,
  extra: Record<string, unknown> = {},
): Promise<{
  status: number;
  data?: T | null;
  errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, unknown> }[];
}> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables, ...extra }),
  });
  return { status: response.status, ...((await response.json()) as object) };
}
