/**
 * Rate limits per viewer (a user within a tenant, or a partner API key): requests and operation
 * cost per window (src/limits.ts), drawn from budgets in memory or Redis (src/rateLimiter.ts).
 * Over a budget: RATE_LIMITED, HTTP 429, `Retry-After` and `extensions.retryAfterSeconds`.
 *
 * Two express middlewares: `requests` before demand control (every identified request counts,
 * refused ones too — an attacker's refused documents still cost parsing), `cost` after it (the cost
 * of an accepted operation is known only then).
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { HeaderMap } from '@apollo/server';
import { rateLimited } from '@hub/core/errors';
import { identityOf, refuseRequest } from '../identify.js';
import { limitsFor, rateLimitKey, type LimitName, type LimitsConfig } from '../limits.js';
import { resolvedOperationOf } from '../operation.js';
import type { RateLimiter } from '../rateLimiter.js';

export interface RateLimitsOptions {
  limiter: RateLimiter;
  limits: LimitsConfig;
}

export interface RateLimitMiddlewares {
  readonly requests: RequestHandler;
  readonly cost: RequestHandler;
}

function budget(
  options: RateLimitsOptions,
  limit: Extract<LimitName, 'requestsPerWindow' | 'costPerWindow'>,
  pointsOf: (res: Response) => number,
): RequestHandler {
  const take = async (res: Response): Promise<void> => {
    const identity = identityOf(res);
    if (!identity.ok) return;
    const points = pointsOf(res);
    if (points <= 0) return;
    const max = limitsFor(identity.viewer, options.limits)[limit];
    const consumed = await options.limiter.consume(limit, rateLimitKey(identity.viewer), points, max);
    if (consumed.ok) return;
    const error = rateLimited(limit, consumed.retryAfterSeconds);
    error.extensions['http'] = {
      status: 429,
      headers: new HeaderMap([['retry-after', String(consumed.retryAfterSeconds)]]),
    };
    refuseRequest(res, error, `${limit} of ${max} spent`);
  };
  return (_req: Request, res: Response, next: NextFunction) => {
    take(res).then(() => next(), next);
  };
}

export function useRateLimits(options: RateLimitsOptions): RateLimitMiddlewares {
  return {
    requests: budget(options, 'requestsPerWindow', () => 1),
    cost: budget(options, 'costPerWindow', (res) => resolvedOperationOf(res)?.cost ?? 0),
  };
}
