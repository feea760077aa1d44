/**
 * The store's own driver, beside its Prisma client, for code that runs a few large set-based
 * statements per transaction (the sync engine, packages/core/src/sync/). Prisma's raw-query path
 * re-handles every parameter and row and its interactive transactions cost extra round trips;
 * measured in bench:sync it took more CPU than the statements themselves. On PostgreSQL this is
 * the same `pg` pool Prisma's adapter uses (one pool per store), on the embedded store the same
 * PGlite instance.
 */
import type { PGlite, Transaction } from '@electric-sql/pglite';
import type pg from 'pg';

/** Statements inside one transaction. Parameters are `pg`'s: strings, numbers, arrays, null. */
export interface SqlTx {
  query<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  /** A statement whose rows nobody reads; the affected row count. */
  execute(sql: string, params?: readonly unknown[]): Promise<number>;
}

export interface StoreSql {
  readonly kind: 'postgres' | 'embedded';
  /** One statement outside any transaction. */
  query<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  /** BEGIN … COMMIT on one connection; a throw rolls back and rethrows the original error. */
  transaction<T>(fn: (tx: SqlTx) => Promise<T>): Promise<T>;
  /**
   * One or more statements without parameters, sent as one simple-protocol query (the extended
   * protocol takes one statement); the rows of the last. For libraries that send scripts (pg-boss's
   * `BEGIN; …; COMMIT` blocks).
   */
  script<T = Record<string, unknown>>(sql: string): Promise<T[]>;
  /**
   * Runs `fn` on one connection held for its whole duration, outside any transaction: for
   * session-level state such as an advisory lock that must live exactly as long as `fn` (the job
   * runner's per-job lock). On the embedded store it is the one PGlite session.
   */
  session<T>(fn: (conn: SqlTx) => Promise<T>): Promise<T>;
}

/**
 * A driver error as both drivers report it (pg-protocol's DatabaseError fields): SQLSTATE `code`,
 * and for constraint failures the `table`, `constraint`, `column` and `detail`.
 */
export interface DriverError {
  code: string;
  table?: string;
  constraint?: string;
  column?: string;
  detail?: string;
  /** The context the error was raised in: `PL/pgSQL function …` when one of the store's triggers raised it. */
  where?: string;
  message: string;
}

export function driverErrorOf(error: unknown): DriverError | null {
  if (error === null || typeof error !== 'object') return null;
  const code = (error as { code?: unknown }).code;
  // SQLSTATEs are five characters; Node's own errors (ECONNREFUSED, ...) are not SQLSTATEs.
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? (error as DriverError) : null;
}

/**
 * Called with every statement's text and time when the store was opened with `onQuery`, and the
 * driver's error when it failed (raw SQL; Prisma reports its statements once they succeeded).
 */
export type QueryListener = (sql: string, durationMs: number, error?: unknown) => void;

/** Times `run` for the listener; without one it adds nothing. */
async function timed<T>(onQuery: QueryListener | undefined, sql: string, run: () => Promise<T>): Promise<T> {
  if (!onQuery) return run();
  const started = performance.now();
  try {
    const result = await run();
    onQuery(sql, performance.now() - started);
    return result;
  } catch (error) {
    onQuery(sql, performance.now() - started, error);
    throw error;
  }
}

export function pgSql(pool: pg.Pool, onQuery?: QueryListener): StoreSql {
  const run = (db: pg.Pool | pg.PoolClient, sql: string, params?: readonly unknown[]) =>
    timed(onQuery, sql, () => db.query(sql, params as unknown[]));
  return {
    kind: 'postgres',
    async query<T>(sql: string, params?: readonly unknown[]) {
      return (await run(pool, sql, params)).rows as T[];
    },
    async transaction<T>(fn: (tx: SqlTx) => Promise<T>) {
      const client = await pool.connect();
      const tx: SqlTx = {
        async query<R>(sql: string, params?: readonly unknown[]) {
          return (await run(client, sql, params)).rows as R[];
        },
        async execute(sql: string, params?: readonly unknown[]) {
          return (await run(client, sql, params)).rowCount ?? 0;
        },
      };
      let broken: Error | undefined;
      try {
        await run(client, 'BEGIN');
        const out = await fn(tx);
        await run(client, 'COMMIT');
        return out;
      } catch (error) {
        // A connection that cannot even roll back is discarded, not returned to the pool.
        await client.query('ROLLBACK').catch((rollback: Error) => (broken = rollback));
        throw error;
      } finally {
        client.release(broken);
      }
    },
    async script<T>(sql: string) {
      const result = (await timed(onQuery, sql, () => pool.query(sql))) as unknown as pg.QueryResult | pg.QueryResult[];
      const last = Array.isArray(result) ? result[result.length - 1] : result;
      return (last?.rows ?? []) as T[];
    },
    async session<T>(fn: (conn: SqlTx) => Promise<T>) {
      const client = await pool.connect();
      let broken: Error | undefined;
      try {
        return await fn({
          async query<R>(sql: string, params?: readonly unknown[]) {
            return (await run(client, sql, params)).rows as R[];
          },
          async execute(sql: string, params?: readonly unknown[]) {
            return (await run(client, sql, params)).rowCount ?? 0;
          },
        });
      } catch (error) {
        // A session that failed mid-way may hold state (locks) nobody will release: discard it.
        broken = error instanceof Error ? error : new Error(String(error));
        throw error;
      } finally {
        client.release(broken);
      }
    },
  };
}

function pgliteTx(tx: Transaction, onQuery: QueryListener | undefined): SqlTx {
  return {
    async query<R>(sql: string, params?: readonly unknown[]) {
      return (await timed(onQuery, sql, () => tx.query<R>(sql, params as unknown[]))).rows;
    },
    async execute(sql: string, params?: readonly unknown[]) {
      return (await timed(onQuery, sql, () => tx.query(sql, params as unknown[]))).affectedRows ?? 0;
    },
  };
}

export function pgliteSql(db: PGlite, onQuery?: QueryListener): StoreSql {
  return {
    kind: 'embedded',
    async query<T>(sql: string, params?: readonly unknown[]) {
      return (await timed(onQuery, sql, () => db.query<T>(sql, params as unknown[]))).rows;
    },
    transaction: (fn) => db.transaction((tx) => fn(pgliteTx(tx, onQuery))),
    async script<T>(sql: string) {
      const results = await timed(onQuery, sql, () => db.exec(sql));
      return (results[results.length - 1]?.rows ?? []) as T[];
    },
    session: (fn) =>
      fn({
        async query<R>(sql: string, params?: readonly unknown[]) {
          return (await timed(onQuery, sql, () => db.query<R>(sql, params as unknown[]))).rows;
        },
        async execute(sql: string, params?: readonly unknown[]) {
          return (await timed(onQuery, sql, () => db.query(sql, params as unknown[]))).affectedRows ?? 0;
        },
      }),
  };
}

// The driver of each client openStore made, so code handed only the client (the subgraph context,
// the sync engine) reaches the same store's driver without a second parameter at every call site.
const drivers = new WeakMap<object, StoreSql>();

export function attachStoreSql(client: object, sql: StoreSql): void {
  drivers.set(client, sql);
}

/** The driver of a client opened by `openStore` (or given one with `attachStoreSql`). */
export function storeSqlOf(client: object): StoreSql | undefined {
  return drivers.get(client);
}
