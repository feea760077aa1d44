/**
 * @hub/store: opens a domain's Prisma client on PostgreSQL (one schema per domain) or on an
 * embedded PGlite data directory, applies its migrations, and scopes it to a tenant.
 */
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import pg from 'pg';
import { applyMigrations } from './migrate.js';
import { SYNC_MIGRATIONS } from './paths.js';
import { connectToSchema, ensureDatabase, pgliteRunner, pgRunner, quoteIdent } from './runners.js';
import { attachStoreSql, pgliteSql, pgSql, type QueryListener, type StoreSql } from './sql.js';

export { migrationsDirFor, schemaPathFor, DOMAINS, SYNC_MIGRATIONS, type Domain } from './paths.js';
export {
  scopeToTenant,
  scopeToViewer,
  viewerClients,
  VIEWER_CLIENTS_KEPT,
  type ViewerClients,
  ScopeViolationError,
  UnknownCustomerError,
  type RowScope,
  type ViewerScopes,
  type CustomerKeys,
  type CustomerVerifier,
} from './tenant.js';
export {
  storeSqlOf,
  attachStoreSql,
  pgSql,
  pgliteSql,
  driverErrorOf,
  type StoreSql,
  type SqlTx,
  type DriverError,
} from './sql.js';
export { applyMigrations, readMigrations, type MigrationSource, type SqlRunner, type MigrationRow } from './migrate.js';

export type StoreConfig =
  /** One Postgres schema per domain, in the database the URL names (created if missing). */
  | { kind: 'postgres'; url: string; schema: string }
  /** In-process PGlite, one data directory per domain; only one process may open it. */
  | { kind: 'embedded'; dataDir: string };

export interface Store<C> {
  /** The unscoped client: for migrations, seeding and health checks. Requests use scopeToTenant. */
  client: C;
  /** The same store's driver (pg pool / PGlite) for set-based raw SQL without Prisma (sql.ts). */
  sql: StoreSql;
  /**
   * The same driver without the `onQuery` listener: for background machinery (the job queue's polling
   * and bookkeeping), whose statements are no request's and must not count in its per-table metrics.
   */
  backgroundSql: StoreSql;
  config: StoreConfig;
  /** Applies pending migrations from the domain's migrations directory. */
  migrate(): Promise<{ applied: string[] }>;
  /** Disconnects the client and closes the pool or the PGlite instance. */
  close(): Promise<void>;
}

export interface OpenStoreOptions<C> {
  domain: string;
  config: StoreConfig;
  // The generated PrismaClient constructors differ per domain; their option type is not shared.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  PrismaClient: new (o: any) => C;
  migrationsDir: string;
  /** Called for every SQL statement the client runs (metrics, traces), with its error when it failed. */
  onQuery?: QueryListener;
}

