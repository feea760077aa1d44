import { appendFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyMigrations, checksumOf, readMigrations, type SqlRunner } from '../src/migrate.js';
import { connectToSchema, pgliteRunner, pgRunner } from '../src/runners.js';
import { copyMigrations, freshDatabase, tempDir, type FreshDatabase } from './helpers.js';

/** Prisma's `_prisma_migrations` as information_schema describes it. */
const PRISMA_COLUMNS = [
  ['id', 'character varying', 'NO', 36],
  ['checksum', 'character varying', 'NO', 64],
  ['finished_at', 'timestamp with time zone', 'YES', null],
  ['migration_name', 'character varying', 'NO', 255],
  ['logs', 'text', 'YES', null],
  ['rolled_back_at', 'timestamp with time zone', 'YES', null],
  ['started_at', 'timestamp with time zone', 'NO', null],
  ['applied_steps_count', 'integer', 'NO', null],
];

interface Backend {
  /** A runner whose unqualified names resolve in a schema of its own. */
  runner(schema: string): Promise<SqlRunner>;
}

let database: FreshDatabase;
let pglite: PGlite;
let pgliteDir: { path: string; remove(): Promise<void> };
const pgClients: pg.Client[] = [];
let scratch: { path: string; remove(): Promise<void> };
let counter = 0;

const backends: Record<string, Backend> = {
  postgres: {
    async runner(schema) {
      const client = await connectToSchema(database.url, schema);
      pgClients.push(client);
      return pgRunner(client);
    },
  },
  pglite: {
    async runner(schema) {
      // One PGlite connection: switching search_path switches the test's "database".
      await pglite.exec(`CREATE SCHEMA "${schema}"; SET search_path TO "${schema}"`);
      return pgliteRunner(pglite);
    },
  },
};

beforeAll(async () => {
  database = await freshDatabase();
  scratch = await tempDir('migrate');
  pgliteDir = await tempDir('pglite');
  pglite = await PGlite.create(pgliteDir.path);
});

afterAll(async () => {
  await Promise.all(pgClients.map((c) => c.end()));
  await pglite?.close();
  await database?.drop();
  await pgliteDir?.remove();
  await scratch?.remove();
});

/** A private copy of the fixture migrations plus a runner on an empty schema. */
async function setup(backend: Backend) {
  counter++;
  const migrationsDir = await copyMigrations(join(scratch.path, `case${counter}`));
  const db = await backend.runner(`case${counter}`);
  return { db, migrationsDir };
}

async function addMigration(migrationsDir: string, name: string, sql: string): Promise<void> {
  await mkdir(join(migrationsDir, name), { recursive: true });
  await writeFile(join(migrationsDir, name, 'migration.sql'), sql);
}

