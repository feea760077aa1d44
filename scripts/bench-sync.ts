/**
 * `npm run bench:sync`: ingest throughput of the one write pipeline (packages/core/src/sync/engine.ts)
 * with its full bookkeeping — idempotency record with the quality score, key and row locks,
 * field sources, conflict decisions, outbox — beside a baseline of plain inserts of the same rows, in the same run, on
 * PostgreSQL (a fresh database on 127.0.0.1:5432) and on the embedded PGlite store (a fresh data
 * directory), for
 *
 *  (a) a single-row kind: `record_feature_usage` (one FeatureUsage row per event);
 *  (b) the brief's usage-analytics payload: `usage_analytics_sync` with four features (five rows:
 *      four FeatureUsage + one AdoptionMetrics).
 *
 * Every event writes new rows (new periods per run, into a tenant that already holds rows, with
 * ANALYZE before each run as autovacuum keeps a store in use), in batches of BENCH_BATCH events;
 * one more engine run imports into a tenant the statistics have never seen. Two
 * baselines insert exactly the rows the kind's `map` gives, one interactive transaction per batch
 * as the engine has: Prisma `createMany`, and one raw multi-row INSERT per model. Runs alternate
 * baselines / engine BENCH_ROUNDS times; medians are printed. Then one more engine run prints the
 * time per engine step and (PostgreSQL) per statement. Beside the times: the CPU per event of this
 * process (Node; on PGlite the database too) and of the PostgreSQL server processes (from /proc),
 * which a loaded machine inflates far less than wall time.
 * Customer ids are not verified (no customers subgraph here: that is one HTTP call per batch).
 *
 * Options: BENCH_EVENTS (default 5000), BENCH_PGLITE_EVENTS (default 3000), BENCH_BATCH (1000),
 * BENCH_ROUNDS (3), BENCH_STORES (`postgres,pglite`).
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { EnvReader } from '@hub/core/config';
import { REPO_ROOT } from '@hub/core/process';
import { createSyncPipeline } from '@hub/core/sync/engine';
import type { SyncEvent, SyncKind } from '@hub/core/sync/types';
import { createTestDatabase, type TestDatabase } from '@hub/core/testing';
import { migrationsDirFor, openStore, type Store, type StoreConfig } from '@hub/store';
import { PrismaClient } from '@hub/store/product';
import { sync as product } from '@hub/subgraph-product/src/sync.js';
import { subgraph } from '@hub/subgraph-product/src/server.js';
import { pgCpuSeconds } from './bench-pg-cpu.js';

const read = new EnvReader();
const config = read.done({
  events: read.int('BENCH_EVENTS', 5000, { min: 1000 }),
  pgliteEvents: read.int('BENCH_PGLITE_EVENTS', 3000, { min: 1000 }),
  batch: read.int('BENCH_BATCH', 1000, { min: 1, max: 1000 }),
  rounds: read.int('BENCH_ROUNDS', 3, { min: 1, max: 20 }),
  stores: read.string('BENCH_STORES', 'postgres,pglite').split(','),
});

const FEATURES = ['email_campaigns', 'analytics_dashboard', 'automation_workflows', 'api_integrations'] as const;

/** `n` events of scenario (a) or (b) for distinct rows (customer x feature x period). */
/** `n` events of scenario (a) or (b) for rows no earlier run wrote: run `epoch` uses its own periods. */
function makeEvents(scenario: 'single' | 'usage', n: number, epoch: number): SyncEvent[] {
  const at = new Date(Date.now() - 60_000).toISOString();
  return Array.from({ length: n }, (_, i) => {
    const customerId = `cust_${String(i % 5000).padStart(5, '0')}`;
    const month = Math.floor(i / 5000);
    const year = 1900 + epoch * 10 + Math.floor(month / 12);
    const start = `${year}-${String((month % 12) + 1).padStart(2, '0')}-01`;
    const end = `${year}-${String((month % 12) + 1).padStart(2, '0')}-28`;
    if (scenario === 'single')
      return {
        kind: 'record_feature_usage',
        idempotencyKey: `e-${epoch}-${i}`,
        source: 'bench',
        payload: {
          customerId,
          periodStart: start,
          periodEnd: end,
          feature: FEATURES[i % FEATURES.length],
          category: 'CORE',
          usageCount: i % 50,
          adoptionScore: 0.5,
          successCorrelation: 0.75,
          sourceUpdatedAt: at,
        },
      };
    const figures = (feature: string, k: number) => ({
      feature,
      usageCount: (i + k) % 50,
      adoptionScore: 0.65,
      successCorrelation: 0.78,
    });
    return {
      kind: 'usage_analytics_sync',
      source: 'bench',
      payload: {
        customerId,
        usagePeriod: `${start}_to_${end}`,
        featureUsage: {
          coreFeatures: [figures('email_campaigns', 0), figures('analytics_dashboard', 1)],
          advancedFeatures: [figures('automation_workflows', 2), figures('api_integrations', 3)],
        },
        adoptionMetrics: {
          overallAdoptionRate: 0.72,
          featureDiscoveryRate: 0.45,
          activationTime: '14_days',
          maturityLevel: 'intermediate',
        },
        successCorrelation: { highUsageHealth: 0.88, featureCompleteness: 0.65, roiAchievement: 0.92 },
        syncTimestamp: at,
      },
    };
  });
}

