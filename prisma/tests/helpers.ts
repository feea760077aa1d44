/**
 * Test helpers for @hub/store. A fresh database per test file, like every package's tests; this
 * package cannot use @hub/core/testing because core depends on the store (it would be a cycle).
 */
import { randomBytes } from 'node:crypto';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

export const TEST_POSTGRES_URL = process.env['HUB_TEST_POSTGRES_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');
export const WIDGETS_SCHEMA = join(FIXTURES, 'widgets', 'schema.prisma');
export const WIDGETS_MIGRATIONS = join(FIXTURES, 'widgets', 'migrations');

export interface FreshDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

function urlFor(database: string): string {
  const u = new URL(TEST_POSTGRES_URL);
  u.pathname = `/${database}`;
  return u.toString();
}

/** A database name that does not exist yet (openStore/migrateStore must create it). */
export function unusedDatabase(): FreshDatabase {
  const name = `hub_t_store_${randomBytes(5).toString('hex')}`;
  return {
    name,
    url: urlFor(name),
    async drop() {
      const admin = new pg.Client({ connectionString: TEST_POSTGRES_URL });
      await admin.connect();
      try {
        await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await admin.end();
      }
    },
  };
}

export async function freshDatabase(): Promise<FreshDatabase> {
  const db = unusedDatabase();
  const admin = new pg.Client({ connectionString: TEST_POSTGRES_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${db.name}"`);
  } finally {
    await admin.end();
  }
  return db;
}

/** A scratch directory removed by the returned cleanup. */
export async function tempDir(prefix: string): Promise<{ path: string; remove(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), `hub-store-${prefix}-`));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** Copies the fixture's committed migrations somewhere a test may edit them. */
export async function copyMigrations(to: string): Promise<string> {
  const dir = join(to, 'migrations');
  await cp(WIDGETS_MIGRATIONS, dir, { recursive: true });
  return dir;
}

/** Runs `fn` with one connection to `url`, search_path set to `schema`. */
export async function withPg<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}
