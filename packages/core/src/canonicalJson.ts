/**
 * JSON with object keys sorted at every level, so that two parties serialize the same value
 * identically even where key order is not preserved through every hop: a signed request's
 * variables (viewer.ts), a sync payload's derived idempotency key (sync/ids.ts). A dozen lines
 * where no installed library does it; `undefined` is dropped as JSON.stringify does.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) =>
    item !== null && typeof item === 'object' && !Array.isArray(item)
      ? Object.fromEntries(Object.entries(item).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : item,
  );
}
