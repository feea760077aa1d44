/**
 * What admins read of a domain's event and job machinery (issue 8 item 6), under
 * `Query.sync { <domain> { status jobRuns jobRun integrationHealth } }`: one plain, JSON-able shape per
 * domain and tenant, so issue 9's `syncStatus` subscription can push exactly what the query answers
 * (`syncStatus()` is the one place it is computed).
 */
import type { StoreSql } from '@hub/store';
import type { Domain } from '../domains.js';
import { badUserInput } from '../errors.js';
import { decodeCursor, encodeCursor, lazy, pageWindow, type Connection, type PageArgs } from '../pagination.js';
import { RUN_COLUMNS, jobRunFromRow, type JobRunRecord, type JobRunStatus } from './jobs.js';
import { relayPosition } from './relay.js';
import type { EventBus } from './types.js';

/** A consumer this domain runs: its durable name and the stream it reads. */
export interface ConsumerRef {
  readonly name: string;
  readonly from: Domain;
}

export interface ConsumerLag {
  readonly name: string;
  readonly from: Domain;
  /** The tenant's events of `from`'s stream not yet acknowledged by this consumer. */
  readonly lag: number;
  readonly oldestPendingAt: string | null;
}

export interface SyncStatus {
  readonly domain: Domain;
  readonly tenantId: string;
  /** When this status was read (ISO 8601). */
  readonly at: string;
  /** Outbox rows the tenant committed in the last minute, per second. */
  readonly eventsPerSecond: number;
  /** The tenant's outbox rows not yet published by the relay. */
  readonly outboxBacklog: number;
  readonly consumers: readonly ConsumerLag[];
  /** Waiting (not replayed) dead letters of the tenant: sync events the pipeline refused, events consumers gave up on. */
  readonly deadLetters: { readonly sync: number; readonly consumer: number };
  /** The latest failure among the three: a refused sync event, a consumer's dead letter, a failed job run. */
  readonly lastError: {
    readonly at: string;
    readonly source: 'sync' | 'consumer' | 'job';
    readonly message: string;
  } | null;
  /** The latest run of each job of the domain (the tenant's own runs). */
  readonly jobRuns: readonly JobRunRecord[];
}

const STATUSES: readonly JobRunStatus[] = ['queued', 'running', 'succeeded', 'failed', 'cancelled'];

export async function latestJobRuns(sql: StoreSql, domain: Domain, tenantId: string): Promise<JobRunRecord[]> {
  const rows = await sql.query(
    `SELECT DISTINCT ON ("job") ${RUN_COLUMNS} FROM "hub_job_run"
     WHERE "tenant_id" = $1 ORDER BY "job", "queued_at" DESC, "id" DESC`,
    [tenantId],
  );
  return rows.map((row) => jobRunFromRow(domain, row));
}

export async function syncStatus(options: {
  sql: StoreSql;
  domain: Domain;
  tenantId: string;
  consumers?: readonly ConsumerRef[];
  bus?: Pick<EventBus, 'lag'> | undefined;
}): Promise<SyncStatus> {
  const { sql, domain, tenantId } = options;
  const [outbox] = await sql.query<{ recent: number; backlog: number }>(
    `SELECT count(*) FILTER (WHERE "committed_at" > now() - interval '1 minute')::int AS recent,
            count(*) FILTER (WHERE "hub_sync_outbox"."seq" > p."seq")::int AS backlog
     FROM "hub_sync_outbox", ${relayPosition()} p("seq")
     WHERE "tenant_id" = $1 AND ("hub_sync_outbox"."seq" > p."seq" OR "committed_at" > now() - interval '1 minute')`,
    [tenantId],
  );
  const [syncLetters] = await sql.query<{ waiting: number; at: Date | null; reason: string | null }>(
    `SELECT (SELECT count(*)::int FROM "hub_sync_dead_letter" WHERE "tenant_id" = $1 AND "replayed_at" IS NULL) AS waiting,
            d."received_at" AS at, d."code" || ': ' || d."reason" AS reason
     FROM (SELECT 1) one LEFT JOIN LATERAL (SELECT "received_at", "code", "reason" FROM "hub_sync_dead_letter"
       WHERE "tenant_id" = $1 ORDER BY "received_at" DESC LIMIT 1) d ON true`,
    [tenantId],
  );
  const [consumerLetters] = await sql.query<{ waiting: number; at: Date | null; reason: string | null }>(
    `SELECT (SELECT count(*)::int FROM "hub_event_dead_letter" WHERE "tenant_id" = $1 AND "replayed_at" IS NULL) AS waiting,
            d."last_failed_at" AS at, d."consumer" || ': ' || d."reason" AS reason
     FROM (SELECT 1) one LEFT JOIN LATERAL (SELECT "last_failed_at", "consumer", "reason" FROM "hub_event_dead_letter"
       WHERE "tenant_id" = $1 ORDER BY "last_failed_at" DESC LIMIT 1) d ON true`,
    [tenantId],
  );
  const jobRuns = await latestJobRuns(sql, domain, tenantId);
  const [failedRun] = await sql.query<{ at: Date; job: string; error: string | null }>(
    `SELECT coalesce("ended_at", "queued_at") AS at, "job", "error" FROM "hub_job_run"
     WHERE "tenant_id" = $1 AND "status" IN ('failed', 'queued') AND "error" IS NOT NULL ORDER BY coalesce("ended_at", "queued_at") DESC LIMIT 1`,
    [tenantId],
  );
  const candidates = [
    syncLetters?.at
      ? { at: new Date(syncLetters.at), source: 'sync' as const, message: syncLetters.reason ?? '' }
      : null,
    consumerLetters?.at
      ? { at: new Date(consumerLetters.at), source: 'consumer' as const, message: consumerLetters.reason ?? '' }
      : null,
    failedRun
      ? { at: new Date(failedRun.at), source: 'job' as const, message: `${failedRun.job}: ${failedRun.error}` }
      : null,
  ].filter((c): c is NonNullable<typeof c> => c !== null);
  const last = candidates.sort((a, b) => b.at.getTime() - a.at.getTime())[0];
  const consumers = await Promise.all(
    (options.consumers ?? []).map(async (consumer): Promise<ConsumerLag> => {
      const lag = options.bus
        ? await options.bus.lag(consumer.from, consumer.name, tenantId)
        : { pending: 0, oldestCommittedAt: null };
      return { name: consumer.name, from: consumer.from, lag: lag.pending, oldestPendingAt: lag.oldestCommittedAt };
    }),
  );
  return {
    domain,
    tenantId,
    at: new Date().toISOString(),
    eventsPerSecond: Math.round(((outbox?.recent ?? 0) / 60) * 1000) / 1000,
    outboxBacklog: outbox?.backlog ?? 0,
    consumers,
    deadLetters: { sync: syncLetters?.waiting ?? 0, consumer: consumerLetters?.waiting ?? 0 },
    lastError: last ? { at: last.at.toISOString(), source: last.source, message: last.message } : null,
    jobRuns,
  };
}

