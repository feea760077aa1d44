/**
 * The job runner across processes, on the real finance store and the real finance-rollup job:
 * - two worker processes on one PostgreSQL store never run two runs of a job at once;
 * - a worker killed with SIGKILL halfway through a run (crash points across the run, PostgreSQL and
 *   the embedded PGlite store) is resumed by the next worker from its checkpoint, and every customer's
 *   rollup is applied exactly once (one outbox event and one idempotency record per customer).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createInterface } from 'node:readline';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrationsDirFor, openStore, type Store, type StoreConfig } from '@hub/store';
import { PrismaClient } from '@hub/store/finance';
import { createJobRunner, type JobRunner } from '@hub/core/events/jobs';
import { latestJobRuns, listJobRuns } from '@hub/core/events/status';
import { spawnService, type ServiceProcess } from '@hub/core/process';
import { createTestDatabase, type TestDatabase } from '@hub/core/testing';
import { createLogger } from '@hub/core/logger';
import { financeRollupJob } from '../src/jobs.js';

const CUSTOMERS = 300;
const CHUNK = 25;
const CHUNKS = CUSTOMERS / CHUNK;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function worker(store: StoreConfig, env: Record<string, string> = {}): Promise<ServiceProcess> {
  const service = await spawnService({
    name: 'job-worker',
    entry: 'subgraphs/finance/tests/support/jobWorker.ts',
    env: { JW_STORE: JSON.stringify(store), JW_CHUNK: String(CHUNK), JW_DELAY_MS: '120', LOG_LEVEL: 'warn', ...env },
    readyMessage: 'job worker ready',
  });
  // Every JSON line from here on, whole (a line split across two stdout chunks is joined again) and
  // kept, so a wait that starts after its line was written still sees it.
  const seen: Record<string, unknown>[] = [];
  const waiters = new Set<() => void>();
  createInterface({ input: service.child.stdout as NodeJS.ReadableStream }).on('line', (text) => {
    try {
      seen.push(JSON.parse(text) as Record<string, unknown>);
    } catch {
      return; // not JSON
    }
    for (const wake of waiters) wake();
  });
  service.child.once('exit', () => {
    for (const wake of waiters) wake();
  });
  outputs.set(service, { seen, waiters });
  return service;
}

const outputs = new WeakMap<ServiceProcess, { seen: Record<string, unknown>[]; waiters: Set<() => void> }>();

/** Resolves with the first JSON line of `service` whose msg is `msg` (and that passes `accept`); rejects if it exits first. */
function line(service: ServiceProcess, msg: string, accept: (l: Record<string, unknown>) => boolean = () => true) {
  const output = outputs.get(service);
  if (!output) throw new Error('not a worker of this test');
  return new Promise<Record<string, unknown>>((resolve, reject) => {
    const check = () => {
      const found = output.seen.find((l) => l['msg'] === msg && accept(l));
      if (found) {
        output.waiters.delete(check);
        resolve(found);
      } else if (service.child.exitCode !== null || service.child.signalCode !== null) {
        output.waiters.delete(check);
        reject(new Error(`job worker exited before logging ${msg}`));
      }
    };
    output.waiters.add(check);
    check();
  });
}

async function openFinance(config: StoreConfig): Promise<Store<PrismaClient>> {
  const store = await openStore<PrismaClient>({
    domain: 'finance',
    config,
    PrismaClient,
    migrationsDir: migrationsDirFor('finance'),
  });
  await store.migrate();
  return store;
}

/** CUSTOMERS customers of `tenant` with an ARR each (i * 1000.50) and one open, overdue invoice per third customer. */
async function seed(store: Store<PrismaClient>, tenant: string): Promise<void> {
  const ids = Array.from({ length: CUSTOMERS }, (_, i) => `cust_${String(i + 1).padStart(5, '0')}`);
  await store.sql.query(
    `INSERT INTO "RevenueAttribution" ("id", "tenantId", "customerId", "currentArr", "churnPrevention", "expansionRevenue",
       "referralValue", "customerLtv", "acquisitionCost", "successRoi", "paybackPeriodMonths", "updatedAt")
     SELECT $1 || '_' || c, $1, c, (i * 1000.50)::numeric(14, 2), 0, 0, 0, 0, 0, 1, 1, now()
     FROM unnest($2::text[]) WITH ORDINALITY AS t(c, i)`,
    [tenant, ids],
  );
  await store.sql.query(
    `INSERT INTO "Invoice" ("id", "tenantId", "customerId", "number", "amount", "currency", "issuedAt", "dueAt", "status", "updatedAt")
     SELECT $1 || '_inv_' || c, $1, c, 'INV-' || c, (i * 10)::numeric(14, 2), 'USD', now() - interval '60 days',
       now() - interval '30 days', 'OPEN', now()
     FROM unnest($2::text[]) WITH ORDINALITY AS t(c, i) WHERE i % 3 = 0`,
    [tenant, ids],
  );
}