describe.each(Object.entries(backends))('applyMigrations on %s', (_name, backend) => {
  it('applies pending migrations once; applying again is a no-op', async () => {
    const { db, migrationsDir } = await setup(backend);
    const files = await readMigrations(migrationsDir);
    expect((await applyMigrations(db, migrationsDir)).applied).toEqual(files.map((f) => f.name));
    expect((await applyMigrations(db, migrationsDir)).applied).toEqual([]);
    const rows = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM "_prisma_migrations"');
    expect(rows[0]?.n).toBe(files.length);
    await db.query('SELECT 1 FROM "Widget" LIMIT 1');

    await addMigration(migrationsDir, '29990101000000_add_color', 'ALTER TABLE "Widget" ADD COLUMN "color" TEXT;\n');
    expect((await applyMigrations(db, migrationsDir)).applied).toEqual(['29990101000000_add_color']);
  });

  it('records each migration in _prisma_migrations exactly as Prisma does', async () => {
    const { db, migrationsDir } = await setup(backend);
    await applyMigrations(db, migrationsDir);
    const columns = await db.query<{ column_name: string; data_type: string; is_nullable: string; len: number | null }>(
      `SELECT column_name, data_type, is_nullable, character_maximum_length AS len
       FROM information_schema.columns
       WHERE table_name = '_prisma_migrations' AND table_schema = current_schema()
       ORDER BY ordinal_position`,
    );
    expect(columns.map((c) => [c.column_name, c.data_type, c.is_nullable, c.len])).toEqual(PRISMA_COLUMNS);

    const [file] = await readMigrations(migrationsDir);
    const [row] = await db.query<Record<string, unknown>>('SELECT * FROM "_prisma_migrations"');
    if (file === undefined || row === undefined) throw new Error('fixture has no migration');
    const sql = await readFile(join(migrationsDir, file.name, 'migration.sql'), 'utf8');
    expect(row.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(row.checksum).toBe(checksumOf(sql));
    expect(row.checksum).toMatch(/^[0-9a-f]{64}$/);
    expect(row.migration_name).toBe(file.name);
    expect(row.applied_steps_count).toBe(1);
    expect(row.logs).toBeNull();
    expect(row.rolled_back_at).toBeNull();
    expect(row.finished_at).toBeInstanceOf(Date);
    expect((row.finished_at as Date).getTime()).toBeGreaterThanOrEqual((row.started_at as Date).getTime());
  });

  it('refuses to run when an applied migration was edited', async () => {
    const { db, migrationsDir } = await setup(backend);
    await applyMigrations(db, migrationsDir);
    const [file] = await readMigrations(migrationsDir);
    if (file === undefined) throw new Error('fixture has no migration');
    await appendFile(join(migrationsDir, file.name, 'migration.sql'), '\n-- sneaky edit\n');
    await addMigration(migrationsDir, '29990101000000_next', 'CREATE TABLE "Next" ("id" TEXT);\n');
    await expect(applyMigrations(db, migrationsDir)).rejects.toThrow(
      new RegExp(`${file.name} were modified after they were applied`),
    );
    // Nothing after the refusal ran.
    const next = await db.query(`SELECT 1 FROM information_schema.tables WHERE table_name = 'Next'`);
    expect(next).toEqual([]);
  });

  it('refuses to run when an applied migration is missing from the directory', async () => {
    const { db, migrationsDir } = await setup(backend);
    await applyMigrations(db, migrationsDir);
    const [file] = await readMigrations(migrationsDir);
    if (file === undefined) throw new Error('fixture has no migration');
    await rm(join(migrationsDir, file.name), { recursive: true });
    await expect(applyMigrations(db, migrationsDir)).rejects.toThrow(/missing from the migrations directory/);
  });

  it('rolls back a failing migration, records nothing and stops there', async () => {
    const { db, migrationsDir } = await setup(backend);
    await addMigration(
      migrationsDir,
      '29990101000000_broken',
      'CREATE TABLE "Half" ("id" TEXT);\nSELECT * FROM "NoSuchTable";\n',
    );
    await addMigration(migrationsDir, '29990102000000_after', 'CREATE TABLE "After" ("id" TEXT);\n');
    await expect(applyMigrations(db, migrationsDir)).rejects.toThrow(
      /29990101000000_broken failed and was rolled back/,
    );
    const tables = await db.query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_name IN ('Half', 'After')`,
    );
    expect(tables).toEqual([]);
    const names = await db.query<{ migration_name: string }>('SELECT migration_name FROM "_prisma_migrations"');
    expect(names.map((r) => r.migration_name)).not.toContain('29990101000000_broken');
  });
});

describe('applyMigrations on postgres, concurrently', () => {
  it('applies each migration once when two processes race (advisory lock)', async () => {
    const { migrationsDir } = await setup(backends.postgres as Backend);
    const [a, b] = await Promise.all([backends.postgres?.runner('racing'), backends.postgres?.runner('racing')]);
    if (a === undefined || b === undefined) throw new Error('no runner');
    const results = await Promise.all([applyMigrations(a, migrationsDir), applyMigrations(b, migrationsDir)]);
    const files = await readMigrations(migrationsDir);
    expect(results.flatMap((r) => r.applied).sort()).toEqual(files.map((f) => f.name));
    const rows = await a.query<{ n: number }>('SELECT count(*)::int AS n FROM "_prisma_migrations"');
    expect(rows[0]?.n).toBe(files.length);
  });
});
