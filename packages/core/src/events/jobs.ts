/**
 * The job runner (issue 8): runs a domain's `JobDefinition`s on pg-boss 10 (the last line that runs on
 * Node 20) in the domain's own store, and records every run in `hub_job_run`
 * (prisma/hub_sync/migrations/20261203000300_job_runs).
 *
 * - **Queue**: one pg-boss queue per job, in the schema `pgboss_<domain>` of the domain's store, so on a
 *   PostgreSQL where every domain is a schema of one database each domain's boss keeps its own tables.
 *   pg-boss talks to the store through its `db.executeSql` adapter on the store's own driver
 *   (`StoreSql`): the `pg` pool on PostgreSQL, the one PGlite instance on the embedded store (pg-boss
 *   runs on PGlite unchanged; its `BEGIN; …; COMMIT` scripts go through PGlite's simple-query `exec`).
 * - **Schedules**: pg-boss cron schedules, UTC; only processes that run jobs (`HUB_JOBS`, default on)
 *   schedule and work. Every process can enqueue (`trigger`) and read runs.
 * - **One runner at a time per job, across processes**: a session-level advisory lock per (domain, job),
 *   `pg_try_advisory_lock`, held on a dedicated connection for the run's whole duration; a second
 *   runner waits for it. The queue policy `stately` (per tenant: at most one queued and one active
 *   pg-boss job) keeps repeated triggers from piling up. The lock is also how a dead runner is told
 *   from a live one: a run still `running` whose lock is free has lost its runner. On PGlite (one
 *   process, one session, where advisory locks are re-entrant) the lock is this process's own set.
 * - **Killed runs resume**: at start and every `orphanCheckSeconds`, such orphaned runs are handed back
 *   to pg-boss (failed and retried under the same pg-boss job id, which is the run id), and the retry
 *   resumes from the run's stored checkpoint. pg-boss's own expiration (`expireInSeconds`) retries a
 *   run whose runner hung. A job writes each chunk through the sync pipeline with idempotency keys
 *   from run id + chunk, so a chunk redone after a kill is a DUPLICATE, never applied twice.
 */
import { createHash } from 'node:crypto';
import os from 'node:os';
import PgBoss from 'pg-boss';
import type { StoreSql } from '@hub/store';
import { jobActor, type AuditActor } from '../audit.js';
import type { Domain } from '../domains.js';
import type { Logger } from '../logger.js';
import type { JobDefinition, JobSummary, JobSync } from './types.js';

export type JobRunStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';
export type JobTrigger = 'schedule' | 'manual';

/** One row of `hub_job_run`, as the admin API and the CLI see it. */
export interface JobRunRecord {
  readonly id: string;
  readonly job: string;
  readonly domain: Domain;
  readonly tenantId: string | null;
  readonly status: JobRunStatus;
  readonly trigger: JobTrigger;
  readonly queuedAt: Date;
  readonly startedAt: Date | null;
  readonly endedAt: Date | null;
  readonly processed: number;
  readonly failed: number;
  readonly total: number | null;
  readonly checkpoint: unknown;
  readonly summary: unknown;
  /** The flags it was asked with (`JobDefinition.flags`), e.g. `repair`. */
  readonly flags: readonly string[];
  readonly error: string | null;
  readonly attempts: number;
  readonly host: string | null;
  readonly pid: number | null;
}

