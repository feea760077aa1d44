/**
 * canonicalJson (src/canonicalJson.ts) writes exactly what its first version, JSON.stringify with a
 * replacer copying every object with sorted entries, wrote: derived idempotency keys and signed
 * request hashes of stored and in-flight values must not change. Pinned on edge cases and on
 * generated values (seeded, so a failure repeats) across nesting, key kinds and value types.
 */
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../src/canonicalJson.js';

/** The first version, as it was. */
function reference(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) =>
    item !== null && typeof item === 'object' && !Array.isArray(item)
      ? Object.fromEntries(Object.entries(item).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : item,
  );
}

/** A small seeded generator (mulberry32). */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const KEYS = [
  'a',
  'b',
  'B',
  '_',
  'é',
  '😀',
  'z',
  'aa',
  '0',
  '1',
  '2',
  '10',
  '01',
  '-1',
  '4294967294',
  '4294967295',
  '1e3',
  '',
];

function generate(next: () => number, depth: number): unknown {
  const pick = Math.floor(next() * (depth > 3 ? 8 : 11));
  switch (pick) {
    case 0:
      return null;
    case 1:
      return undefined;
    case 2:
      return next() < 0.5;
    case 3:
      return [0, -0, 1.5, -3, 1e21, Number.NaN, Infinity, 2 ** 53][Math.floor(next() * 8)];
    case 4:
      return ['', 'x', 'ü\n"\\', '\u2028', '😀'][Math.floor(next() * 5)];
    case 5:
      return new Date(Math.floor(next() * 2e12));
    case 6:
      return () => 1;
    case 7:
      return { toJSON: () => ({ z: 1, a: [undefined, 2] }) };
    case 8:
      return Array.from({ length: Math.floor(next() * 4) }, () => generate(next, depth + 1));
    default: {
      const out: Record<string, unknown> = {};
      const n = Math.floor(next() * 6);
      for (let i = 0; i < n; i++) out[KEYS[Math.floor(next() * KEYS.length)] ?? 'k'] = generate(next, depth + 1);
      return out;
    }
  }
}

describe('canonicalJson', () => {
  it('writes what the replacer version wrote, on edge cases', () => {
    const cases: unknown[] = [
      undefined,
      null,
      'text',
      0,
      { b: 1, a: 2 },
      { 10: 'ten', 9: 'nine', b: 1, a: { d: undefined, c: [undefined, () => 1, Symbol('s')] } },
      { '4294967295': 1, '4294967294': 2, '01': 3, '1': 4 },
      [new Date(0), { toJSON: (key: string) => `key:${key}` }],
      { nested: { toJSON: (key: string) => ({ y: key, x: 1 }) } },
      new Map([['a', 1]]),
      Object.assign(Object.create({ inherited: 1 }) as object, { own: 2 }),
    ];
    for (const value of cases) expect(canonicalJson(value)).toBe(reference(value));
  });

  it('writes what the replacer version wrote, on 5,000 generated values', () => {
    const next = random(20261204);
    for (let i = 0; i < 5000; i++) {
      const value = generate(next, 0);
      expect(canonicalJson(value), JSON.stringify(value)).toBe(reference(value));
    }
  });

  it('throws where JSON.stringify throws (a BigInt)', () => {
    expect(() => canonicalJson({ n: 1n })).toThrow(TypeError);
  });
});
