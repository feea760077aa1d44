/**
 * The ids of viewer tokens a process has accepted, each kept until its token expires, so that a
 * token is accepted once. Hand-written because an LRU (lru-cache, the gateway's APQ cache) evicts the
 * oldest entry when full: an evicted id could then be replayed. Here a full cache refuses new ids
 * instead (fail closed); only tokens whose signature already verified are recorded, so only a key
 * holder can fill it, and at a few seconds' lifetime the default holds ~20 000 requests per second.
 *
 * Per process: replicas of one subgraph each keep their own, so a captured header could be replayed
 * once to each other replica of the subgraph it is addressed to — with the same query and variables,
 * within its lifetime. Sharing it (e.g. Redis `SET jti NX PX`) closes that when replicas are run.
 */
export interface ReplayCacheOptions {
  /**
   * Unexpired ids kept at most; past it, new tokens are refused until old ones expire.
   * @default 100000
   */
  readonly maxEntries?: number;
  /** Milliseconds since the epoch. @default Date.now */
  readonly clock?: () => number;
}

export class ReplayCache {
  /** id -> expiry (ms). A Map iterates in insertion order, which is nearly expiry order. */
  private readonly seen = new Map<string, number>();
  private readonly maxEntries: number;
  private readonly clock: () => number;

  constructor(options: ReplayCacheOptions = {}) {
    this.maxEntries = options.maxEntries ?? 100_000;
    this.clock = options.clock ?? Date.now;
  }

  /** Records `id` until `expiresAt`; false when it was seen before, or when the cache is full. */
  use(id: string, expiresAt: number): boolean {
    this.sweep(this.clock());
    if (this.seen.has(id) || this.seen.size >= this.maxEntries) return false;
    this.seen.set(id, expiresAt);
    return true;
  }

  get size(): number {
    return this.seen.size;
  }

  /**
   * Drops expired ids from the front. Stopping at the first live one may keep a few expired ids
   * behind it a little longer (lifetimes differ by a few ms at most): never a live one too early.
   */
  private sweep(now: number): void {
    for (const [id, expiresAt] of this.seen) {
      if (expiresAt > now) return;
      this.seen.delete(id);
    }
  }
}
