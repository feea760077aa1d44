import { randomUUID } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import {
  bindMigrationAwareSqlAdapterFactory,
  type SqlDriverAdapter,
  type SqlMigrationAwareDriverAdapterFactory,
} from '@prisma/driver-adapter-utils';
import type { MigrationList, SchemaEngine } from '@prisma/schema-engine-wasm';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { checksumOf, MIGRATIONS_TABLE_DDL } from './migrate.js';

/** The subset of the wasm-bindgen glue module we call into. */
interface EngineGlue {
  SchemaEngine: typeof SchemaEngine;
  __wbg_set_wasm(exports: Record<string, unknown>): void;
}

/** Node has the WebAssembly global, but our lib settings (no DOM) carry no types for it. */
interface WasmApi {
  instantiate(
    bytes: Uint8Array,
    imports: Record<string, unknown>,
  ): Promise<{ instance: { exports: Record<string, unknown> } }>;
}
const wasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

let gluePromise: Promise<EngineGlue> | undefined;

/**
 * Loads @prisma/schema-engine-wasm by hand: the package is built for bundlers (its entry imports the
 * .wasm file as an ES module), which Node cannot do, so we instantiate the wasm ourselves and hand
 * its exports to the glue code.
 */
function loadEngineGlue(): Promise<EngineGlue> {
  gluePromise ??= (async () => {
    const g = globalThis as { PRISMA_WASM_PANIC_REGISTRY?: { set_message(m: string): void } };
    // Without this registry a Rust panic surfaces as an unreadable "unreachable" trap.
    g.PRISMA_WASM_PANIC_REGISTRY ??= {
      set_message(message: string) {
        lastPanic = message;
      },
    };
    const require = createRequire(import.meta.url);
    const pkgDir = join(require.resolve('@prisma/schema-engine-wasm/schema_engine_bg'), '..');
    const bg = (await import(join(pkgDir, 'schema_engine_bg.js'))) as EngineGlue;
    const bytes = await readFile(join(pkgDir, 'schema_engine_bg.wasm'));
    const { instance } = await wasmApi.instantiate(bytes, { './schema_engine_bg.js': bg });
    bg.__wbg_set_wasm(instance.exports);
    (instance.exports.__wbindgen_start as () => void)();
    return bg;
  })();
  return gluePromise;
}

let lastPanic: string | undefined;

const NO_FILTERS = { externalTables: [], externalEnums: [] };

const WIPE_PUBLIC = 'DROP SCHEMA public CASCADE; CREATE SCHEMA public; GRANT ALL ON SCHEMA public TO public;';

/**
 * Main and shadow databases are in-memory PGlite instances. PGlite start-up dominates the run
 * time, so both are started once per process (in parallel) and wiped between uses: the engine
 * asks for a shadow database more than once per command and expects it empty each time.
 */
class InMemoryPGliteFactory implements SqlMigrationAwareDriverAdapterFactory {
  readonly provider = 'postgres';
  readonly adapterName = 'hub-in-memory-pglite';
  readonly db = new PGlite();
  private readonly shadow = new PGlite();
  private shadowDirty = false;
  connect(): Promise<SqlDriverAdapter> {
    return new PrismaPGlite(this.db).connect();
  }
  async connectToShadowDb(): Promise<SqlDriverAdapter> {
    if (this.shadowDirty) await this.shadow.exec(WIPE_PUBLIC);
    this.shadowDirty = true;
    return new PrismaPGlite(this.shadow).connect();
  }
  async reset(): Promise<void> {
    await this.db.exec(WIPE_PUBLIC);
    if (this.shadowDirty) await this.shadow.exec(WIPE_PUBLIC);
    this.shadowDirty = false;
  }
  async close(): Promise<void> {
    await Promise.all([this.db.close(), this.shadow.close()]);
  }
}

let sharedFactory: InMemoryPGliteFactory | undefined;
/** Serialises planMigration calls: they share the two PGlite instances. */
let queue: Promise<unknown> = Promise.resolve();

/** Closes the in-memory databases kept between planMigration calls. */
export async function releaseEngine(): Promise<void> {
  await queue.catch(() => undefined);
  const factory = sharedFactory;
  sharedFactory = undefined;
  await factory?.close();
}

