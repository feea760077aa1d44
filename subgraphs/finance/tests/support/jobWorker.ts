/**
 * A job worker process for the runner tests (jobs.runner.test.ts): opens the finance store, runs the job
 * runner with the real `finance-rollup` (small chunks, slowed after each checkpoint so a test can kill
 * it mid-run) and a test-only `probe` job, and logs JSON lines the test waits for. Env:
 * JW_STORE (StoreConfig JSON), JW_CHUNK, JW_DELAY_MS, JW_TRIGGER (a tenant to trigger finance-rollup
 * for at start; the embedded store cannot be opened by the test at the same time), JW_WATCH (log
 * `idle` once no run is queued or running).
 */
import { migrationsDirFor, openStore, type StoreConfig } from '@hub/store';
import { PrismaClient } from '@hub/store/finance';
import { createJobRunner } from '@hub/core/events/jobs';
import { defineJob, type JobDefinition } from '@hub/core/events/types';
import { createLogger } from '@hub/core/logger';
import { createSyncPipeline } from '@hub/core/sync/engine';
import { financeRollupJob } from '../../src/jobs.js';
import { subgraph } from '../../src/server.js';
import { sync } from '../../src/sync.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const say = (msg: string, fields: Record<string, unknown> = {}) =>
  console.log(JSON.stringify({ msg, url: 'worker://job', pid: process.pid, ...fields }));

const config = JSON.parse(process.env['JW_STORE'] ?? '') as StoreConfig;
const delay = Number(process.env['JW_DELAY_MS'] ?? '0');
const store = await openStore<PrismaClient>({
  domain: 'finance',
  config,
  PrismaClient,
  migrationsDir: migrationsDirFor('finance'),
});
await store.migrate();

/** The real job, its checkpoints slowed so the test has time to kill the process between chunks. */
function slowed(def: JobDefinition): JobDefinition {
  return {
    ...def,
    run: (ctx) =>
      def.run({
        ...ctx,
        sync: ctx.sync,
        async checkpoint(state, progress) {
          await ctx.checkpoint(state, progress);
          say('checkpoint', { processed: progress.processed });
          await sleep(delay);
        },
      }),
  };
}

// Test-only: records when each run starts and ends, so the test can check no two runs overlapped.
const probe = defineJob({
  name: 'probe',
  domain: 'finance',
  schedule: null,
  description: 'runner test probe',
  tenants: async () => ['t1'],
  async run(ctx) {
    await ctx.store.query(`INSERT INTO "probe_log" ("run_id", "pid", "event") VALUES ($1, $2, 'start')`, [
      ctx.runId,
      process.pid,
    ]);
    await sleep(400);
    await ctx.store.query(`INSERT INTO "probe_log" ("run_id", "pid", "event") VALUES ($1, $2, 'end')`, [
      ctx.runId,
      process.pid,
    ]);
    return { processed: 1, failed: 0 };
  },
});

const log = createLogger('job-worker', 'warn');
const runner = createJobRunner({
  domain: 'finance',
  sql: store.backgroundSql,
  jobSql: store.sql,
  jobs: [slowed(financeRollupJob({ chunkSize: Number(process.env['JW_CHUNK'] ?? '25') })), probe],
  sync: (tenantId, source, actor) =>
    createSyncPipeline({
      definition: sync,
      client: store.client,
      scope: { tenantId, customerIds: null },
      customerKeys: subgraph.customerKeys,
      defaultSource: source,
      claimableSources: new Set(),
      actor,
    }),
  log,
  work: true,
  pollingIntervalSeconds: 0.5,
  retryDelaySeconds: 1,
  orphanCheckSeconds: 2,
});
await runner.start();
say('job worker ready');
const tenant = process.env['JW_TRIGGER'];
if (tenant) say('triggered', { runId: (await runner.trigger('finance-rollup', tenant)).id });
if (process.env['JW_WATCH']) {
  for (;;) {
    await sleep(200);
    const [row] = await store.sql.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM "hub_job_run" WHERE "status" IN ('queued', 'running')`,
    );
    if (row?.n === 0) {
      say('idle');
      break;
    }
  }
}
const shutdown = () =>
  void runner
    .stop()
    .then(() => store.close())
    .then(() => process.exit(0));
process.once('SIGTERM', shutdown);
process.once('SIGINT', shutdown);