/** Keyset cursor of a run page: newest first, by (queued_at, id). */
function runCursor(run: JobRunRecord): string {
  return encodeCursor(`${run.queuedAt.toISOString()}|${run.id}`);
}

/** The tenant's runs, newest first, optionally of one job and status. */
export async function listJobRuns(
  sql: StoreSql,
  domain: Domain,
  tenantId: string,
  args: PageArgs & { job?: string | null; status?: string | null },
): Promise<Connection<JobRunRecord>> {
  const { take } = pageWindow({ first: args.first ?? null });
  const params: unknown[] = [tenantId];
  const where = [`"tenant_id" = $1`];
  if (args.job) where.push(`"job" = $${params.push(args.job)}`);
  if (args.status) {
    const status = args.status.toLowerCase() as JobRunStatus;
    if (!STATUSES.includes(status)) throw badUserInput('status', `must be one of ${STATUSES.join(', ')}`);
    where.push(`"status" = $${params.push(status)}`);
  }
  const filters = [...where];
  const countParams = [...params];
  if (args.after) {
    const [at = '', id = ''] = decodeCursor(args.after).split('|');
    if (Number.isNaN(Date.parse(at)) || id === '') throw badUserInput('after', 'is not a cursor returned by this API');
    where.push(`("queued_at", "id") < ($${params.push(at)}::timestamptz, $${params.push(id)}::uuid)`);
  }
  const rows = await sql.query(
    `SELECT ${RUN_COLUMNS} FROM "hub_job_run" WHERE ${where.join(' AND ')} ORDER BY "queued_at" DESC, "id" DESC LIMIT ${take}`,
    params,
  );
  const runs = rows.map((row) => jobRunFromRow(domain, row));
  const page = runs.slice(0, take - 1);
  const edges = page.map((node) => ({ cursor: runCursor(node), node }));
  return {
    edges,
    pageInfo: {
      hasNextPage: runs.length > take - 1,
      hasPreviousPage: args.after != null,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges[edges.length - 1]?.cursor ?? null,
    },
    totalCount: lazy(async () => {
      const [row] = await sql.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM "hub_job_run" WHERE ${filters.join(' AND ')}`,
        countParams,
      );
      return row?.n ?? 0;
    }) as unknown as number,
  };
}

export async function getJobRun(
  sql: StoreSql,
  domain: Domain,
  tenantId: string,
  id: string,
): Promise<JobRunRecord | null> {
  if (!/^[0-9a-f-]{36}$/i.test(id)) return null;
  const [row] = await sql.query(`SELECT ${RUN_COLUMNS} FROM "hub_job_run" WHERE "id" = $1 AND "tenant_id" = $2`, [
    id,
    tenantId,
  ]);
  return row ? jobRunFromRow(domain, row) : null;
}

/** The tenant's weekly integration-health reports of this domain, newest first. */
export async function integrationHealthReports(
  sql: StoreSql,
  tenantId: string,
  args: PageArgs,
): Promise<Connection<Record<string, unknown> & { id: string }>> {
  const { take } = pageWindow({ first: args.first ?? null });
  const params: unknown[] = [tenantId];
  let after = '';
  if (args.after) {
    const at = decodeCursor(args.after);
    if (Number.isNaN(Date.parse(at))) throw badUserInput('after', 'is not a cursor returned by this API');
    after = ` AND "period_start" < $${params.push(at)}::timestamptz`;
  }
  const rows = await sql.query(
    `SELECT * FROM "hub_integration_health" WHERE "tenant_id" = $1${after} ORDER BY "period_start" DESC LIMIT ${take}`,
    params,
  );
  const page = rows
    .slice(0, take - 1)
    .map((row) => ({ ...row, id: new Date(row['period_start'] as string).toISOString() }));
  const edges = page.map((node) => ({ cursor: encodeCursor(node.id), node }));
  return {
    edges,
    pageInfo: {
      hasNextPage: rows.length > take - 1,
      hasPreviousPage: args.after != null,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges[edges.length - 1]?.cursor ?? null,
    },
    totalCount: lazy(async () => {
      const [row] = await sql.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM "hub_integration_health" WHERE "tenant_id" = $1`,
        [tenantId],
      );
      return row?.n ?? 0;
    }) as unknown as number,
  };
}
