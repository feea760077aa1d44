import type { PGlite, Transaction } from '@electric-sql/pglite';
import pg from 'pg';
import type { SqlRunner } from './migrate.js';

/**
 * Prisma Migrate's own advisory-lock key, so our runner and a real `prisma migrate deploy` against
 * the same database also exclude each other.
 */
const PRISMA_ADVISORY_LOCK = 72707369;

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** A runner over one dedicated `pg` connection (transactions and session locks need one). */
export function pgRunner(client: pg.Client | pg.PoolClient): SqlRunner {
  const runner: SqlRunner = {
    async query<T extends object>(sql: string, params?: unknown[]) {
      const res = await client.query<T>(sql, params);
      return res.rows;
    },
    async exec(sql: string) {
      // Without parameters pg uses the simple-query protocol, which accepts many statements.
      await client.query(sql);
    },
    async transaction<T>(fn: (tx: SqlRunner) => Promise<T>) {
      await client.query('BEGIN');
      try {
        const out = await fn(runner);
        await client.query('COMMIT');
        return out;
      } catch (err) {
        await client.query('ROLLBACK');
        throw err;
      }
    },
    async withLock<T>(fn: () => Promise<T>) {
      await client.query('SELECT pg_advisory_lock($1)', [PRISMA_ADVISORY_LOCK]);
      try {
        return await fn();
      } finally {
        await client.query('SELECT pg_advisory_unlock($1)', [PRISMA_ADVISORY_LOCK]);
      }
    },
  };
  return runner;
}

function pgliteTxRunner(tx: Transaction): SqlRunner {
  const runner: SqlRunner = {
    async query<T extends object>(sql: string, params?: unknown[]) {
      return (await tx.query<T>(sql, params)).rows;
    },
    async exec(sql: string) {
      await tx.exec(sql);
    },
    transaction: (fn) => fn(runner),
    withLock: (fn) => fn(),
  };
  return runner;
}

/** A runner over an in-process PGlite; only this process can open its data dir, so no lock. */
export function pgliteRunner(db: PGlite): SqlRunner {
  return {
    async query<T extends object>(sql: string, params?: unknown[]) {
      return (await db.query<T>(sql, params)).rows;
    },
    async exec(sql: string) {
      await db.exec(sql);
    },
    transaction: (fn) => db.transaction((tx) => fn(pgliteTxRunner(tx))),
    withLock: (fn) => fn(),
  };
}

/** Database name in a postgres URL (defaults like libpq: the user name). */
export function databaseOf(url: string): string {
  const u = new URL(url);
  const name = decodeURIComponent(u.pathname.replace(/^\//, ''));
  return name !== '' ? name : decodeURIComponent(u.username || 'postgres');
}

/** The same server URL pointing at another database. */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${encodeURIComponent(database)}`;
  return u.toString();
}

/**
 * Creates the URL's database when it does not exist yet (via the `postgres` maintenance db), so a
 * bare `DATABASE_URL=postgres://…/hub` works on a fresh server. Safe when several processes race.
 */
export async function ensureDatabase(url: string): Promise<void> {
  const probe = new pg.Client({ connectionString: url });
  try {
    await probe.connect();
    return;
  } catch (err) {
    if ((err as { code?: string }).code !== '3D000') throw err;
  } finally {
    await probe.end().catch(() => undefined);
  }
  const admin = new pg.Client({ connectionString: withDatabase(url, 'postgres') });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${quoteIdent(databaseOf(url))}`);
  } catch (err) {
    // 42P04 duplicate_database / 23505: another process created it between our probe and now.
    const code = (err as { code?: string }).code;
    if (code !== '42P04' && code !== '23505') throw err;
  } finally {
    await admin.end();
  }
}

/**
 * Opens one connection with `search_path` set to the domain schema (created if missing), so
 * unqualified names in migration.sql and `_prisma_migrations` land in that schema, exactly as
 * Prisma does for `?schema=<name>`.
 */
export async function connectToSchema(url: string, schema: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`).catch((err: unknown) => {
      // IF NOT EXISTS is not race-free: a concurrent creator makes ours fail with 23505.
      if ((err as { code?: string }).code !== '23505') throw err;
    });
    await client.query(`SET search_path TO ${quoteIdent(schema)}`);
  } catch (err) {
    await client.end();
    throw err;
  }
  return client;
}
