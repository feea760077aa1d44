import type { Redis } from 'ioredis';

/**
 * A bounded in-memory LRU with optional per-entry ttl (seconds), in Apollo's `KeyValueCache` shape.
 * It holds the automatic persisted queries (strings) — a shared cache (Redis) replaces it when the
 * gateway runs as several replicas — the short-lived scope and API-key lookups (`V` objects), the
 * entity cache's entries, demand control's analysed documents and verified bearer tokens.
 */
export class BoundedLruCache<V = string> {
  private readonly entries = new Map<string, { value: V; expiresAt: number }>();

  constructor(private readonly maxEntries: number) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new RangeError('maxEntries must be a positive integer');
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

  /** `get` without the promise, for callers on a hot synchronous path (demand control, token checks). */
  peek(key: string): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    if (entry.expiresAt <= Date.now()) return undefined;
    // Re-inserting moves the key to the end: Map iteration order is the recency order.
    this.entries.set(key, entry);
    return entry.value;
  }

  /** `set` without the promise; `ttl` in seconds, none (or <= 0): until evicted. */
  put(key: string, value: V, ttl?: number | null): void {
    const expiresAt = typeof ttl === 'number' && ttl > 0 ? Date.now() + ttl * 1000 : Number.POSITIVE_INFINITY;
    this.entries.delete(key);
    this.entries.set(key, { value, expiresAt });
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.entries.delete(oldest.value);
    }
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
