import { createHash, randomBytes } from 'node:crypto';
import { canonicalJson } from '../canonicalJson.js';
import type { ColumnType, TableInfo } from './sql.js';

/**
 * The idempotency key of an event that carries none: sha256 (hex) over domain, kind and the
 * canonical JSON of the payload (keys sorted at every level, dates as ISO strings), so the same
 * payload sent twice is a duplicate whatever its key order.
 */
export function deriveIdempotencyKey(domain: string, kind: string, payload: unknown): string {
  return createHash('sha256')
    .update(`${domain}\n${kind}\n${canonicalJson(payload)}`)
    .digest('hex');
}

// Monotonic within the process (RFC 9562 method 1): ids made in one millisecond count up in the
// 12 bits after the timestamp, so ids of one batch keep their order too.
let lastMs = 0;
let sequence = 0;
// Random bytes drawn 4 KiB at a time: one call per id was a visible share of a batch's CPU.
const POOL_SIZE = 4096;
let pool = randomBytes(POOL_SIZE);
let poolOffset = 0;

/**
 * A UUIDv7 (RFC 9562): 48-bit Unix milliseconds, a 12-bit counter, then random bits. Ids of
 * conflicts, dead letters and outbox events sort by creation, so keyset pagination by id lists
 * them in order. Node 20's crypto has only v4; the layout is a few lines.
 */
export function uuidv7(now = Date.now()): string {
  if (now > lastMs) {
    lastMs = now;
    sequence = 0;
  } else if (++sequence > 0xfff) {
    lastMs++;
    sequence = 0;
  }
  if (poolOffset + 16 > pool.length) {
    pool = randomBytes(POOL_SIZE);
    poolOffset = 0;
  }
  const bytes = Buffer.from(pool.subarray(poolOffset, (poolOffset += 16)));
  bytes.writeUIntBE(lastMs, 0, 6);
  bytes[6] = 0x70 | (sequence >> 8);
  bytes[7] = sequence & 0xff;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

// The ISO text of each Date the engine writes, made once per Date: one value of an event (a row's
// period, say) goes into several JSON parameters of the batch (the key lookup, the row, the outbox,
// the audit entry), and JSON.stringify of an object holding a Date costs ~4x one holding its text.
const isoTexts = new WeakMap<Date, { time: number; text: string }>();

/** `date.toISOString()` (throws on an invalid Date, as it does), cached per Date object. */
export function isoText(date: Date): string {
  const time = date.getTime();
  const cached = isoTexts.get(date);
  if (cached !== undefined && cached.time === time) return cached.text;
  const text = date.toISOString();
  isoTexts.set(date, { time, text });
  return text;
}

/** `value` as JSON writes it when it is a valid Date (its ISO text), else `value` itself. */
export function jsonReady(value: unknown): unknown {
  return value instanceof Date && !Number.isNaN(value.getTime()) ? isoText(value) : value;
}

/**
 * A value as the engine compares and keys it. Stored rows arrive as JSON (dates as `2025-11-01`
 * or `2025-11-01T00:00:00+00:00`, numerics as numbers), incoming ones as Prisma would take them
 * (Date, Money strings): instants become ISO strings, numerics numbers, everything else stays.
 */
export function plainValue(value: unknown, type: ColumnType = 'other'): unknown {
  if (value instanceof Date) return isoText(value);
  if (type === 'time' && typeof value === 'string') {
    const time = Date.parse(value);
    return Number.isNaN(time) ? value : new Date(time).toISOString();
  }
  if (value !== null && typeof value === 'object' && !Array.isArray(value) && 'toFixed' in value) {
    return Number(String(value));
  }
  if (type === 'numeric' && typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) {
    return Number(value);
  }
  return value;
}

/** The natural key of a row as text (`hub_sync_row_source.row_key`): JSON of the key values in key order. */
export function rowKeyText(
  key: readonly string[],
  values: Readonly<Record<string, unknown>>,
  columns?: TableInfo['columns'],
): string {
  return JSON.stringify(key.map((column) => plainValue(values[column], columns?.get(column))));
}

/** Lock buckets per (domain, tenant, model): the most advisory locks one batch takes per model. */
export const LOCK_BUCKETS = 64;

/**
 * The advisory-lock key of one row, as a signed 64-bit integer: sha256(domain, tenant, model) with
 * its low 6 bits replaced by the row's bucket (FNV-1a of the row key, mod 64). Rows share buckets
 * so that a batch holds at most 64 locks per model: Postgres keeps every lock of a transaction in a
 * shared table of max_locks_per_transaction x max_connections slots (6,400 by default), which a
 * few concurrent batches of 1,000 row locks each would exhaust. Unrelated rows in one bucket only
 * wait for each other; correctness needs just that the same row always maps to the same lock.
 * The domain is part of it because with one DATABASE_URL the seven stores share one database.
 */
export function rowLockKey(domain: string, tenantId: string, model: string, rowKey: string): bigint {
  return lockSpace(`${domain}\n${tenantId}\n${model}`) | BigInt(fnv1a(rowKey) % LOCK_BUCKETS);
}

/**
 * FNV-1a (32 bits) of a string's UTF-16 code units: the bucket of a row or key. A bucket needs
 * only spread and stability, not a cryptographic hash: sha256 here cost ~2 µs per row and key
 * (two per event) against ~0.1. Every process must bucket alike, so a change of this function
 * needs all writers of a store restarted together (see docs/design/sync-pipeline.md).
 */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}

/**
 * Lock buckets for idempotency keys per (domain, tenant). Fewer than for rows: they add to every
 * batch's share of the shared lock table (see LOCK_BUCKETS), and two batches of one tenant that
 * share a key bucket mostly share row buckets too, so more would rarely let them run in parallel.
 */
export const KEY_LOCK_BUCKETS = 16;

/**
 * The advisory-lock key of an idempotency key: its bucket (of KEY_LOCK_BUCKETS) in a space of its own per (domain,
 * tenant) — `#` cannot start a model name, so it never shares a space with rows. Taken with the
 * row locks instead of a PENDING claim row (one write per key instead of an insert and an update).
 */
export function keyLockKey(domain: string, tenantId: string, key: string): bigint {
  return lockSpace(`${domain}\n${tenantId}\n#idempotency`) | BigInt(fnv1a(key) % KEY_LOCK_BUCKETS);
}

// sha256 of (domain, tenant, model), bucket bits cleared, per space: two hashes per row were a
// visible share of a batch's CPU, and a batch touches a handful of spaces.
const spaces = new Map<string, bigint>();

function lockSpace(name: string): bigint {
  let space = spaces.get(name);
  if (space === undefined) {
    space = createHash('sha256').update(name).digest().readBigInt64BE(0) & ~BigInt(LOCK_BUCKETS - 1);
    if (spaces.size > 10_000) spaces.clear();
    spaces.set(name, space);
  }
  return space;
}
