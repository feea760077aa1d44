import { createHash, randomUUID } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * The little SQL surface the migration runner needs, implemented for `pg` and for PGlite
 * (see runners.ts). `exec` runs a multi-statement script without parameters.
 */
export interface SqlRunner {
  query<T extends object>(sql: string, params?: unknown[]): Promise<T[]>;
  exec(sql: string): Promise<void>;
  /** Runs `fn` in one transaction, rolling back when it throws. */
  transaction<T>(fn: (tx: SqlRunner) => Promise<T>): Promise<T>;
  /** Holds a cross-process lock for `fn`; no-op where only one process can reach the database. */
  withLock<T>(fn: () => Promise<T>): Promise<T>;
}

/** The same DDL as the Prisma schema engine, so `prisma migrate` can take over this history. */
export const MIGRATIONS_TABLE_DDL = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`;

export interface MigrationFile {
  /** Directory name, `<timestamp>_<name>`. */
  name: string;
  sql: string;
  /** sha256 hex of the file's bytes, as Prisma computes it. */
  checksum: string;
}

export interface MigrationRow {
  id: string;
  checksum: string;
  finished_at: Date | null;
  migration_name: string;
  logs: string | null;
  rolled_back_at: Date | null;
  started_at: Date;
  applied_steps_count: number;
}

export function checksumOf(sql: string): string {
  return createHash('sha256').update(sql, 'utf8').digest('hex');
}

/**
 * Migrations applied to a store beside its own: the sync bookkeeping of prisma/hub_sync/migrations.
 * Each is recorded in `_prisma_migrations` as `<prefix><directory name>` (e.g. `hub_sync/2026…_x`),
 * so the history tells them from the domain's own and `migrate:check` (which replays only
 * prisma/<domain>/migrations) is unaffected.
 */
export interface MigrationSource {
  readonly prefix: string;
  readonly dir: string;
}

/** Lists prisma/<domain>/migrations/*\/migration.sql in name order (missing dir = no migrations). */
export async function readMigrations(migrationsDir: string, prefix = ''): Promise<MigrationFile[]> {
  const entries = await readdir(migrationsDir, { withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [];
    throw err;
  });
  const names = entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort((a, b) => a.localeCompare(b));
  const files: MigrationFile[] = [];
  for (const name of names) {
    const sql = await readFile(join(migrationsDir, name, 'migration.sql'), 'utf8').catch(
      (err: NodeJS.ErrnoException) => {
        throw new Error(`migration ${name} has no readable migration.sql: ${err.message}`);
      },
    );
    files.push({ name: `${prefix}${name}`, sql, checksum: checksumOf(sql) });
  }
  return files;
}

/** Prisma also accepts a checksum of the file with CRLF line endings normalised (git autocrlf). */
function checksumMatches(file: MigrationFile, recorded: string): boolean {
  return recorded === file.checksum || recorded === checksumOf(file.sql.replace(/\r\n/g, '\n'));
}

/** Throws when the recorded history and the migrations directory cannot be reconciled safely. */
export function verifyHistory(files: MigrationFile[], rows: MigrationRow[]): void {
  const live = rows.filter((r) => r.rolled_back_at === null);
  const failed = live.filter((r) => r.finished_at === null);
  if (failed.length > 0) {
    throw new Error(
      `migration(s) ${failed.map((r) => r.migration_name).join(', ')} started but never finished ` +
        'in this database; inspect the database, then delete or mark the row in _prisma_migrations',
    );
  }
  const byName = new Map(files.map((f) => [f.name, f]));
  const missing = live.filter((r) => !byName.has(r.migration_name)).map((r) => r.migration_name);
  if (missing.length > 0) {
    throw new Error(
      `migration(s) ${missing.join(', ')} are applied to the database but missing from the ` +
        'migrations directory; restore them (never delete an applied migration)',
    );
  }
  const edited = live
    .filter((r) => {
      const file = byName.get(r.migration_name);
      return file !== undefined && !checksumMatches(file, r.checksum);
    })
    .map((r) => r.migration_name);
  if (edited.length > 0) {
    throw new Error(
      `migration(s) ${edited.join(', ')} were modified after they were applied (checksum ` +
        'mismatch); revert the edit and put the change in a new migration',
    );
  }
}

export async function readHistory(db: SqlRunner): Promise<MigrationRow[]> {
  return db.query<MigrationRow>('SELECT * FROM "_prisma_migrations" ORDER BY "started_at", "migration_name"');
}

/**
 * Applies every pending migration, each in its own transaction, recording it in
 * `_prisma_migrations` the way `prisma migrate deploy` does: the domain's own in name order, then
 * those of `extra` (each source in name order). Returns the names applied.
 */
export async function applyMigrations(
  db: SqlRunner,
  migrationsDir: string,
  extra: readonly MigrationSource[] = [],
): Promise<{ applied: string[] }> {
  const files = [
    ...(await readMigrations(migrationsDir)),
    ...(await Promise.all(extra.map((source) => readMigrations(source.dir, source.prefix)))).flat(),
  ];
  return db.withLock(async () => {
    await db.exec(MIGRATIONS_TABLE_DDL);
    const rows = await readHistory(db);
    verifyHistory(files, rows);
    const done = new Set(rows.filter((r) => r.rolled_back_at === null).map((r) => r.migration_name));
    const applied: string[] = [];
    for (const file of files) {
      if (done.has(file.name)) continue;
      await db
        .transaction(async (tx) => {
          const id = randomUUID();
          await tx.query(
            `INSERT INTO "_prisma_migrations" ("id", "checksum", "migration_name", "started_at", "applied_steps_count")
             VALUES ($1, $2, $3, clock_timestamp(), 0)`,
            [id, file.checksum, file.name],
          );
          await tx.exec(file.sql);
          await tx.query(
            `UPDATE "_prisma_migrations" SET "finished_at" = clock_timestamp(), "applied_steps_count" = 1
             WHERE "id" = $1`,
            [id],
          );
        })
        .catch((err: unknown) => {
          const msg = err instanceof Error ? err.message : String(err);
          throw new Error(`migration ${file.name} failed and was rolled back: ${msg}`, {
            cause: err,
          });
        });
      applied.push(file.name);
    }
    return { applied };
  });
}