/** What a resumed run must leave: every customer rolled up once, with the right figures. */
async function expectAppliedOnce(store: Store<PrismaClient>, tenant: string, runId: string): Promise<void> {
  const [run] = await store.sql.query<Record<string, unknown>>(`SELECT * FROM "hub_job_run" WHERE "id" = $1`, [runId]);
  expect(run).toMatchObject({ status: 'succeeded', processed: CUSTOMERS, failed: 0, total: CUSTOMERS, attempts: 2 });
  expect(String(run?.['error'])).toMatch(/stopped mid-run/);
  expect((run?.['checkpoint'] as { chunk: number }).chunk).toBe(CHUNKS);
  const rows = await store.client.financeDailyRollup.findMany({
    where: { tenantId: tenant },
    orderBy: { customerId: 'asc' },
  });
  expect(rows).toHaveLength(CUSTOMERS);
  rows.forEach((row, i) => {
    expect(row.currentArr.toFixed(2)).toBe(((i + 1) * 1000.5).toFixed(2));
    expect(row.overdueTotal.toFixed(2)).toBe((i + 1) % 3 === 0 ? ((i + 1) * 10).toFixed(2) : '0.00');
  });
  const [outbox] = await store.sql.query<{ n: number; customers: number }>(
    `SELECT count(*)::int AS n, count(DISTINCT "customer_id")::int AS customers FROM "hub_sync_outbox"
     WHERE "tenant_id" = $1 AND "type" = 'finance.finance_daily_rollup'`,
    [tenant],
  );
  expect(outbox).toEqual({ n: CUSTOMERS, customers: CUSTOMERS });
  const [keys] = await store.sql.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM "hub_sync_idempotency" WHERE "tenant_id" = $1 AND "key" LIKE $2`,
    [tenant, `job:${runId}:%`],
  );
  expect(keys?.n).toBe(CUSTOMERS);
}

describe('job runner on PostgreSQL, across processes', () => {
  let database: TestDatabase;
  let config: StoreConfig;
  let store: Store<PrismaClient>;
  let trigger: JobRunner;

  beforeAll(async () => {
    database = await createTestDatabase('hub_t_jobs');
    config = { kind: 'postgres', url: database.url, schema: 'finance' };
    store = await openFinance(config);
    await store.sql.query(
      `CREATE TABLE "probe_log" ("run_id" UUID NOT NULL, "pid" INT NOT NULL, "event" TEXT NOT NULL, "at" TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp())`,
    );
    // This process only queues and reads (an API replica): the workers run the jobs.
    trigger = createJobRunner({
      domain: 'finance',
      sql: store.backgroundSql,
      jobs: [financeRollupJob(), { ...financeRollupJob(), name: 'probe' }],
      sync: () => {
        throw new Error('this runner does not work');
      },
      log: createLogger('test', 'warn'),
      work: false,
    });
    await trigger.start();
  });
  afterAll(async () => {
    await trigger?.stop();
    await store?.close();
    await database?.drop();
  });

  it('runs one run of a job at a time over two worker processes', async () => {
    const workers = await Promise.all([worker(config), worker(config)]);
    try {
      // Different tenants: pg-boss would happily run them side by side; the job lock must not.
      const runs = await Promise.all(['t1', 't2', 't3', 't4', 't5', 't6'].map((t) => trigger.trigger('probe', t)));
      const deadline = Date.now() + 60_000;
      for (;;) {
        const [row] = await store.sql.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM "hub_job_run" WHERE "job" = 'probe' AND "status" = 'succeeded'`,
        );
        if (row?.n === runs.length) break;
        if (Date.now() > deadline) throw new Error('probe runs did not finish');
        await sleep(200);
      }
      const log = await store.sql.query<{ run_id: string; pid: number; event: string; at: Date }>(
        `SELECT * FROM "probe_log" ORDER BY "at"`,
      );
      expect(log).toHaveLength(runs.length * 2);
      // Strictly alternating start/end of the same run: no run started while another was running.
      for (let i = 0; i < log.length; i += 2) {
        expect(log[i]).toMatchObject({ event: 'start' });
        expect(log[i + 1]).toMatchObject({ event: 'end', run_id: log[i]?.run_id });
      }
      // Both processes did runs (each waited for the other's lock in turn).
      expect(new Set(log.map((l) => l.pid)).size).toBe(2);
    } finally {
      await Promise.all(workers.map((w) => w.stop()));
    }
  }, 120_000);

  it('does a run without a tenant as one record per tenant, each visible to its own tenant only', async () => {
    await seed(store, 'fan-a');
    await seed(store, 'fan-b');
    const one = await worker(config);
    try {
      const parent = await trigger.trigger('finance-rollup', null, 'schedule');
      const deadline = Date.now() + 90_000;
      for (;;) {
        const [row] = await store.sql.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM "hub_job_run" WHERE "job" = 'finance-rollup' AND "trigger" = 'schedule'
             AND "status" IN ('succeeded', 'failed')`,
        );
        const [all] = await store.sql.query<{ n: number }>(
          `SELECT count(DISTINCT "tenantId")::int AS n FROM "RevenueAttribution"`,
        );
        if (row?.n === all?.n) break;
        if (Date.now() > deadline) throw new Error('fanned-out runs did not finish');
        await sleep(200);
      }
      const runs = await store.sql.query<{ id: string; tenant_id: string | null; processed: number }>(
        `SELECT "id", "tenant_id", "processed" FROM "hub_job_run" WHERE "job" = 'finance-rollup' AND "trigger" = 'schedule'`,
      );
      // No record covers every tenant: its figures would describe other tenants to each tenant's admins.
      expect(parent.tenantId).toBeNull();
      expect(runs.map((run) => run.id)).not.toContain(parent.id);
      expect(runs.every((run) => run.tenant_id !== null)).toBe(true);
      expect(new Set(runs.map((run) => run.tenant_id)).size).toBe(runs.length);
      expect(runs.find((run) => run.tenant_id === 'fan-a')?.processed).toBe(CUSTOMERS);
      for (const tenant of ['fan-a', 'fan-b']) {
        const listed = await listJobRuns(store.sql, 'finance', tenant, { first: 100 });
        const ids = listed.edges.map((edge) => edge.node.id);
        expect(ids).toHaveLength(runs.filter((run) => run.tenant_id === tenant).length);
        expect(listed.edges.every((edge) => edge.node.tenantId === tenant)).toBe(true);
        const status = await latestJobRuns(store.sql, 'finance', tenant);
        expect(status.every((run) => run.tenantId === tenant)).toBe(true);
      }
    } finally {
      await one.stop();
    }
  }, 120_000);

  // Crash points: after the first chunk, halfway, and one chunk before the end.
  for (const crashAfter of [1, CHUNKS / 2, CHUNKS - 1]) {
    it(`resumes a run killed (SIGKILL) after chunk ${crashAfter} of ${CHUNKS} without applying anything twice`, async () => {
      const tenant = `kill${crashAfter}`;
      await seed(store, tenant);
      const first = await worker(config);
      const run = await trigger.trigger('finance-rollup', tenant);
      await line(first, 'checkpoint', (l) => Number(l['processed']) >= crashAfter * CHUNK);
      await first.kill();
      const [killed] = await store.sql.query<{ status: string; processed: number }>(
        `SELECT "status", "processed" FROM "hub_job_run" WHERE "id" = $1`,
        [run.id],
      );
      expect(killed?.status).toBe('running');
      expect(killed?.processed).toBeLessThan(CUSTOMERS);
      const second = await worker(config);
      try {
        const deadline = Date.now() + 90_000;
        for (;;) {
          const [row] = await store.sql.query<{ status: string }>(
            `SELECT "status" FROM "hub_job_run" WHERE "id" = $1`,
            [run.id],
          );
          if (row?.status === 'succeeded' || row?.status === 'failed') break;
          if (Date.now() > deadline) throw new Error(`run still ${row?.status}`);
          await sleep(200);
        }
      } finally {
        await second.stop();
      }
      await expectAppliedOnce(store, tenant, run.id);
    }, 180_000);
  }
});

describe('job runner on the embedded store (PGlite), killed and restarted', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'hub-jobs-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  for (const crashAfter of [2, CHUNKS - 2]) {
    it(`resumes a run killed after chunk ${crashAfter} of ${CHUNKS} in the next process that opens the store`, async () => {
      const tenant = `kill${crashAfter}`;
      const config: StoreConfig = { kind: 'embedded', dataDir: path.join(dir, `finance-${crashAfter}`) };
      const setup = await openFinance(config);
      await seed(setup, tenant);
      await setup.close();
      const first = await worker(config, { JW_TRIGGER: tenant });
      const triggered = await line(first, 'triggered');
      await line(first, 'checkpoint', (l) => Number(l['processed']) >= crashAfter * CHUNK);
      await first.kill();
      const second = await worker(config, { JW_WATCH: '1' });
      await Promise.race([line(second, 'idle'), sleep(90_000)]);
      await second.stop();
      const store = await openFinance(config);
      try {
        await expectAppliedOnce(store, tenant, String(triggered['runId']));
      } finally {
        await store.close();
      }
    }, 240_000);
  }
});