/** The part of every generated PrismaClient this module relies on. */
interface ClientLike {
  $on(event: 'query', cb: (e: { query: string; duration: number }) => void): void;
  $disconnect(): Promise<void>;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

/**
 * Where a domain keeps its data: `<DOMAIN>_DATABASE_URL` (schema from its `?schema=`, else the
 * domain), else `DATABASE_URL` (schema = domain), else an embedded PGlite directory at
 * `${HUB_DATA_DIR ?? '.data'}/<domain>` (resolved against the working directory).
 */
export function storeConfigFromEnv(domain: string, env: NodeJS.ProcessEnv = process.env): StoreConfig {
  const own = nonEmpty(env[`${domain.toUpperCase()}_DATABASE_URL`]);
  if (own !== undefined) {
    const schema = new URL(own).searchParams.get('schema');
    return { kind: 'postgres', url: own, schema: schema !== null && schema !== '' ? schema : domain };
  }
  const shared = nonEmpty(env.DATABASE_URL);
  if (shared !== undefined) return { kind: 'postgres', url: shared, schema: domain };
  return { kind: 'embedded', dataDir: resolve(nonEmpty(env.HUB_DATA_DIR) ?? '.data', domain) };
}

/**
 * Splits Prisma-style URL parameters from what `pg` should see: `schema` is applied through
 * search_path, `connection_limit` becomes the pool size.
 */
function pgConnection(url: string, schema: string): { connectionString: string; max: number; options: string } {
  const u = new URL(url);
  const limit = Number(u.searchParams.get('connection_limit') ?? '5');
  u.searchParams.delete('schema');
  u.searchParams.delete('connection_limit');
  return {
    connectionString: u.toString(),
    max: Number.isInteger(limit) && limit > 0 ? limit : 5,
    // Raw SQL ($queryRaw) sees the domain's tables unqualified, like Prisma's own queries.
    options: `-c search_path=${quoteIdent(schema)}`,
  };
}

function wireQueryLog(client: unknown, onQuery: OpenStoreOptions<unknown>['onQuery']): void {
  if (onQuery === undefined) return;
  (client as ClientLike).$on('query', (e) => onQuery(e.query, e.duration));
}

function clientOptions(adapter: unknown, onQuery: OpenStoreOptions<unknown>['onQuery']): object {
  return onQuery === undefined ? { adapter } : { adapter, log: [{ emit: 'event', level: 'query' }] };
}

async function openPostgres<C>(
  opts: OpenStoreOptions<C>,
  config: Extract<StoreConfig, { kind: 'postgres' }>,
): Promise<Store<C>> {
  const conn = pgConnection(config.url, config.schema);
  await ensureDatabase(conn.connectionString);
  // Creating the schema up front lets the client start before migrate() has run.
  const setup = await connectToSchema(conn.connectionString, config.schema);
  await setup.end();
  // One pool for Prisma's adapter and the store's own driver (`sql`): one connection limit.
  const pool = new pg.Pool(conn);
  // An idle connection the server ended (restart, terminated backend) is dropped by the pool and
  // replaced on next use; without a listener its 'error' event would crash the process.
  pool.on('error', () => undefined);
  const adapter = new PrismaPg(pool, { schema: config.schema });
  const client = new opts.PrismaClient(clientOptions(adapter, opts.onQuery));
  wireQueryLog(client, opts.onQuery);
  const sql = pgSql(pool, opts.onQuery);
  attachStoreSql(client as object, sql);
  return {
    client,
    sql,
    backgroundSql: pgSql(pool),
    config,
    migrate: () => migrateStore(config, opts.migrationsDir),
    async close() {
      // An external pool is not ended by the adapter's disconnect.
      await (client as unknown as ClientLike).$disconnect();
      await pool.end();
    },
  };
}

async function openEmbedded<C>(
  opts: OpenStoreOptions<C>,
  config: Extract<StoreConfig, { kind: 'embedded' }>,
): Promise<Store<C>> {
  await mkdir(config.dataDir, { recursive: true });
  const pglite = await PGlite.create(config.dataDir);
  const client = new opts.PrismaClient(clientOptions(new PrismaPGlite(pglite), opts.onQuery));
  wireQueryLog(client, opts.onQuery);
  const sql = pgliteSql(pglite, opts.onQuery);
  attachStoreSql(client as object, sql);
  return {
    client,
    sql,
    backgroundSql: pgliteSql(pglite),
    config,
    migrate: () => applyMigrations(pgliteRunner(pglite), opts.migrationsDir, [SYNC_MIGRATIONS]),
    async close() {
      await (client as unknown as ClientLike).$disconnect();
      if (!pglite.closed) await pglite.close();
    },
  };
}

/**
 * Applies pending migrations to a store — the domain's own, then the sync bookkeeping
 * (SYNC_MIGRATIONS) — without opening a Prisma client (used by the migrate:apply CLI). Embedded
 * stores must not be open in another process at the same time.
 */
export async function migrateStore(config: StoreConfig, migrationsDir: string): Promise<{ applied: string[] }> {
  if (config.kind === 'postgres') {
    const { connectionString } = pgConnection(config.url, config.schema);
    await ensureDatabase(connectionString);
    const db = await connectToSchema(connectionString, config.schema);
    try {
      return await applyMigrations(pgRunner(db), migrationsDir, [SYNC_MIGRATIONS]);
    } finally {
      await db.end();
    }
  }
  await mkdir(config.dataDir, { recursive: true });
  const pglite = await PGlite.create(config.dataDir);
  try {
    return await applyMigrations(pgliteRunner(pglite), migrationsDir, [SYNC_MIGRATIONS]);
  } finally {
    await pglite.close();
  }
}

/**
 * The store's driver alone, without a Prisma client or migrations: for tools that read a store
 * (`npm run audit:verify`). An embedded store must not be open in another process at the same time.
 */
export async function openStoreSql(config: StoreConfig): Promise<{ sql: StoreSql; close(): Promise<void> }> {
  if (config.kind === 'postgres') {
    const conn = pgConnection(config.url, config.schema);
    const pool = new pg.Pool({ ...conn, max: 1 });
    pool.on('error', () => undefined);
    return { sql: pgSql(pool), close: () => pool.end() };
  }
  const pglite = await PGlite.create(config.dataDir);
  return {
    sql: pgliteSql(pglite),
    async close() {
      if (!pglite.closed) await pglite.close();
    },
  };
}

/**
 * A dedicated connection to a Postgres store (search_path = its schema), outside the pool: for
 * session state a pooled connection cannot hold, e.g. the outbox relay's leader lock
 * (`pg_try_advisory_lock`, released when this connection drops) and LISTEN. Embedded stores have
 * no second connection (one process owns PGlite): undefined.
 */
export async function openSessionConnection(config: StoreConfig): Promise<pg.Client | undefined> {
  if (config.kind !== 'postgres') return undefined;
  const { connectionString } = pgConnection(config.url, config.schema);
  const client = await connectToSchema(connectionString, config.schema);
  // A dropped session must not crash the process; its owner sees the failed query and reconnects.
  client.on('error', () => undefined);
  return client;
}

/** Opens a domain store. Call `migrate()` before serving, `close()` on shutdown. */
export async function openStore<C>(opts: OpenStoreOptions<C>): Promise<Store<C>> {
  return opts.config.kind === 'postgres' ? openPostgres(opts, opts.config) : openEmbedded(opts, opts.config);
}