const kinds = new Map(product.kinds.map((k) => [k.name, k as unknown as SyncKind<Record<string, unknown>>]));

/** The rows the engine writes for `events`, as Prisma createMany input per model. */
function baselineRows(events: readonly SyncEvent[], tenantId: string): Map<string, Record<string, unknown>[]> {
  const byModel = new Map<string, Record<string, unknown>[]>();
  for (const event of events) {
    const kind = kinds.get(event.kind);
    if (!kind) throw new Error(`unknown kind ${event.kind}`);
    const sourceUpdatedAt = kind.sourceTime(event.payload);
    for (const change of kind.map(event.payload)) {
      const rows = byModel.get(change.model) ?? [];
      rows.push({ tenantId, ...change.key, ...change.fields, sourceSystem: event.source, sourceUpdatedAt });
      byModel.set(change.model, rows);
    }
  }
  return byModel;
}

type Delegate = { createMany(args: { data: Record<string, unknown>[] }): Promise<unknown> };
const delegateOf = (tx: object, model: string) =>
  (tx as Record<string, Delegate>)[model.charAt(0).toLowerCase() + model.slice(1)] as Delegate;

interface Timed {
  seconds: number;
  events: number;
  rows: number;
  /** CPU of this process (Node; on PGlite also the database) and of the database's server processes, µs per event. */
  nodeUs: number;
  pgUs: number | null;
}

/**
 * CPU seconds of the PostgreSQL server processes serving `database` (client backends: not
 * autovacuum), from /proc — the server is local in this bench. Wall time on a machine shared with
 * other work swings with its load; the CPU an event costs each side swings far less. Null when
 * /proc cannot tell (another OS, a remote server).
 */
let pgDatabase: string | null = null;
const pgCpuOf = (store: Store<PrismaClient>) =>
  pgDatabase === null ? Promise.resolve(null) : pgCpuSeconds(store.backgroundSql, pgDatabase);

/** Runs `work` and its CPU per event on both sides. */
async function measured(store: Store<PrismaClient>, events: number, work: () => Promise<number>): Promise<Timed> {
  const pg0 = await pgCpuOf(store);
  const cpu0 = process.cpuUsage();
  const started = performance.now();
  const rows = await work();
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const pg1 = await pgCpuOf(store);
  return {
    seconds,
    events,
    rows,
    nodeUs: (cpu.user + cpu.system) / events,
    pgUs: pg0 === null || pg1 === null ? null : ((pg1 - pg0) * 1e6) / events,
  };
}

/** Statement timings of the current profiled run, by the statement's first words. */
let profile: Map<string, { n: number; ms: number }> | null = null;

