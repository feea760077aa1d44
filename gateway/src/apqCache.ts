import type { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';

/**
 * A bounded in-memory LRU with optional per-entry ttl (seconds), in Apollo's `KeyValueCache` shape:
 * lru-cache's `LRUCache` with the gateway's two rules on top — a ttl in seconds (lru-cache counts
 * milliseconds), none or <= 0 meaning until evicted, and a read (`get` and `peek` alike) making the
 * entry the most recently used (lru-cache's own `peek` would not). It holds the automatic persisted
 * queries (strings) — a shared cache (Redis) replaces it when the gateway runs as several replicas —
 * the API-key lookups, the entity cache's entries and verified bearer tokens.
 */
export class BoundedLruCache<V extends NonNullable<unknown> = string> {
  private readonly entries: LRUCache<string, V>;

  constructor(maxEntries: number) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new RangeError('maxEntries must be a positive integer');
    this.entries = new LRUCache<string, V>({ max: maxEntries });
  }

  get size(): number {
    return this.entries.size;
  }

  async get(key: string): Promise<V | undefined> {
    return this.peek(key);
  }

  async set(key: string, value: V, options?: { ttl?: number | null }): Promise<void> {
    this.put(key, value, options?.ttl);
  }

  /** `get` without the promise, for callers on a hot synchronous path (verified bearer tokens). */
  peek(key: string): V | undefined {
    return this.entries.get(key);
  }

  /** `set` without the promise; `ttl` in seconds, none (or <= 0): until evicted. */
  put(key: string, value: V, ttl?: number | null): void {
    this.entries.set(key, value, { ttl: typeof ttl === 'number' && ttl > 0 ? ttl * 1000 : 0 });
  }

  async delete(key: string): Promise<boolean> {
    return this.entries.delete(key);
  }
}

/**
 * Apollo's `KeyValueCache` over the gateway's Redis connection (redis.ts), for the automatic
 * persisted queries of several replicas: a query registered through one is found by every other.
 * A few lines over the client the gateway already holds, rather than Keyv and its adapter on a
 * second connection. Redis away: a lookup misses (the client sends the query again, as for an
 * evicted entry) and a registration is lost, never an error of the request.
 */
export class RedisKeyValueCache {
  constructor(
    private readonly client: Redis,
    private readonly prefix: string,
  ) {}

  async get(key: string): Promise<string | undefined> {
    return (await this.client.get(this.prefix + key).catch(() => null)) ?? undefined;
  }

  async set(key: string, value: string, options?: { ttl?: number | null }): Promise<void> {
    const ttl = options?.ttl;
    await (
      typeof ttl === 'number' && ttl > 0
        ? this.client.set(this.prefix + key, value, 'EX', Math.ceil(ttl))
        : this.client.set(this.prefix + key, value)
    ).catch(() => undefined);
  }

  async delete(key: string): Promise<boolean> {
    return (await this.client.del(this.prefix + key).catch(() => 0)) > 0;
  }
}
