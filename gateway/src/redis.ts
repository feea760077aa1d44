/**
 * The gateway's one Redis connection (`REDIS_URL`), shared by the rate limits (rateLimiter.ts), the
 * automatic persisted queries (apqCache.ts) and the entity cache (entityCache.ts).
 *
 * The client does not queue commands while disconnected (`enableOfflineQueue: false`) and tries a
 * command once: every user has its own answer to Redis being away (per-replica budgets, a local
 * APQ miss, no entity cache), and each must get it at once rather than after a timeout.
 */
import { Redis } from 'ioredis';
import type { Logger } from './logger.js';

export type { Redis };

export interface SharedRedis {
  readonly client: Redis;
  /** Whether the connection is up now (commands would be sent). */
  ready(): boolean;
  /** Called on every transition (`false`: connection lost, `true`: ready again). */
  onChange(listener: (ready: boolean) => void): void;
  close(): void;
}

export function createSharedRedis(url: string, log: Logger): SharedRedis {
  const client = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: false });
  const listeners: ((ready: boolean) => void)[] = [];
  let up = false;
  let warned = false;
  const set = (next: boolean) => {
    if (next === up) return;
    up = next;
    for (const listener of listeners) listener(next);
  };
  client.on('error', (error: Error) => {
    if (!warned) log.warn({ err: error.message }, 'Redis unreachable');
    warned = true;
    set(false);
  });
  client.on('close', () => set(false));
  client.on('ready', () => {
    if (warned) log.info('Redis reachable again');
    warned = false;
    set(true);
  });
  return {
    client,
    ready: () => up,
    onChange: (listener) => void listeners.push(listener),
    close: () => client.disconnect(),
  };
}
