/**
 * The one mapping between the brief's snake_case payload keys and the GraphQL inputs' camelCase
 * (README "Bulk import"): the gateway's NDJSON import reads lines with `camelKey`, and whoever turns
 * an event's camelCase `data` back into the brief's JSON (health's `briefHealthJson`) uses `snakeKey`.
 */

/** `usage_analytics_sync` -> `usageAnalyticsSync`, `30_day_change` -> `_30DayChange`; camelCase passes unchanged. */
export function camelKey(key: string): string {
  const camel = key.replace(/_+([a-zA-Z0-9])/g, (_match, next: string) => next.toUpperCase());
  return /^[0-9]/.test(camel) ? `_${camel}` : camel;
}

/** The inverse for the names the schema has (`usageAnalyticsSync` -> `usage_analytics_sync`, `_30DayChange` -> `30_day_change`). */
export function snakeKey(key: string): string {
  return key.replace(/^_(?=[0-9])/, '').replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
}

/** A JSON value with every object key turned to snake_case (arrays and scalars as they are). */
export function snakeKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(snakeKeys);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).map(([key, inner]) => [snakeKey(key), snakeKeys(inner)]));
}