export interface JobRunnerOptions {
  readonly domain: Domain;
  /** The store's driver for pg-boss and the run records: the uninstrumented one (`Store.backgroundSql`). */
  readonly sql: StoreSql;
  /** What a job's `ctx.store` is (the instrumented driver, so a job's statements show in the metrics). Default `sql`. */
  readonly jobSql?: StoreSql;
  readonly jobs: readonly JobDefinition[];
  /**
   * The domain's pipeline for a tenant, writing as `source` (`job:<name>`) and audited as `actor` (the
   * job and its run); the kit builds it from the domain's SyncDefinition.
   */
  sync(tenantId: string, source: string, actor: AuditActor): JobSync;
  readonly log: Logger;
  /** Schedule and work jobs in this process (`HUB_JOBS`); false: enqueue and read only (API replicas). */
  readonly work: boolean;
  /** @default 2 */
  readonly pollingIntervalSeconds?: number;
  /** Retries of a failed run before it is `failed` for good. @default 3 */
  readonly retryLimit?: number;
  /** @default 30 (doubling: pg-boss `retryBackoff`) */
  readonly retryDelaySeconds?: number;
  /** A run active longer than this is failed by pg-boss and retried (the brief: daily work in < 2 h). @default 7200 */
  readonly expireInSeconds?: number;
  /** @default 30 */
  readonly orphanCheckSeconds?: number;
  /** A run started this many times (killed each time) is not resumed again: `failed`. @default 5 */
  readonly maxAttempts?: number;
}

export interface JobRunner {
  readonly jobs: readonly JobDefinition[];
  start(): Promise<void>;
  /**
   * Enqueues a run of `name` for `tenantId` (null: every tenant) and returns its record. While a run of
   * the same job and tenant is already waiting, returns that one instead of queueing a second.
   */
  trigger(
    name: string,
    tenantId: string | null,
    trigger?: JobTrigger,
    flags?: readonly string[],
  ): Promise<JobRunRecord>;
  /** Hands runs whose runner died back to pg-boss; returns their ids (run at start and periodically). */
  recoverOrphans(): Promise<string[]>;
  /** Stops scheduling and polling; a running job is signalled to stop after its current chunk. */
  stop(): Promise<void>;
}

interface BossData {
  readonly tenantId: string | null;
  readonly trigger: JobTrigger;
  /** Absent on jobs queued before flags existed. */
  readonly flags?: readonly string[];
}

export const RUN_COLUMNS = `"id", "job", "tenant_id", "status", "trigger", "queued_at", "started_at", "ended_at", "processed",
  "failed", "total", "checkpoint", "summary", "flags", "error", "attempts", "host", "pid"`;

export function jobRunFromRow(domain: Domain, row: Record<string, unknown>): JobRunRecord {
  const date = (v: unknown) => (v === null || v === undefined ? null : new Date(v as string));
  return {
    id: String(row['id']),
    job: String(row['job']),
    domain,
    tenantId: (row['tenant_id'] as string | null) ?? null,
    status: row['status'] as JobRunStatus,
    trigger: row['trigger'] as JobTrigger,
    queuedAt: new Date(row['queued_at'] as string),
    startedAt: date(row['started_at']),
    endedAt: date(row['ended_at']),
    processed: Number(row['processed']),
    failed: Number(row['failed']),
    total: row['total'] === null || row['total'] === undefined ? null : Number(row['total']),
    checkpoint: row['checkpoint'] ?? null,
    summary: row['summary'] ?? null,
    flags: Array.isArray(row['flags']) ? (row['flags'] as string[]) : [],
    error: (row['error'] as string | null) ?? null,
    attempts: Number(row['attempts']),
    host: (row['host'] as string | null) ?? null,
    pid: row['pid'] === null || row['pid'] === undefined ? null : Number(row['pid']),
  };
}

/** The pg-boss schema of a domain: each domain store (or schema of a shared database) has its own. */
export function bossSchema(domain: Domain): string {
  return `pgboss_${domain}`;
}

/** 64-bit advisory lock key of one job of one domain (jobs of the same name exist in several domains). */
function lockKey(domain: Domain, job: string): string {
  return BigInt.asIntN(
    64,
    BigInt(`0x${createHash('sha256').update(`hub_job:${domain}:${job}`).digest('hex').slice(0, 16)}`),
  ).toString();
}

