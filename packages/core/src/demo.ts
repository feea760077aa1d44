import { randomUUID } from 'node:crypto';
import { ident, type RawSqlClient } from './sync/sql.js';

/**
 * The demo data set's shared roster. Every domain seeds its own store from this roster, so the
 * seven stores agree on tenants, customer ids and owners without talking to each other.
 * Deterministic: the same roster and the same per-domain values on every machine.
 */
export interface DemoTenant {
  readonly id: string;
  readonly name: string;
  readonly customerCount: number;
  readonly ownerIds: readonly string[];
}

export interface DemoCustomer {
  readonly id: string;
  readonly tenantId: string;
  readonly name: string;
  readonly ownerId: string;
  /** Index within the tenant, 0-based. */
  readonly index: number;
}

export const DEMO_TENANTS: readonly DemoTenant[] = [
  { id: 'acme', name: 'Acme Corporation', customerCount: 300, ownerIds: ['u1', 'u2', 'u3', 'u4', 'u5', 'u6'] },
  { id: 'globex', name: 'Globex Industries', customerCount: 200, ownerIds: ['u1', 'u2', 'u3', 'u4'] },
];

const PREFIXES = [
  'Blue',
  'North',
  'Bright',
  'Silver',
  'Iron',
  'Red',
  'Summit',
  'Cedar',
  'Atlas',
  'Nova',
  'Harbor',
  'Pine',
];
const SUFFIXES = [
  'Analytics',
  'Logistics',
  'Health',
  'Retail',
  'Labs',
  'Foods',
  'Energy',
  'Media',
  'Systems',
  'Finance',
  'Works',
];

/** All demo customers, ids `cust_00001`… unique across tenants. */
export function demoCustomers(): DemoCustomer[] {
  const customers: DemoCustomer[] = [];
  let serial = 0;
  for (const tenant of DEMO_TENANTS) {
    for (let index = 0; index < tenant.customerCount; index++) {
      serial++;
      const prefix = PREFIXES[serial % PREFIXES.length] ?? 'Blue';
      const suffix = SUFFIXES[Math.floor(serial / PREFIXES.length) % SUFFIXES.length] ?? 'Labs';
      customers.push({
        id: `cust_${String(serial).padStart(5, '0')}`,
        tenantId: tenant.id,
        name: `${prefix} ${suffix} ${serial}`,
        ownerId: tenant.ownerIds[index % tenant.ownerIds.length] ?? 'u1',
        index,
      });
    }
  }
  return customers;
}

/** A small deterministic PRNG (mulberry32) seeded from a string, e.g. `${domain}:${customerId}`. */
export function demoRandom(seed: string) {
  let h = 1779033703 ^ seed.length;
  for (let i = 0; i < seed.length; i++) {
    h = Math.imul(h ^ seed.charCodeAt(i), 3432918353);
    h = (h << 13) | (h >>> 19);
  }
  let state = h >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    /** Float in [min, max), rounded to `digits` decimals. */
    float(min: number, max: number, digits = 2): number {
      const f = 10 ** digits;
      return Math.round((min + next() * (max - min)) * f) / f;
    },
    int(min: number, max: number): number {
      return Math.floor(min + next() * (max - min + 1));
    },
    pick<T>(items: readonly T[]): T {
      const item = items[Math.floor(next() * items.length)];
      if (item === undefined) throw new Error('pick from an empty list');
      return item;
    },
    /** A subset of `items`, each kept with probability `p`. */
    some<T>(items: readonly T[], p = 0.4): T[] {
      return items.filter(() => next() < p);
    },
  };
}

/** Fixed "now" for the demo data so that dates are reproducible. */
export const DEMO_NOW = new Date('2025-12-05T08:21:00Z');

export function daysBefore(days: number, from: Date = DEMO_NOW): Date {
  return new Date(from.getTime() - days * 86_400_000);
}

/** `rows` in slices of at most `size`: one statement per slice keeps seed statements bounded. */
export function chunked<T>(rows: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < rows.length; i += size) out.push(rows.slice(i, i + size));
  return out;
}

/** Writes `rows` slice by slice, one `write` at a time. */
export async function inChunks<T>(
  rows: readonly T[],
  size: number,
  write: (chunk: T[]) => Promise<unknown>,
): Promise<void> {
  for (const chunk of chunked(rows, size)) await write(chunk);
}

/**
 * Options for a seed's interactive transaction. Generous: a 2-core machine seeding seven stores at
 * once is far slower than Prisma's 5 s default, and a seed is all-or-nothing per tenant.
 */
