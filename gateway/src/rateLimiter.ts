/**
 * The budgets behind rate limits, with rate-limiter-flexible: fixed windows of `windowSeconds`,
 * in process memory by default, shared through Redis when `REDIS_URL` is set (every replica then
 * draws on one budget per viewer).
 *
 * Redis unreachable: each replica falls back to its own in-memory budget (rate-limiter-flexible's
 * `insuranceLimiter`) and logs it. Failing closed would turn a cache outage into an outage of the
 * whole API for every viewer, which is the attack rate limits exist to prevent; falling back keeps
 * every viewer bounded — by N replicas × the budget in the worst case — while Redis is away. The
 * client does not queue commands while disconnected, so the fallback is immediate, not a timeout.
 */
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Logger } from './logger.js';
import type { SharedRedis } from './redis.js';

export interface RateLimiterOptions {
  /** Shared store (the gateway's one connection, redis.ts); undefined keeps budgets in this process. */
  redis: SharedRedis | undefined;
  /** Prefix of every Redis key, so several hubs (or test runs) can share one Redis. */
  keyPrefix: string;
  windowSeconds: number;
  log: Logger;
}

export type Consumed = { readonly ok: true } | { readonly ok: false; readonly retryAfterSeconds: number };

export interface RateLimiter {
  /** Takes `points` from `key`'s budget `budget` (of `limit` points per window). */
  consume(budget: string, key: string, points: number, limit: number): Promise<Consumed>;
  /** The Redis connection is the gateway's (redis.ts), closed by its owner. */
  close(): Promise<void>;
}

export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  const redis = options.redis?.client;
  options.redis?.onChange((ready) => {
    if (ready) options.log.info('rate limits: Redis reachable again, budgets shared');
    else options.log.warn('rate limits: Redis unreachable, budgets per replica');
  });

  // One limiter per budget and limit: a limit changed by configuration starts a fresh budget.
  const limiters = new Map<string, RateLimiterAbstract>();
  const limiterFor = (budget: string, limit: number): RateLimiterAbstract => {
    const id = `${budget}:${limit}`;
    let limiter = limiters.get(id);
    if (limiter === undefined) {
      const common = { points: limit, duration: options.windowSeconds, keyPrefix: `${options.keyPrefix}:${id}` };
      limiter =
        redis === undefined
          ? new RateLimiterMemory(common)
          : new RateLimiterRedis({
              ...common,
              storeClient: redis,
              rejectIfRedisNotReady: true,
              insuranceLimiter: new RateLimiterMemory(common),
            });
      limiters.set(id, limiter);
    }
    return limiter;
  };

  return {
    async consume(budget, key, points, limit) {
      try {
        await limiterFor(budget, limit).consume(key, points);
        return { ok: true };
      } catch (rejection) {
        if (rejection instanceof RateLimiterRes) {
          return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil(rejection.msBeforeNext / 1000)) };
        }
        throw rejection;
      }
    },
    async close() {},
  };
}