function statementLabel(sql: string): string {
  // The engine's reads wrap their query in one json_agg (one value to decode): label the query inside.
  const text = sql
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/^SELECT coalesce\(json_agg\(r\), '\[\]'::json\) AS rows FROM \(/, '');
  const m =
    /^(SELECT count\(pg_advisory_xact_lock|SELECT DISTINCT ON|SELECT [^ ]+ FROM "?[A-Za-z_]+"?|SELECT t\.\* FROM json_populate_recordset\(NULL::"?[A-Za-z_]+"?|SELECT [a-z]\."[a-z_]+"|SELECT r\."model"|SELECT "key", "outcome"|SELECT column_name|INSERT INTO "?[A-Za-z_]+"?|UPDATE "?[A-Za-z_]+"?|DELETE FROM "?[A-Za-z_]+"?|BEGIN|COMMIT|ROLLBACK)/i.exec(
      text,
    );
  return (m?.[1] ?? text.slice(0, 40)).replace(/"/g, '');
}

function recordStatement(sql: string, ms: number): void {
  if (!profile) return;
  const label = statementLabel(sql);
  const entry = profile.get(label) ?? { n: 0, ms: 0 };
  entry.n++;
  entry.ms += ms;
  profile.set(label, entry);
}

interface BenchStore {
  store: Store<PrismaClient>;
  /** A second client on the same PostgreSQL database that logs every statement (logging costs, so timed runs go without). */
  profiled: Store<PrismaClient> | null;
  cleanup(): Promise<void>;
}

async function openBenchStore(kind: string): Promise<BenchStore> {
  let database: TestDatabase | undefined;
  let dir: string | undefined;
  let storeConfig: StoreConfig;
  if (kind === 'postgres') {
    database = await createTestDatabase('hub_bench_sync');
    storeConfig = { kind: 'postgres', url: database.url, schema: 'product' };
  } else {
    dir = await mkdtemp(path.join(os.tmpdir(), 'bench-sync-'));
    storeConfig = { kind: 'embedded', dataDir: dir };
  }
  // PGlite runs inside this process: its CPU is in the Node column.
  pgDatabase = database?.name ?? null;
  const common = { domain: 'product', config: storeConfig, PrismaClient, migrationsDir: migrationsDirFor('product') };
  const store = await openStore(common);
  await store.migrate();
  // PGlite's directory can be open once only: it is profiled by engine step, not by statement.
  const profiled = kind === 'postgres' ? await openStore({ ...common, onQuery: recordStatement }) : null;
  return {
    store,
    profiled,
    async cleanup() {
      await profiled?.close();
      await store.close();
      await database?.drop();
      if (dir) await rm(dir, { recursive: true, force: true });
    },
  };
}

let epoch = 0;

/**
 * Before each timed run: what autovacuum does for a store in use. A tenant the statistics have
 * never seen makes the planner probe the engine's key lookups through the wrong index (see the
 * "cold tenant" run below), so the timed runs import into tenants that already hold rows.
 */
async function analyze(store: Store<PrismaClient>): Promise<void> {
  await store.client.$executeRawUnsafe(
    'ANALYZE "FeatureUsage", "AdoptionMetrics", "hub_sync_idempotency", "hub_sync_row_source"',
  );
}

/**
 * A baseline run: the same rows as plain inserts, one transaction per batch. `prisma`: Prisma's
 * `createMany` (one multi-row INSERT per model, bound parameters); `sql`: one raw
 * `INSERT ... SELECT FROM json_populate_recordset` per model, the statement shape the engine uses.
 */
async function runBaseline(
  store: Store<PrismaClient>,
  events: readonly SyncEvent[],
  how: 'prisma' | 'sql',
): Promise<Timed> {
  const tenantId = 'bench_base';
  return measured(store, events.length, async () => {
    let rows = 0;
    for (let i = 0; i < events.length; i += config.batch) {
      // Mapping is part of the work both sides do: the baseline maps the payloads too.
      const byModel = baselineRows(events.slice(i, i + config.batch), tenantId);
      await store.client.$transaction(
        async (tx) => {
          for (const [model, data] of byModel) {
            if (how === 'prisma') await delegateOf(tx, model).createMany({ data });
            else {
              // id (cuid) and updatedAt are set by Prisma, not by column defaults: a raw insert gives them.
              const now = new Date();
              const full = data.map((row) => ({ id: randomUUID(), updatedAt: now, ...row }));
              const columns = Object.keys(full[0] ?? {})
                .map((c) => `"${c}"`)
                .join(', ');
              await tx.$executeRawUnsafe(
                `INSERT INTO "${model}" (${columns}) SELECT ${columns} FROM json_populate_recordset(NULL::"${model}", $1::json)`,
                JSON.stringify(full),
              );
            }
            rows += data.length;
          }
        },
        { timeout: 600_000 },
      );
    }
    return rows;
  });
}

/** Time per engine step (from the previous step's end) of the current profiled run. */
let steps: Map<string, number> | null = null;

async function runEngine(
  store: Store<PrismaClient>,
  events: readonly SyncEvent[],
  tenant = 'bench_sync',
): Promise<Timed> {
  const tenantId = tenant;
  let last = 0;
  const pipeline = createSyncPipeline({
    claimableSources: 'all',
    actor: { type: 'integration', id: 'bench', role: 'integration' },
    definition: product,
    client: store.client,
    scope: { tenantId, customerIds: null },
    customerKeys: subgraph.customerKeys ?? {},
    defaultSource: 'bench',
    hooks: {
      afterStep(step) {
        if (!steps) return;
        const now = performance.now();
        steps.set(step, (steps.get(step) ?? 0) + now - last);
        last = now;
      },
    },
  });
  return measured(store, events.length, async () => {
    let rows = 0;
    for (let i = 0; i < events.length; i += config.batch) {
      last = performance.now();
      const results = await pipeline.apply(events.slice(i, i + config.batch));
      if (steps) steps.set('answer', (steps.get('answer') ?? 0) + performance.now() - last);
      for (const r of results) {
        if (r.outcome !== 'APPLIED') throw new Error(`bench event ${r.index}: ${r.outcome} ${r.reason ?? ''}`);
        rows += r.rows.length;
      }
    }
    return rows;
  });
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

async function machine(store: Store<PrismaClient>, kind: string): Promise<string> {
  const [row] = await store.client.$queryRawUnsafe<{ version: string }[]>('SELECT version()');
  const version = row?.version.split(' on ')[0] ?? '?';
  if (kind !== 'pglite') return version;
  const pkg = JSON.parse(
    await readFile(path.join(REPO_ROOT, 'node_modules/@electric-sql/pglite/package.json'), 'utf8'),
  ) as { version: string };
  return `PGlite ${pkg.version} (${version})`;
}

const cpus = os.cpus();
console.log(
  `machine: ${cpus.length} x ${cpus[0]?.model.trim() ?? '?'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}, load average ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);
const table: string[] = [];
const profiles: string[] = [];
for (const kind of config.stores) {
  const { store, profiled, cleanup } = await openBenchStore(kind);
  try {
    console.log(`${kind}: ${await machine(store, kind)}`);
    const n = kind === 'postgres' ? config.events : config.pgliteEvents;
    for (const scenario of ['single', 'usage'] as const) {
      const fresh = () => makeEvents(scenario, n, ++epoch);
      // Warm-up (JIT, pools, the engine's catalog cache), which also gives both tenants their first rows.
      await runBaseline(store, fresh(), 'prisma');
      await runEngine(store, fresh());
      const runs: Record<'prisma' | 'sql' | 'engine', Timed[]> = { prisma: [], sql: [], engine: [] };
      for (let r = 0; r < config.rounds; r++) {
        // createMany is ~10x slower than either: one round of it, as a reference only.
        for (const how of r === 0 ? (['prisma', 'sql'] as const) : (['sql'] as const)) {
          const events = fresh();
          await analyze(store);
          runs[how].push(await runBaseline(store, events, how));
        }
        const events = fresh();
        await analyze(store);
        runs.engine.push(await runEngine(store, events));
      }
      // A tenant the statistics have never seen (its first import), without ANALYZE.
      const cold = await runEngine(store, fresh(), `cold_${epoch}`);
      const seconds = (list: Timed[]) => median(list.map((t) => t.seconds));
      const rowsPerEvent = (runs.engine[0]?.rows ?? 0) / n;
      const name =
        scenario === 'single' ? '(a) record_feature_usage, 1 row/event' : '(b) usage_analytics_sync, 5 rows/event';
      const cpu = (list: Timed[]) => {
        const node = median(list.map((t) => t.nodeUs));
        const pg = list.every((t) => t.pgUs !== null) ? median(list.map((t) => t.pgUs ?? 0)) : null;
        return `${fmt(node)} | ${pg === null ? '—' : fmt(pg)}`;
      };
      const line = (label: string, s: number, list: Timed[]) =>
        `| ${kind} | ${name} | ${label} | ${fmt(n / s)} | ${fmt((n * rowsPerEvent) / s)} | ${(s / seconds(runs.sql)).toFixed(2)}x | ${(s / seconds(runs.prisma)).toFixed(2)}x | ${cpu(list)} |`;
      table.push(
        line('baseline: raw multi-row INSERT', seconds(runs.sql), runs.sql),
        line('baseline: Prisma createMany', seconds(runs.prisma), runs.prisma),
        line('sync engine, full bookkeeping', seconds(runs.engine), runs.engine),
        line('sync engine, a new tenant before ANALYZE (1 run)', cold.seconds, [cold]),
      );
      console.log(table.slice(-4).join('\n'));

      const batches = Math.ceil(n / config.batch);
      const profiledEvents = fresh();
      await analyze(store);
      steps = new Map();
      const t0 = performance.now();
      await runEngine(store, profiledEvents);
      const total = performance.now() - t0;
      profiles.push(
        `\n${kind}, ${name}: one more engine run, ${total.toFixed(0)} ms; time per engine step, ms per batch of ${config.batch}:`,
        `| ${[...steps.keys()].join(' | ')} |`,
        `| ${[...steps.keys()].map(() => '---').join(' | ')} |`,
        `| ${[...steps.values()].map((ms) => (ms / batches).toFixed(1)).join(' | ')} |`,
      );
      console.log(profiles.slice(-4).join('\n'));
      steps = null;
      if (profiled) {
        profile = new Map();
        const logged = fresh();
        await analyze(store);
        const t1 = performance.now();
        await runEngine(profiled, logged);
        const loggedMs = performance.now() - t1;
        const statements = [...profile].sort((x, y) => y[1].ms - x[1].ms);
        const sqlMs = statements.reduce((sum, [, st]) => sum + st.ms, 0);
        profiles.push(
          `\nper statement (a run with Prisma's query log on, ${loggedMs.toFixed(0)} ms; statements ${sqlMs.toFixed(0)} ms as Prisma times them):`,
          '| statement | calls | ms per batch |',
          '| --- | --- | --- |',
          ...statements.map(([label, st]) => `| ${label} | ${st.n} | ${(st.ms / batches).toFixed(1)} |`),
        );
        console.log(profiles.slice(-(statements.length + 3)).join('\n'));
        profile = null;
      }
    }
  } finally {
    await cleanup();
  }
}
console.log(
  `\nbatches of ${config.batch} events, new rows only, into tenants that hold rows (ANALYZE before each run); median of ${config.rounds} alternating rounds; load average at the end ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')} (other processes on the machine make every figure noisy: compare the ratios of one run)`,
);
console.log(
  '| store | events | path | events/s | rows/s | time vs raw INSERT | time vs createMany | Node CPU µs/event | Postgres CPU µs/event |',
);
console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
console.log(table.join('\n'));
console.log(profiles.join('\n'));