async function recordAllAsApplied(db: PGlite, list: MigrationList): Promise<void> {
  await db.exec(MIGRATIONS_TABLE_DDL);
  for (const dir of list.migrationDirectories) {
    if (dir.migrationFile.content.tag !== 'ok') {
      throw new Error(`${dir.path}/migration.sql: ${dir.migrationFile.content.value}`);
    }
    await db.query(
      `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, finished_at, applied_steps_count)
       VALUES ($1, $2, $3, now(), 1)`,
      [randomUUID(), checksumOf(dir.migrationFile.content.value), dir.path],
    );
  }
}

/** Reads a migrations directory the way the Prisma CLI does (sorted, lock file optional). */
export async function readMigrationList(migrationsDir: string): Promise<MigrationList> {
  const lockPath = 'migration_lock.toml';
  const lockContent = await readFile(join(migrationsDir, lockPath), 'utf8').catch(() => null);
  const entries = await readdir(migrationsDir, { withFileTypes: true }).catch(() => []);
  const dirs = await Promise.all(
    entries
      .filter((e) => e.isDirectory())
      .map(async (e) => {
        const content = await readFile(join(migrationsDir, e.name, 'migration.sql'), 'utf8')
          .then((value) => ({ tag: 'ok' as const, value }))
          .catch((err: Error) => ({ tag: 'error' as const, value: err.message }));
        return { path: e.name, migrationFile: { path: 'migration.sql', content } };
      }),
  );
  dirs.sort((a, b) => a.path.localeCompare(b.path));
  return {
    baseDir: migrationsDir,
    lockfile: { path: lockPath, content: lockContent },
    migrationDirectories: dirs,
    shadowDbInitScript: '',
  };
}

export interface PlannedMigration {
  /** `<timestamp>_<name>` as the engine generated it. */
  name: string;
  /** The SQL, or null when the schema already matches the migrations. */
  script: string | null;
  connectorType: string;
  extension: string;
  migrationsList: MigrationList;
}

/**
 * Replays the committed migrations into an in-memory PGlite shadow database and diffs the result
 * against the schema, exactly as `prisma migrate dev --create-only` does.
 */
export function planMigration(opts: PlanOptions): Promise<PlannedMigration> {
  const run = queue.catch(() => undefined).then(() => planMigrationNow(opts));
  queue = run;
  return run;
}

interface PlanOptions {
  schemaPath: string;
  migrationsDir: string;
  name: string;
}

async function planMigrationNow(opts: PlanOptions): Promise<PlannedMigration> {
  const glue = await loadEngineGlue();
  const schema = await readFile(opts.schemaPath, 'utf8');
  const migrationsList = await readMigrationList(opts.migrationsDir);
  sharedFactory ??= new InMemoryPGliteFactory();
  const factory = sharedFactory;
  await factory.reset();
  const logs: string[] = [];
  try {
    const engine = await glue.SchemaEngine.new(
      { datamodels: [[opts.schemaPath, schema]] },
      (line: string) => logs.push(line),
      bindMigrationAwareSqlAdapterFactory(factory),
    );
    try {
      // In the wasm build createMigration has no shadow-database factory; devDiagnostic has one,
      // and caches the schema it replays from the migrations recorded as applied in the main
      // database, keyed by that list. Recording every migration as applied in our throw-away main
      // database makes that key equal to createMigration's, which then reuses the replay.
      // The diagnostic's verdict (drift: the main database has no tables) is meaningless here.
      await recordAllAsApplied(factory.db, migrationsList);
      await engine.devDiagnostic({ migrationsList, filters: NO_FILTERS });
      const out = await engine.createMigration({
        draft: false,
        migrationName: opts.name,
        migrationsList,
        schema: { files: [{ path: opts.schemaPath, content: schema }] },
        filters: NO_FILTERS,
      });
      return {
        name: out.generatedMigrationName,
        script: out.migrationScript,
        connectorType: out.connectorType,
        extension: out.extension,
        migrationsList,
      };
    } finally {
      engine.free();
    }
  } catch (err) {
    throw engineError(err, logs);
  }
}

function engineError(err: unknown, logs: string[]): Error {
  const base = err instanceof Error ? err.message : JSON.stringify(err);
  let detail = '';
  if (lastPanic !== undefined) {
    detail = `\nengine panic: ${lastPanic}`;
    lastPanic = undefined;
    // No engine method is safe to call after a panic: load a fresh instance next time.
    gluePromise = undefined;
  }
  const notable = logs.filter((line) => !line.includes('"level":"INFO"') && !line.includes('"level":"DEBUG"'));
  const tail = notable.length > 0 ? `\nengine log:\n${notable.slice(-10).join('\n')}` : '';
  return new Error(`schema engine failed: ${base}${detail}${tail}`, { cause: err });
}
