import DataLoader from 'dataloader';

/**
 * DataLoader helpers. Loaders are built per request (in the subgraph context factory), so a
 * cache never outlives one viewer's request. Keys may be objects: they are cached by JSON.
 */
function cacheKey(key: unknown): unknown {
  return typeof key === 'object' && key !== null ? JSON.stringify(key) : key;
}

/** One row (or null) per key: `fetch` gets all keys of a tick and returns rows in any order. */
export function keyedLoader<K, V>(
  fetch: (keys: readonly K[]) => Promise<readonly V[]>,
  keyOf: (row: V) => K,
): DataLoader<K, V | null, unknown> {
  return new DataLoader<K, V | null, unknown>(
    async (keys) => {
      const rows = await fetch(keys);
      const byKey = new Map<unknown, V>();
      for (const row of rows) byKey.set(cacheKey(keyOf(row)), row);
      return keys.map((key) => byKey.get(cacheKey(key)) ?? null);
    },
    { cacheKeyFn: cacheKey },
  );
}

/** Many rows per key (a relation): returns `[]` for keys without rows. */
export function groupedLoader<K, V>(
  fetch: (keys: readonly K[]) => Promise<readonly V[]>,
  keyOf: (row: V) => K,
): DataLoader<K, V[], unknown> {
  return new DataLoader<K, V[], unknown>(
    async (keys) => {
      const rows = await fetch(keys);
      const groups = new Map<unknown, V[]>();
      for (const row of rows) {
        const k = cacheKey(keyOf(row));
        const group = groups.get(k);
        if (group) group.push(row);
        else groups.set(k, [row]);
      }
      return keys.map((key) => groups.get(cacheKey(key)) ?? []);
    },
    { cacheKeyFn: cacheKey },
  );
}

/** Distinct primitive values of a key list, for `{ in: [...] }` filters. */
export function distinct<T>(values: readonly T[]): T[] {
  return [...new Set(values)];
}
