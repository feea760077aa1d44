import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { REQUEST_ID_HEADER } from '@hub/core/viewer';
import { requestIdFrom } from './auth.js';
import type { GatewayMetrics } from './metrics.js';

/** The request id of this HTTP request, set by `requestContext()`. */
export function requestIdOf(res: Response): string {
  const id: unknown = res.locals['requestId'];
  if (typeof id !== 'string') throw new Error('requestContext() middleware is not installed');
  return id;
}

/**
 * Gives every request an id (the caller's `x-request-id` when well-formed), echoes it in the
 * response and records the request's latency by HTTP status — 401s included.
 */
export function requestContext(metrics: GatewayMetrics, route = 'graphql'): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const requestId = requestIdFrom(req.headers[REQUEST_ID_HEADER]);
    res.locals['requestId'] = requestId;
    res.setHeader(REQUEST_ID_HEADER, requestId);
    const stopTimer = metrics.httpDuration.startTimer({ route });
    res.on('finish', () => stopTimer({ status: String(res.statusCode) }));
    next();
  };
}

const ALLOWED_HEADERS = [
  'authorization',
  'x-api-key',
  'content-type',
  'apollo-require-preflight',
  'apollographql-client-name',
  'apollographql-client-version',
  REQUEST_ID_HEADER,
].join(', ');

/**
 * CORS for browser clients and the embedded Sandbox (which calls from Apollo's origin). Credentials
 * are bearer tokens, never cookies, so reflecting the origin does not expose ambient authority;
 * CSRF prevention in Apollo Server still rejects simple cross-site requests.
 */
export function cors(): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const origin = req.headers.origin;
    if (origin !== undefined) {
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Vary', 'Origin');
      res.setHeader('Access-Control-Expose-Headers', REQUEST_ID_HEADER);
    }
    if (req.method === 'OPTIONS') {
      res.setHeader('Access-Control-Allow-Methods', 'GET, POST, OPTIONS');
      res.setHeader('Access-Control-Allow-Headers', ALLOWED_HEADERS);
      res.setHeader('Access-Control-Max-Age', '600');
      res.status(204).end();
      return;
    }
    next();
  };
}
