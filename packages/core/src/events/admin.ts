/**
 * The admin face of a domain's jobs and event machinery for one request (`ctx.sync.events`): what the
 * `DomainSync.status / jobs / jobRuns / jobRun / integrationHealth` fields and `run<Domain>Job` resolve
 * to. Everything is confined to the viewer's tenant (runs over every tenant are shown to its admins
 * too: they are the scheduled runs of jobs that do not list tenants).
 */
import type { StoreSql } from '@hub/store';
import type { Domain } from '../domains.js';
import { badUserInput, forbidden, notFound } from '../errors.js';
import { connectionFromRows, pageWindow, type Connection, type PageArgs } from '../pagination.js';
import { listAnomalies, type AnomalyRecord } from './anomalyJob.js';
import { latestReconciliation, type ReconciliationReport } from '../reconcile.js';
import type { JobRunner, JobRunRecord } from './jobs.js';
import {
  getJobRun,
  integrationHealthReports,
  listJobRuns,
  syncStatus,
  type ConsumerRef,
  type SyncStatus,
} from './status.js';
import type { EventBus } from './types.js';

export interface JobInfo {
  readonly name: string;
  readonly domain: Domain;
  readonly schedule: string | null;
  readonly description: string;
  readonly flags: readonly string[];
}

export interface EventsAdmin {
  status(): Promise<SyncStatus>;
  jobs(): readonly JobInfo[];
  jobRuns(args: PageArgs & { job?: string | null; status?: string | null }): Promise<Connection<JobRunRecord>>;
  jobRun(id: string): Promise<JobRunRecord | null>;
  integrationHealth(args: PageArgs): Promise<Connection<Record<string, unknown> & { id: string }>>;
  /** Anomalies the hourly anomaly-scan found for the tenant, newest first. */
  anomalies(args: PageArgs): Promise<Connection<AnomalyRecord>>;
  /** The tenant's latest reconciliation report (or run `runId`'s). */
  reconciliation(runId?: string | null): Promise<ReconciliationReport | null>;
  /** Queues a run of `job` for the viewer's tenant (`tenant`, when given, must be it). */
  runJob(job: string, tenant?: string | null, flags?: readonly string[] | null): Promise<JobRunRecord>;
}

export interface EventsAdminOptions {
  readonly domain: Domain;
  readonly sql: StoreSql;
  readonly tenantId: string | null;
  readonly runner: JobRunner | undefined;
  readonly consumers?: () => readonly ConsumerRef[];
  readonly bus?: () => Pick<EventBus, 'lag'> | undefined;
}

export function createEventsAdmin(options: EventsAdminOptions): EventsAdmin {
  const { domain, sql } = options;
  const tenant = (): string => {
    if (options.tenantId === null) throw forbidden('A tenant is required');
    return options.tenantId;
  };
  return {
    status: () =>
      syncStatus({ sql, domain, tenantId: tenant(), consumers: options.consumers?.() ?? [], bus: options.bus?.() }),
    jobs: () =>
      (options.runner?.jobs ?? []).map((job) => ({
        name: job.name,
        domain: job.domain,
        schedule: job.schedule,
        description: job.description,
        flags: job.flags ?? [],
      })),
    jobRuns: (args) => listJobRuns(sql, domain, tenant(), args),
    jobRun: (id) => getJobRun(sql, domain, tenant(), id),
    integrationHealth: (args) => integrationHealthReports(sql, tenant(), args),
    async anomalies(args) {
      const tenantId = tenant();
      const window = pageWindow(args);
      const rows = await listAnomalies(sql, tenantId, window.take, window.afterId);
      return connectionFromRows(rows, window.take - 1, window.afterId !== undefined, async () => {
        const [row] = await sql.query<{ n: number }>(
          `SELECT count(*)::int AS "n" FROM "hub_anomaly" WHERE "tenant_id" = $1`,
          [tenantId],
        );
        return row?.n ?? 0;
      });
    },
    reconciliation: (runId) => latestReconciliation(sql, tenant(), runId),
    async runJob(job, requested, flags) {
      const tenantId = tenant();
      // An admin's token is of one tenant: naming another is refused, not silently narrowed.
      if (requested != null && requested !== tenantId) throw forbidden('You may run jobs only for your own tenant');
      const runner = options.runner;
      const def = runner?.jobs.find((j) => j.name === job);
      if (!runner || !def) throw notFound(`${domain} job`, job);
      const unknown = (flags ?? []).filter((flag) => !(def.flags ?? []).includes(flag));
      if (unknown.length > 0)
        throw badUserInput(
          'flags',
          `${job} takes ${def.flags?.length ? `only ${def.flags.join(', ')}` : 'no flags'}, not ${unknown.join(', ')}`,
        );
      return runner.trigger(job, tenantId, 'manual', flags ?? []);
    },
  };
}
