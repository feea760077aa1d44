/**
 * Who is calling, decided once per HTTP request before Apollo Server runs: a bearer token (users)
 * or an API key (partners). The viewer says who it is, never its rows: each subgraph resolves those
 * from its local customer replica (packages/core/src/replica.ts). The outcome is kept on `res.locals` so
 * the persisted-operation safelist can act on it and the context factory can hand it to Apollo
 * (which reports failures with their codes and HTTP statuses, and counts them).
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { GraphQLError } from 'graphql';
import { badUserInput } from '@hub/core/errors';
import type { Viewer } from '@hub/core/viewer';
import { API_KEY_HEADER, type ApiKeyAuthenticator } from './apiKeys.js';
import { AuthenticationError, type Authenticator } from './auth.js';
import { requestIdOf } from './http.js';

export type Identity =
  | { readonly ok: true; readonly viewer: Viewer }
  | { readonly ok: false; readonly error: GraphQLError; readonly reason: string };

export interface IdentifyOptions {
  readonly bearer: Authenticator;
  readonly apiKey: ApiKeyAuthenticator;
}

function header(req: Request, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

function isGraphQLError(error: unknown): error is GraphQLError {
  // Structural: the federation packages may load a second copy of graphql (see useObservability).
  return typeof error === 'object' && error !== null && 'extensions' in error && error instanceof Error;
}

/**
 * The viewer of a request, or why there is none. Both credentials at once is refused with
 * BAD_USER_INPUT (HTTP 400) before either is checked: the request is malformed, and picking one
 * silently would let a stolen key ride along a user's session or the other way round.
 */
export async function identify(req: Request, requestId: string, options: IdentifyOptions): Promise<Identity> {
  return identifyCredentials(
    { authorization: header(req, 'authorization'), apiKey: header(req, API_KEY_HEADER) },
    requestId,
    options,
  );
}

/** `identify` for credentials that do not come in HTTP headers (graphql-ws `connection_init`, src/live/). */
export async function identifyCredentials(
  credentials: { readonly authorization: string | undefined; readonly apiKey: string | undefined },
  requestId: string,
  options: IdentifyOptions,
): Promise<Identity> {
  const { authorization, apiKey } = credentials;
  try {
    if (apiKey !== undefined && authorization !== undefined) {
      const error = badUserInput(API_KEY_HEADER, 'send either an API key or an Authorization header, not both');
      error.extensions['http'] = { status: 400 };
      return { ok: false, error, reason: 'both Authorization and x-api-key sent' };
    }
    const viewer =
      apiKey !== undefined ? await options.apiKey(apiKey, requestId) : await options.bearer(authorization, requestId);
    return { ok: true, viewer };
  } catch (error) {
    if (error instanceof AuthenticationError) return { ok: false, error: error.graphqlError, reason: error.reason };
    if (isGraphQLError(error)) return { ok: false, error, reason: error.message };
    throw error;
  }
}

/** Express middleware: runs `identify` and keeps the outcome for `identityOf(res)`. */
export function identifyRequests(options: IdentifyOptions): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    identify(req, requestIdOf(res), options).then((identity) => {
      res.locals['identity'] = identity;
      next();
    }, next);
  };
}

/** The identity `identifyRequests` (and possibly the safelist) recorded for this request. */
export function identityOf(res: Response): Identity {
  const identity = res.locals['identity'] as Identity | undefined;
  if (identity === undefined) throw new Error('identifyRequests() middleware is not installed');
  return identity;
}

/** Replaces the identity with a refusal (e.g. an operation outside a partner's safelist). */
export function refuseRequest(res: Response, error: GraphQLError, reason: string): void {
  res.locals['identity'] = { ok: false, error, reason } satisfies Identity;
}
