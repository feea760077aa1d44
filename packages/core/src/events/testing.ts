/**
 * Test helpers for jobs (used by the domains' job tests): trigger a run through the subgraph's admin
 * API as the gateway would sign it and wait for it to end, or run a job once on a bare store.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { migrationsDirFor, openStore, type CustomerKeys, type Store } from '@hub/store';
import { createLogger } from '../logger.js';
import { createSyncPipeline } from '../sync/engine.js';
import { pascal } from '../sync/sdl.js';
import type { SyncDefinition } from '../sync/types.js';
import { createTestDatabase, gql } from '../testing.js';
import type { Viewer } from '../viewer.js';
import { createJobRunner, jobRunFromRow, RUN_COLUMNS, type JobRunRecord } from './jobs.js';
import type { JobDefinition } from './types.js';

export interface JobRunView {
  id: string;
  job: string;
  tenantId: string | null;
  status: string;
  trigger: string;
  processed: number;
  failed: number;
  total: number | null;
  attempts: number;
  error: string | null;
  summary: string | null;
  flags: string[];
}

const RUN_FIELDS = 'id job tenantId status trigger processed failed total attempts error summary flags';

/** `run<Domain>Job` as `viewer`; the raw response (for error assertions) and the run. */
export async function runJobMutation(
  url: string,
  domain: string,
  job: string,
  viewer: Viewer,
  tenant?: string,
  flags?: readonly string[],
) {
  const res = await gql<Record<string, JobRunView>>(
    url,
    `mutation ($job: String!, $tenant: String, $flags: [String!]) { run${pascal(domain)}Job(job: $job, tenant: $tenant, flags: $flags) { ${RUN_FIELDS} } }`,
    { job, tenant: tenant ?? null, flags: flags ?? null },
    viewer,
  );
  return { res, run: res.data?.[`run${pascal(domain)}Job`] ?? null };
}

export async function readJobRun(url: string, domain: string, id: string, viewer: Viewer): Promise<JobRunView | null> {
  const res = await gql<{ sync: Record<string, { jobRun: JobRunView | null }> }>(
    url,
    `query ($id: ID!) { sync { ${domain} { jobRun(id: $id) { ${RUN_FIELDS} } } } }`,
    { id },
    viewer,
  );
  if (res.errors) throw new Error(JSON.stringify(res.errors));
  return res.data?.sync[domain]?.jobRun ?? null;
}

/** Polls the run until it is SUCCEEDED, FAILED or CANCELLED (or `timeoutMs` passes). */
export async function waitForRun(
  url: string,
  domain: string,
  id: string,
  viewer: Viewer,
  timeoutMs = 60_000,
): Promise<JobRunView> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const run = await readJobRun(url, domain, id, viewer);
    if (run && ['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(run.status)) return run;
    if (Date.now() > deadline) throw new Error(`run ${id} still ${run?.status ?? 'missing'} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** A domain store on PostgreSQL (a fresh database) or the embedded PGlite (a fresh directory), migrated. */
export async function openJobTestStore<C>(
  domain: string,
  PrismaClient: new (options: never) => C,
  kind: 'postgres' | 'pglite',
): Promise<{ store: Store<C>; close(): Promise<void> }> {
  if (kind === 'postgres') {
    const database = await createTestDatabase(`hub_t_jobs_${domain}`);
    const store = await openStore<C>({
      domain,
      config: { kind: 'postgres', url: database.url, schema: domain },
      PrismaClient: PrismaClient as never,
      migrationsDir: migrationsDirFor(domain),
    });
    await store.migrate();
    return {
      store,
      async close() {
        await store.close();
        await database.drop();
      },
    };
  }
  const dir = await mkdtemp(path.join(tmpdir(), `hub-jobs-${domain}-`));
  const store = await openStore<C>({
    domain,
    config: { kind: 'embedded', dataDir: dir },
    PrismaClient: PrismaClient as never,
    migrationsDir: migrationsDirFor(domain),
  });
  await store.migrate();
  return {
    store,
    async close() {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Runs `job` once for `tenantId` on `store` with a job runner in this process (as the subgraph kit
 * builds it: the domain's pipeline, tenant-wide) and returns the finished run.
 */
export async function runJobOnce(options: {
  store: Store<unknown>;
  sync: SyncDefinition;
  customerKeys: CustomerKeys;
  job: JobDefinition;
  tenantId: string | null;
  timeoutMs?: number;
}): Promise<JobRunRecord> {
  const { store } = options;
  const runner = createJobRunner({
    domain: options.job.domain,
    sql: store.backgroundSql,
    jobSql: store.sql,
    jobs: [options.job],
    sync: (tenantId, source, actor) =>
      createSyncPipeline({
        definition: options.sync,
        client: store.client,
        scope: { tenantId, customerIds: null },
        customerKeys: options.customerKeys,
        defaultSource: source,
        claimableSources: new Set(),
        actor,
      }),
    log: createLogger('job-test', 'warn'),
    work: true,
    pollingIntervalSeconds: 0.5,
  });
  await runner.start();
  try {
    const queued = await runner.trigger(options.job.name, options.tenantId);
    const deadline = Date.now() + (options.timeoutMs ?? 60_000);
    for (;;) {
      const [row] = await store.sql.query(`SELECT ${RUN_COLUMNS} FROM "hub_job_run" WHERE "id" = $1`, [queued.id]);
      const run = row ? jobRunFromRow(options.job.domain, row) : null;
      if (run && ['succeeded', 'failed', 'cancelled'].includes(run.status)) return run;
      if (Date.now() > deadline) throw new Error(`run ${queued.id} still ${run?.status ?? 'missing'}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  } finally {
    await runner.stop();
  }
}
