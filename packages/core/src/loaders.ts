import DataLoader from 'dataloader';
import type { GraphQLResolveInfo } from 'graphql';
import { ALL_COLUMNS, columnsFor, selectOf, unionOf, type ColumnSet, type Rows } from './columns.js';

/**
 * DataLoader helpers. Loaders are built per request (in the subgraph context factory), so a
 * cache never outlives one viewer's request. Keys may be objects: they are cached by JSON.
 *
 * Column selection (columns.ts): a load passes its resolve info, and the loader reads only the
 * columns that selection needs (Prisma `select`). A tick's batch reads the UNION of its loads'
 * column sets in one statement rather than one statement per distinct set: the point of a loader
 * is one statement per table per tick, and the loads of one tick (e.g. `_entities` and a nested
 * field over the same table) mostly ask for nearly the same columns, so a few extra columns cost
 * far less than another round trip. A later load is served from the cache when a set already read
 * for its key covers its own (the whole row covers all); otherwise it reads again.
 */
function cacheKey(key: unknown): string {
  return typeof key === 'object' && key !== null ? JSON.stringify(key) : String(key);
}

/** `Prisma select` for a batch; undefined reads the whole row. */
export type Select = Record<string, true> | undefined;

/** A per-request loader whose loads name the columns their selection needs. */
export interface SelectingLoader<K, V> {
  /** The value of `key`, read with the columns `info`'s selection needs (without info: the whole row). */
  load(key: K, info?: GraphQLResolveInfo): Promise<V>;
  /** Forgets `key` under every column set (after a write to its row). */
  clear(key: K): this;
}

interface Entry<K> {
  key: K;
  columns: ColumnSet;
}

const parsed = new Map<ColumnSet, ReadonlySet<string>>();
function columnsOf(set: ColumnSet): ReadonlySet<string> {
  let columns = parsed.get(set);
  if (!columns) {
    columns = new Set(set.split(','));
    // Column sets come from the schema's selections: few; the bound only guards against a leak.
    if (parsed.size < 10_000) parsed.set(set, columns);
  }
  return columns;
}

/** Whether rows read with `have` carry every column of `want`. */
function covers(have: ColumnSet, want: ColumnSet): boolean {
  if (have === ALL_COLUMNS || have === want) return true;
  if (want === ALL_COLUMNS) return false;
  const columns = columnsOf(have);
  for (const column of columnsOf(want)) if (!columns.has(column)) return false;
  return true;
}

/**
 * The general form: `batch` gets a tick's keys (possibly repeated, with different column sets)
 * and the union's `select`, and returns one value per key, in order. Without `rows` every load
 * reads the whole row (`select` undefined).
 */
export function selectingLoader<K, V>(
  rows: Rows | undefined,
  batch: (keys: readonly K[], select: Select) => Promise<readonly V[]>,
): SelectingLoader<K, V> {
  const loader = new DataLoader<Entry<K>, V, string>(
    (entries) =>
      batch(
        entries.map((entry) => entry.key),
        selectOf(unionOf(entries.map((entry) => entry.columns))),
      ),
    { cacheKeyFn: (entry) => `${entry.columns}\u0000${cacheKey(entry.key)}` },
  );
  // The column sets asked for per key: which cached read covers a load, and what `clear` forgets.
  const sets = new Map<string, ColumnSet[]>();
  const api: SelectingLoader<K, V> = {
    load(key, info) {
      const wanted = rows ? columnsFor(info, rows) : ALL_COLUMNS;
      const k = cacheKey(key);
      const asked = sets.get(k);
      const have = asked?.find((set) => covers(set, wanted));
      if (have !== undefined) return loader.load({ key, columns: have });
      if (asked) asked.push(wanted);
      else sets.set(k, [wanted]);
      return loader.load({ key, columns: wanted });
    },
    clear(key) {
      const k = cacheKey(key);
      for (const columns of sets.get(k) ?? []) loader.clear({ key, columns });
      sets.delete(k);
      return api;
    },
  };
  return api;
}

/** One row (or null) per key: `fetch` gets the keys of a tick (and the `select`) and returns rows in any order. */
export function keyedLoader<K, V>(
  fetch: (keys: readonly K[], select: Select) => Promise<readonly V[]>,
  keyOf: (row: V) => K,
  rows?: Rows,
): SelectingLoader<K, V | null> {
  return selectingLoader<K, V | null>(rows, async (keys, select) => {
    const found = await fetch(distinctByCache(keys), select);
    const byKey = new Map<string, V>();
    for (const row of found) byKey.set(cacheKey(keyOf(row)), row);
    return keys.map((key) => byKey.get(cacheKey(key)) ?? null);
  });
}

/** Many rows per key (a relation): returns `[]` for keys without rows. */
export function groupedLoader<K, V>(
  fetch: (keys: readonly K[], select: Select) => Promise<readonly V[]>,
  keyOf: (row: V) => K,
  rows?: Rows,
): SelectingLoader<K, V[]> {
  return selectingLoader<K, V[]>(rows, async (keys, select) => {
    const found = await fetch(distinctByCache(keys), select);
    const groups = new Map<string, V[]>();
    for (const row of found) {
      const k = cacheKey(keyOf(row));
      const group = groups.get(k);
      if (group) group.push(row);
      else groups.set(k, [row]);
    }
    return keys.map((key) => groups.get(cacheKey(key)) ?? []);
  });
}

/** Keys of a batch once each, by their cache key (object keys are equal by content). */
function distinctByCache<K>(keys: readonly K[]): K[] {
  const seen = new Map<string, K>();
  for (const key of keys) if (!seen.has(cacheKey(key))) seen.set(cacheKey(key), key);
  return [...seen.values()];
}

/** Distinct primitive values of a key list, for `{ in: [...] }` filters. */
export function distinct<T>(values: readonly T[]): T[] {
  return [...new Set(values)];
}