/** The run id of one tenant of a fanned-out scheduled run: a UUID derived from the pg-boss job id and the tenant. */
function fanOutRunId(bossJobId: string, tenantId: string): string {
  const hex = createHash('sha256').update(`${bossJobId}:${tenantId}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${((parseInt(hex.slice(16, 17), 16) & 3) | 8).toString(16)}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

class JobCancelled extends Error {
  override readonly name = 'JobCancelled';
}

export function createJobRunner(options: JobRunnerOptions): JobRunner {
  const { domain, sql, jobs, log } = options;
  const byName = new Map(jobs.map((job) => [job.name, job]));
  if (byName.size !== jobs.length) throw new Error(`jobs of ${domain}: a job name is declared twice`);
  for (const job of jobs) {
    if (job.domain !== domain) throw new Error(`job ${job.name} belongs to ${job.domain}, not ${domain}`);
  }
  const host = os.hostname();
  const retryLimit = options.retryLimit ?? 3;
  const maxAttempts = options.maxAttempts ?? 5;
  const boss = new PgBoss({
    db: {
      // Parameterless calls may be scripts (`BEGIN; …; COMMIT`), which only the simple protocol takes.
      executeSql: async (text: string, values?: unknown[]) => ({
        rows: values && values.length > 0 ? await sql.query(text, values) : await sql.script(text),
      }),
    },
    schema: bossSchema(domain),
    supervise: options.work,
    schedule: options.work,
    migrate: true,
  });
  boss.on('error', (error) => log.warn({ err: error }, 'job queue error'));
  const stopping = new AbortController();
  /** Jobs this process is running (the embedded store's lock; on PostgreSQL a guard before the advisory lock). */
  const localLocks = new Set<string>();
  let orphanTimer: NodeJS.Timeout | undefined;
  let started = false;

  const readRun = async (id: string): Promise<JobRunRecord | null> => {
    const [row] = await sql.query(`SELECT ${RUN_COLUMNS} FROM "hub_job_run" WHERE "id" = $1`, [id]);
    return row ? jobRunFromRow(domain, row) : null;
  };

  /**
   * Holds the job's lock while `fn` runs. Waits (polling) while another runner holds it, so a second
   * pg-boss job of the same job never runs beside the first and never spends a retry on waiting.
   */
  async function withJobLock<T>(job: string, fn: () => Promise<T>): Promise<T> {
    while (localLocks.has(job)) {
      if (stopping.signal.aborted) throw new JobCancelled('runner stopping');
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    localLocks.add(job);
    try {
      if (sql.kind === 'embedded') return await fn();
      const key = lockKey(domain, job);
      return await sql.session(async (conn) => {
        for (;;) {
          const [row] = await conn.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1::bigint) AS locked', [
            key,
          ]);
          if (row?.locked) break;
          if (stopping.signal.aborted) throw new JobCancelled('runner stopping');
          await new Promise((resolve) => setTimeout(resolve, 1000));
        }
        try {
          return await fn();
        } finally {
          await conn.query('SELECT pg_advisory_unlock($1::bigint)', [key]);
        }
      });
    } finally {
      localLocks.delete(job);
    }
  }

  /** Whether nobody holds the job's lock (its `running` runs are then orphans). */
  async function lockIsFree(job: string): Promise<boolean> {
    if (localLocks.has(job)) return false;
    if (sql.kind === 'embedded') return true;
    const key = lockKey(domain, job);
    return sql.session(async (conn) => {
      const [row] = await conn.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1::bigint) AS locked', [key]);
      if (row?.locked) await conn.query('SELECT pg_advisory_unlock($1::bigint)', [key]);
      return row?.locked === true;
    });
  }

  async function insertQueued(
    id: string,
    job: string,
    tenantId: string | null,
    trigger: JobTrigger,
    flags: readonly string[] = [],
  ): Promise<void> {
    await sql.query(
      `INSERT INTO "hub_job_run" ("id", "job", "tenant_id", "status", "trigger", "flags")
       VALUES ($1, $2, $3, 'queued', $4, $5::text[]) ON CONFLICT ("id") DO NOTHING`,
      [id, job, tenantId, trigger, [...flags]],
    );
  }

  /** Marks the run running for this runner (once more if resumed); null when it is already finished. */
  async function claimRun(id: string): Promise<JobRunRecord | null> {
    const [row] = await sql.query(
      `UPDATE "hub_job_run" SET "status" = 'running', "started_at" = coalesce("started_at", now()), "ended_at" = NULL,
         "attempts" = "attempts" + 1, "host" = $2, "pid" = $3, "heartbeat_at" = now()
       WHERE "id" = $1 AND "status" IN ('queued', 'running', 'failed') RETURNING ${RUN_COLUMNS}`,
      [id, host, process.pid],
    );
    return row ? jobRunFromRow(domain, row) : null;
  }

  async function finishRun(id: string, status: JobRunStatus, fields: { summary?: JobSummary; error?: string }) {
    await sql.query(
      `UPDATE "hub_job_run" SET "status" = $2, "ended_at" = CASE WHEN $2 IN ('queued', 'running') THEN NULL ELSE now() END,
         "processed" = coalesce($3, "processed"), "failed" = coalesce($4, "failed"), "summary" = coalesce($5::jsonb, "summary"),
         -- A success keeps why it was resumed; a failure or interruption says why now.
         "error" = CASE WHEN $2 = 'succeeded' THEN "error" ELSE $6 END
       WHERE "id" = $1`,
      [
        id,
        status,
        fields.summary?.processed ?? null,
        fields.summary?.failed ?? null,
        fields.summary ? JSON.stringify(fields.summary.details ?? {}) : null,
        fields.error ?? null,
      ],
    );
  }

  /** One tenant's run of `def` under the held job lock. */
  async function runOne(def: JobDefinition, id: string, final: boolean, signal: AbortSignal): Promise<boolean> {
    const run = await claimRun(id);
    if (!run) return true; // finished (or cancelled) before: a fan-out retry skips it
    if (run.attempts > maxAttempts) {
      await finishRun(id, 'failed', { error: `gave up after ${maxAttempts} starts` });
      return false;
    }
    const runLog = log.child({ job: def.name, runId: id, tenantId: run.tenantId, attempt: run.attempts });
    runLog.info({ resumeFrom: run.checkpoint }, run.checkpoint === null ? 'job run started' : 'job run resumed');
    const pipelines = new Map<string, JobSync>();
    try {
      const summary = await def.run({
        runId: id,
        tenantId: run.tenantId,
        resumeFrom: run.checkpoint,
        flags: run.flags,
        queuedAt: run.queuedAt,
        store: options.jobSql ?? sql,
        signal,
        sync: (tenantId) => {
          let pipeline = pipelines.get(tenantId);
          if (!pipeline)
            pipelines.set(tenantId, (pipeline = options.sync(tenantId, `job:${def.name}`, jobActor(def.name, id))));
          return pipeline;
        },
        async checkpoint(state, progress) {
          await sql.query(
            `UPDATE "hub_job_run" SET "checkpoint" = $2::jsonb, "processed" = $3, "failed" = $4,
               "total" = coalesce($5, "total"), "heartbeat_at" = now() WHERE "id" = $1`,
            [id, JSON.stringify(state ?? null), progress.processed, progress.failed, progress.total ?? null],
          );
          if (signal.aborted) throw new JobCancelled('runner stopping');
        },
      });
      await finishRun(id, 'succeeded', { summary });
      runLog.info({ processed: summary.processed, failed: summary.failed }, 'job run succeeded');
      return true;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (error instanceof JobCancelled || signal.aborted) {
        // Stopped between chunks: the checkpoint holds; the retry (or the next start) resumes it.
        await finishRun(id, 'queued', { error: 'interrupted by a shutdown; resumes from its checkpoint' });
        runLog.info('job run interrupted');
      } else {
        await finishRun(id, final ? 'failed' : 'queued', {
          error: final ? message : `attempt ${run.attempts} failed, retrying: ${message}`,
        });
        runLog.warn({ err: error }, 'job run failed');
      }
      return false;
    }
  }

  async function handle(def: JobDefinition, job: PgBoss.JobWithMetadata<BossData>): Promise<void> {
    const data = job.data;
    const final = job.retryCount >= job.retryLimit;
    await withJobLock(def.name, async () => {
      // A run without a tenant fans out over the job's tenants: one record each, never one over all.
      const tenants: (string | null)[] = data.tenantId !== null ? [data.tenantId] : [...(await def.tenants(sql))];
      const runIds = tenants.map((tenant) => (tenant === data.tenantId ? job.id : fanOutRunId(job.id, tenant ?? '')));
      for (const [i, tenant] of tenants.entries())
        await insertQueued(runIds[i] ?? job.id, def.name, tenant, data.trigger, data.flags ?? []);
      // The placeholder `trigger(name, null)` recorded stands for the per-tenant runs now recorded.
      if (data.tenantId === null)
        await sql.query(`DELETE FROM "hub_job_run" WHERE "id" = $1 AND "tenant_id" IS NULL`, [job.id]);
      let ok = true;
      for (const id of runIds) {
        if (stopping.signal.aborted) break;
        ok = (await runOne(def, id, final, stopping.signal)) && ok;
      }
      if (stopping.signal.aborted) throw new JobCancelled('runner stopping');
      // pg-boss retries the whole job; its finished tenants are skipped (claimRun), the others resume.
      if (!ok) throw new Error(`job ${def.name}: a run failed (see hub_job_run)`);
    });
  }

  async function recoverOrphans(): Promise<string[]> {
    const rows = await sql.query<{
      id: string;
      job: string;
      attempts: number;
      host: string | null;
      pid: number | null;
    }>(`SELECT "id", "job", "attempts", "host", "pid" FROM "hub_job_run" WHERE "status" = 'running'`);
    const recovered: string[] = [];
    const free = new Map<string, boolean>();
    for (const row of rows) {
      if (!byName.has(row.job)) continue;
      if (!free.has(row.job)) free.set(row.job, await lockIsFree(row.job));
      if (!free.get(row.job)) continue;
      const lost = `runner ${row.host ?? '?'}/${row.pid ?? '?'} stopped mid-run`;
      const [claimed] = await sql.query(
        `UPDATE "hub_job_run" SET "status" = $2, "error" = $3, "ended_at" = CASE WHEN $2 = 'failed' THEN now() END
         WHERE "id" = $1 AND "status" = 'running' RETURNING "id"`,
        [
          row.id,
          row.attempts >= maxAttempts ? 'failed' : 'queued',
          row.attempts >= maxAttempts
            ? `${lost}; gave up after ${maxAttempts} starts`
            : `${lost}; resumes from its checkpoint`,
        ],
      );
      if (!claimed) continue;
      // The pg-boss job of a fanned-out run has another id: find it by the run's tenants' parent.
      const bossId = await bossJobOf(row.id, row.job);
      if (bossId && row.attempts < maxAttempts) {
        const bossJob = await boss.getJobById<BossData>(row.job, bossId);
        if (bossJob?.state === 'active') await boss.fail(row.job, bossId, { message: lost });
        // A crash is not the job's fault: resume even when pg-boss's retries are spent.
        const after = await boss.getJobById<BossData>(row.job, bossId);
        if (after?.state === 'failed') await boss.retry(row.job, bossId);
      }
      log.warn({ job: row.job, runId: row.id, lost }, 'job run orphaned: handed back to the queue');
      recovered.push(row.id);
    }
    return recovered;
  }

  /** The pg-boss job behind a run: the same id, or (fan-out) the active job of that queue. */
  async function bossJobOf(runId: string, job: string): Promise<string | null> {
    const schema = bossSchema(domain);
    const [same] = await sql.query<{ id: string }>(
      `SELECT "id"::text AS "id" FROM ${schema}.job WHERE "name" = $1 AND "id" = $2::uuid`,
      [job, runId],
    );
    if (same) return same.id;
    const [active] = await sql.query<{ id: string }>(
      `SELECT "id"::text AS "id" FROM ${schema}.job WHERE "name" = $1 AND "state" = 'active' ORDER BY "started_on" LIMIT 1`,
      [job],
    );
    return active?.id ?? null;
  }

  return {
    jobs,
    async start() {
      await boss.start();
      started = true;
      for (const def of jobs) {
        const queue = await boss.getQueue(def.name);
        const settings = {
          name: def.name,
          policy: 'stately' as const,
          retryLimit,
          retryDelay: options.retryDelaySeconds ?? 30,
          retryBackoff: true,
          expireInSeconds: options.expireInSeconds ?? 7200,
        };
        if (queue) await boss.updateQueue(def.name, settings);
        else await boss.createQueue(def.name, settings);
      }
      if (!options.work) return;
      for (const def of jobs) {
        if (def.schedule) {
          const data: BossData = { tenantId: null, trigger: 'schedule' };
          await boss.schedule(def.name, def.schedule, data, { tz: 'UTC' });
        } else {
          await boss.unschedule(def.name);
        }
        await boss.work<BossData>(
          def.name,
          { includeMetadata: true, batchSize: 1, pollingIntervalSeconds: options.pollingIntervalSeconds ?? 2 },
          async ([job]) => {
            if (job) await handle(def, job);
          },
        );
      }
      await recoverOrphans();
      orphanTimer = setInterval(
        () => void recoverOrphans().catch((error) => log.warn({ err: error }, 'orphaned job runs check failed')),
        (options.orphanCheckSeconds ?? 30) * 1000,
      );
      orphanTimer.unref();
    },
    async trigger(name, tenantId, trigger = 'manual', flags = []) {
      const def = byName.get(name);
      if (!def) throw new Error(`unknown job ${name}`);
      if (!started) throw new Error('job runner not started');
      const unknown = flags.filter((flag) => !(def.flags ?? []).includes(flag));
      if (unknown.length > 0) throw new Error(`job ${name} takes no flag ${unknown.join(', ')}`);
      const sorted = [...new Set(flags)].sort();
      const data: BossData = { tenantId, trigger, flags: sorted };
      // Stately per tenant and flags: a waiting plain run does not stand for a repair (nor the reverse).
      const singletonKey = sorted.length > 0 ? `${tenantId ?? '*'}|${sorted.join(',')}` : (tenantId ?? undefined);
      const id = await boss.send(name, data, { singletonKey });
      if (id) {
        await insertQueued(id, name, tenantId, trigger, sorted);
        const run = await readRun(id);
        if (run) return run;
      }
      // Stately: a run of this job and tenant is already waiting; it is the one the caller asked for.
      const [waiting] = await sql.query(
        `SELECT ${RUN_COLUMNS} FROM "hub_job_run" WHERE "job" = $1 AND "tenant_id" IS NOT DISTINCT FROM $2
           AND "status" = 'queued' AND "flags" = $3::text[] ORDER BY "queued_at" DESC LIMIT 1`,
        [name, tenantId, sorted],
      );
      if (waiting) return jobRunFromRow(domain, waiting);
      throw new Error(`job ${name}: could not be queued (a run is already waiting)`);
    },
    recoverOrphans,
    async stop() {
      if (orphanTimer) clearInterval(orphanTimer);
      stopping.abort();
      if (started) await boss.stop({ graceful: true, wait: true, timeout: 10_000 });
    },
  };
}
