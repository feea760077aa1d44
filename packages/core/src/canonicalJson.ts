/**
 * JSON with object keys sorted at every level, so that two parties serialize the same value
 * identically even where key order is not preserved through every hop: a signed request's
 * variables (viewer.ts), a sync payload's derived idempotency key (sync/ids.ts). `undefined` is
 * dropped as JSON.stringify does.
 *
 * The output is exactly what `JSON.stringify(value, replacer)` gives with a replacer that copies
 * every object with its entries sorted (the first version, kept in tests/canonicalJson.test.ts as
 * the reference): derived idempotency keys and signed hashes must not change. One walk that writes
 * as it goes instead: the replacer built a sorted copy of every object (Object.entries, sort,
 * Object.fromEntries), which made the key of a sync event without one the engine's costliest step
 * per event after deciding it. Like the copy, keys that are array indices ("0", "12") come first in
 * ascending numeric order (an object's own key order), then the others sorted by UTF-16 code unit.
 */
export function canonicalJson(value: unknown): string {
  return write(value, '') as string;
}

const INDEX = /^(?:0|[1-9]\d{0,9})$/;

function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Keys in the order the sorted copy had them: array indices numerically, then the rest sorted. */
function orderedKeys(item: object): string[] {
  const keys = Object.keys(item);
  if (keys.length < 2) return keys;
  keys.sort(byCodeUnit);
  let indices = 0;
  for (const key of keys) if (INDEX.test(key) && Number(key) < 4294967295) indices++;
  if (indices === 0) return keys;
  const numeric: string[] = [];
  const named: string[] = [];
  for (const key of keys) (INDEX.test(key) && Number(key) < 4294967295 ? numeric : named).push(key);
  numeric.sort((a, b) => Number(a) - Number(b));
  return [...numeric, ...named];
}

/** The JSON of `value` held under `key`, or undefined where JSON.stringify leaves it out. */
function write(value: unknown, key: string): string | undefined {
  let item = value;
  if (item !== null && typeof item === 'object' && typeof (item as { toJSON?: unknown }).toJSON === 'function')
    item = (item as { toJSON(key: string): unknown }).toJSON(key);
  if (item === null || typeof item !== 'object') return JSON.stringify(item);
  if (Array.isArray(item)) {
    let out = '[';
    for (let i = 0; i < item.length; i++) {
      if (i > 0) out += ',';
      out += write(item[i], String(i)) ?? 'null';
    }
    return `${out}]`;
  }
  let out = '{';
  let first = true;
  for (const name of orderedKeys(item)) {
    const text = write((item as Record<string, unknown>)[name], name);
    if (text === undefined) continue;
    out += `${first ? '' : ','}${JSON.stringify(name)}:${text}`;
    first = false;
  }
  return `${out}}`;
}