export const SEED_TRANSACTION = { maxWait: 30_000, timeout: 120_000 } as const;

/**
 * What the subgraph kit hands a domain's seed beside its client: `insertRows`, which knows which
 * of the store's models are encrypted (the kit's encryption plan) and refuses them.
 */
export interface SeedContext {
  /**
   * Writes `rows` of `model` as one `INSERT … SELECT … FROM json_populate_recordset` through `db` (the
   * store's client or an interactive transaction's): about 13x Prisma `createMany`'s rows per second
   * (`npm run bench:sync` baseline), whose per-row Node work made seeding a third of a hub start.
   * Only the columns the rows carry are listed, so column defaults (createdAt) apply; the two
   * defaults Prisma computes itself, an `id` and an `updatedAt`, are given here (a random UUID, as
   * the sync engine gives, and now). Any other required column the rows lack is an error, as are
   * rows with different keys. A raw insert bypasses the encrypting client: an encrypted model throws
   * (write those with `createMany` through the client). Returns the number of rows inserted.
   */
  insertRows(
    db: RawSqlClient,
    model: string,
    rows: readonly Record<string, unknown>[],
    options?: { skipDuplicates?: boolean },
  ): Promise<number>;
}

interface SeedColumns {
  readonly all: ReadonlySet<string>;
  /** NOT NULL, no column default, not generated: a row must carry it. */
  readonly required: readonly string[];
}

/** The seed context of a store whose encrypted models are `encrypted` (model names). */
export function seedContext(encrypted: Iterable<string>): SeedContext {
  const refused = new Set(encrypted);
  const catalog = new Map<string, Promise<SeedColumns>>();
  const columnsOf = (db: RawSqlClient, model: string): Promise<SeedColumns> => {
    let columns = catalog.get(model);
    if (!columns) {
      // Read through `db`: inside a transaction on a single-connection store (PGlite) no other query can run.
      columns = db
        .$queryRawUnsafe<{ name: string; required: boolean }[]>(
          `SELECT column_name AS name,
                  (is_nullable = 'NO' AND column_default IS NULL AND is_identity = 'NO' AND is_generated = 'NEVER') AS required
             FROM information_schema.columns
            WHERE table_schema = current_schema() AND table_name = $1`,
          model,
        )
        .then((rows) => {
          if (rows.length === 0) throw new Error(`demo seed: table "${model}" does not exist in the store`);
          return { all: new Set(rows.map((r) => r.name)), required: rows.filter((r) => r.required).map((r) => r.name) };
        });
      columns.catch(() => catalog.delete(model));
      catalog.set(model, columns);
    }
    return columns;
  };
  return {
    async insertRows(db, model, rows, options = {}) {
      if (refused.has(model))
        throw new Error(
          `demo seed: ${model} has encrypted columns; write it with createMany through the store's client`,
        );
      const [first] = rows;
      if (!first) return 0;
      const keys = Object.keys(first).filter((k) => first[k] !== undefined);
      for (const row of rows) {
        const defined = Object.keys(row).filter((k) => row[k] !== undefined);
        if (defined.length !== keys.length || keys.some((k) => row[k] === undefined))
          throw new Error(
            `demo seed: ${model} rows carry different fields (${keys.join(', ')} vs ${defined.join(', ')})`,
          );
      }
      const columns = await columnsOf(db, model);
      for (const key of keys) if (!columns.all.has(key)) throw new Error(`demo seed: ${model} has no column "${key}"`);
      const missing = columns.required.filter((c) => !keys.includes(c));
      for (const column of missing)
        if (column !== 'id' && column !== 'updatedAt')
          throw new Error(`demo seed: ${model}.${column} is required, has no column default and the rows lack it`);
      const now = new Date();
      const full =
        missing.length === 0
          ? rows
          : rows.map((row) => ({
              ...row,
              ...(missing.includes('id') ? { id: randomUUID() } : {}),
              ...(missing.includes('updatedAt') ? { updatedAt: now } : {}),
            }));
      const list = [...keys, ...missing].map(ident).join(', ');
      return db.$executeRawUnsafe(
        `INSERT INTO ${ident(model)} (${list}) SELECT ${list} FROM json_populate_recordset(NULL::${ident(model)}, $1::json)${
          options.skipDuplicates ? ' ON CONFLICT DO NOTHING' : ''
        }`,
        JSON.stringify(full),
      );
    },
  };
}
