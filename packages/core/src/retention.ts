/**
 * Retention (issue 11, item 4): how long each kind of record is kept, declared here, in one place
 * for the whole hub (what a data-protection review reads), and applied by one daily job that every
 * domain runs against its own store (`retention-archive`, registered by the subgraph kit).
 *
 * The job exports what it removes, then removes it: per policy and tenant, in chunks of `CHUNK`
 * rows in key order, each chunk written whole to an NDJSON file (`<HUB_ARCHIVE_DIR>/<domain>/<table>/
 * <tenant>/<run id>-<first key's hash>.ndjson`, written to a temporary name and renamed) before
 * exactly those rows are deleted. A run killed between the two exports the same rows under the same
 * name on resume (they were not deleted); one killed after the delete starts at the next rows under
 * another name: every removed row is in exactly one file. Archives hold the rows as stored: keep the directory as private as the store
 * (0700), and remember an erasure does not reach archives written before it (README).
 */
import { createHash } from 'node:crypto';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { StoreSql } from '@hub/store';
import type { Domain } from './domains.js';
import { UNPUBLISHED, relayPosition } from './events/relay.js';
import { defineJob, type JobDefinition } from './events/types.js';

export interface RetentionPolicy {
  /** The table (a domain's Prisma model, or a bookkeeping table of every store). */
  readonly table: string;
  /** The timestamp (or date) column the age is measured on. */
  readonly column: string;
  readonly keepDays: number;
  /** The row's tenant column; null for store-wide tables (processed-event ids), purged in every tenant's run. */
  readonly tenantColumn: string | null;
  /** Columns that order and identify a row (the primary key), for chunking. */
  readonly key: readonly string[];
  /** Only rows that are done with (a dead letter replayed, an outbox row published). */
  readonly onlyWhen?: string;
  /** Why this long, and what replaces the rows (shown in the README and the run's summary). */
  readonly reason: string;
}

const DAY = 1;
const MONTH = 30 * DAY;
const YEAR = 365 * DAY;

/** The replay window: how far back `npm run sync:replay` and the consumers' inboxes reach. */
export const REPLAY_WINDOW_DAYS = 30;

/** Every store's bookkeeping (prisma/hub_sync/migrations). */
const BOOKKEEPING: readonly RetentionPolicy[] = [
  {
    table: 'hub_sync_outbox',
    column: 'committed_at',
    keepDays: REPLAY_WINDOW_DAYS,
    tenantColumn: 'tenant_id',
    key: ['seq'],
    onlyWhen: `NOT ${UNPUBLISHED}`,
    reason: 'published change events, kept for the replay window (the bus keeps its own copy as long)',
  },
  {
    // A pass is what dates the outbox rows up to its seq (their publish lag): it goes with them, and
    // the newest, which is the relay's position, always stays.
    table: 'hub_sync_relay_position',
    column: 'published_at',
    keepDays: REPLAY_WINDOW_DAYS,
    tenantColumn: null,
    key: ['seq'],
    onlyWhen: `"seq" < ${relayPosition()}`,
    reason:
      'relay passes (the time the outbox up to each seq was published), with the outbox; the newest is the relay position',
  },
  {
    table: 'hub_event_inbox',
    column: 'processed_at',
    keepDays: REPLAY_WINDOW_DAYS,
    tenantColumn: null,
    key: ['consumer', 'event_id'],
    reason: 'processed-event ids: a replay within the window skips what they name; older events are no longer replayed',
  },
  {
    table: 'hub_sync_idempotency',
    column: 'created_at',
    keepDays: 90 * DAY,
    tenantColumn: 'tenant_id',
    key: ['tenant_id', 'key'],
    reason:
      'idempotency keys with their quality scores: a retry within 90 days is a DUPLICATE; dataQuality reads at most 90 days',
  },
  {
    table: 'hub_sync_quality_rejected',
    column: 'received_at',
    keepDays: 90 * DAY,
    tenantColumn: 'tenant_id',
    key: ['id'],
    reason: 'quality scores of rejected events, as far back as dataQuality reads',
  },
  {
    table: 'hub_sync_dead_letter',
    column: 'received_at',
    keepDays: 90 * DAY,
    tenantColumn: 'tenant_id',
    key: ['id'],
    onlyWhen: `"replayed_at" IS NOT NULL`,
    reason: 'replayed dead letters (waiting ones stay until an admin acts)',
  },
  {
    table: 'hub_event_dead_letter',
    column: 'first_failed_at',
    keepDays: 90 * DAY,
    tenantColumn: 'tenant_id',
    key: ['id'],
    onlyWhen: `"replayed_at" IS NOT NULL`,
    reason: 'replayed consumer dead letters (waiting ones stay until an admin acts)',
  },
  {
    table: 'hub_job_run',
    column: 'queued_at',
    keepDays: YEAR,
    tenantColumn: 'tenant_id',
    key: ['id'],
    onlyWhen: `"ended_at" IS NOT NULL`,
    reason: 'finished job runs',
  },
  {
    // The audit trail's append-only trigger lets only entries this old be deleted (the migration's
    // 2555 days is this policy's age). A stream is archived from its oldest entry on (entries are
    // stamped in chain order), and the head keeps the last archived entry's hash, so what remains
    // still verifies from there (audit.ts `verifyAudit`); the archive files hold the segment whole.
    table: 'hub_audit',
    column: 'at',
    keepDays: 7 * YEAR,
    tenantColumn: 'tenant_id',
    key: ['tenant_id', 'domain', 'position'],
    reason: 'audit trail, seven years; the oldest segment of each chain leaves whole (the head keeps its last hash)',
  },
  {
    table: 'hub_integration_health',
    column: 'period_end',
    keepDays: 2 * YEAR,
    tenantColumn: 'tenant_id',
    key: ['tenant_id', 'period_start'],
    reason: 'weekly integration-health reports, for two years of trend',
  },
  {
    table: 'hub_reconciliation',
    column: 'at',
    keepDays: YEAR,
    tenantColumn: 'tenant_id',
    key: ['id'],
    reason: 'daily reconciliation reports (their sampled differences go with them), a year of consistency scores',
  },
];

/** The domains' own records with a life shorter than the customer's. */
const DOMAIN_POLICIES: Readonly<Partial<Record<Domain, readonly RetentionPolicy[]>>> = {
  product: [
    {
      table: 'FeatureUsage',
      column: 'periodEnd',
      keepDays: 13 * MONTH,
      tenantColumn: 'tenantId',
      key: ['id'],
      reason: 'raw usage, 13 months; the daily product-usage rollup (UsageDailyRollup) keeps the history',
    },
  ],
  health: [
    {
      table: 'HealthSnapshot',
      column: 'recordedAt',
      keepDays: 2 * YEAR,
      tenantColumn: 'tenantId',
      key: ['id'],
      reason: 'health history, two years (the 30-day change and the trends read far less)',
    },
  ],
  support: [
    {
      table: 'Ticket',
      column: 'resolvedAt',
      keepDays: 3 * YEAR,
      tenantColumn: 'tenantId',
      key: ['id'],
      onlyWhen: `"resolvedAt" IS NOT NULL`,
      reason: 'resolved tickets, three years; the daily support consolidation (SupportDailyRollup) keeps the counts',
    },
  ],
};

/** What applies to one domain's store: its own policies and every store's bookkeeping. */
export function retentionPolicies(domain: Domain): readonly RetentionPolicy[] {
  return [...(DOMAIN_POLICIES[domain] ?? []), ...BOOKKEEPING];
}

/** Every policy of the hub, for the README's table. */
export function allRetentionPolicies(): readonly { domain: Domain | '*'; policy: RetentionPolicy }[] {
  return [
    ...Object.entries(DOMAIN_POLICIES).flatMap(([domain, policies]) =>
      (policies ?? []).map((policy) => ({ domain: domain as Domain, policy })),
    ),
    ...BOOKKEEPING.map((policy) => ({ domain: '*' as const, policy })),
  ];
}

export const RETENTION_JOB = 'retention-archive';
const CHUNK = 1_000;

const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;

interface Checkpoint {
  /** Index of the policy the run is in. */
  readonly policy: number;
  readonly archived: Readonly<Record<string, number>>;
}

/** Distinct tenants of the store's tenant-keyed tables the policies cover (the runner fans out per tenant). */
async function tenantsOf(sql: StoreSql, policies: readonly RetentionPolicy[]): Promise<string[]> {
  const parts = policies
    .filter((p) => p.tenantColumn !== null)
    .map((p) => `SELECT DISTINCT ${quote(p.tenantColumn ?? '')}::text AS "t" FROM ${quote(p.table)}`);
  const rows = await sql.query<{ t: string | null }>(`${parts.join(' UNION ')} ORDER BY 1`);
  return rows.flatMap((row) => (row.t === null ? [] : [row.t]));
}

/**
 * The daily retention job of one domain. `archiveDir` is where exports go (HUB_ARCHIVE_DIR, default
 * `.data/archive`); `now` lets tests move the clock.
 */
export function retentionJob(domain: Domain, options: { archiveDir: string; now?: () => Date }): JobDefinition {
  const policies = retentionPolicies(domain);
  return defineJob({
    name: RETENTION_JOB,
    domain,
    schedule: '30 1 * * *',
    description: `Daily retention of ${domain}: exports records past their retention to NDJSON, then deletes them`,
    tenants: (sql) => tenantsOf(sql, policies),
    async run(ctx) {
      const tenantId = ctx.tenantId;
      if (tenantId === null) throw new Error(`${RETENTION_JOB} runs per tenant`);
      const resume = (ctx.resumeFrom ?? null) as Checkpoint | null;
      const archived: Record<string, number> = { ...(resume?.archived ?? {}) };
      let processed = Object.values(archived).reduce((a, b) => a + b, 0);
      // The age is measured from when the run was asked for, so a resumed run removes the same rows.
      const asOf = options.now?.() ?? ctx.queuedAt;
      for (let index = resume?.policy ?? 0; index < policies.length; index++) {
        const policy = policies[index];
        if (!policy) continue;
        const cutoff = new Date(asOf.getTime() - policy.keepDays * 86_400_000);
        const conditions = [
          `${quote(policy.column)} < $1`,
          ...(policy.tenantColumn === null ? [] : [`${quote(policy.tenantColumn)} = $2`]),
          ...(policy.onlyWhen ? [policy.onlyWhen] : []),
        ];
        const params = policy.tenantColumn === null ? [cutoff] : [cutoff, tenantId];
        const keys = policy.key.map(quote).join(', ');
        const keyOf = (row: Record<string, unknown>) => Object.fromEntries(policy.key.map((k) => [k, row[k]]));
        const join = policy.key.map((k) => `t.${quote(k)} = d.${quote(k)}`).join(' AND ');
        for (;;) {
          if (ctx.signal.aborted) throw new Error('retention run cancelled');
          const rows = await ctx.store.query<Record<string, unknown>>(
            `SELECT * FROM ${quote(policy.table)} WHERE ${conditions.join(' AND ')} ORDER BY ${keys} LIMIT ${CHUNK}`,
            params,
          );
          if (rows.length === 0) break;
          const dir = path.join(
            options.archiveDir,
            domain,
            policy.table,
            policy.tenantColumn === null ? '_store' : tenantId,
          );
          await mkdir(dir, { recursive: true, mode: 0o700 });
          // Named after the chunk's first key: a run killed before the delete committed exports the
          // same rows under the same name again; one killed after it starts at the next rows.
          const first = createHash('sha256')
            .update(JSON.stringify(keyOf(rows[0] ?? {})))
            .digest('hex')
            .slice(0, 16);
          const file = path.join(dir, `${ctx.runId}-${first}.ndjson`);
          await writeFile(`${file}.tmp`, `${rows.map((row) => JSON.stringify(row)).join('\n')}\n`, { mode: 0o600 });
          await rename(`${file}.tmp`, file);
          // Exactly the rows exported, by key, each cast to its column's type by the table's row type.
          await ctx.store.query(
            `DELETE FROM ${quote(policy.table)} t USING json_populate_recordset(NULL::${quote(policy.table)}, $1::json) d
              WHERE ${join}`,
            [JSON.stringify(rows.map(keyOf))],
          );
          if (policy.tenantColumn !== null) {
            archived[policy.table] = (archived[policy.table] ?? 0) + rows.length;
            processed += rows.length;
          }
          await ctx.checkpoint({ policy: index, archived } satisfies Checkpoint, { processed, failed: 0 });
        }
        await ctx.checkpoint({ policy: index + 1, archived } satisfies Checkpoint, { processed, failed: 0 });
      }
      return {
        processed,
        failed: 0,
        details: {
          asOf: asOf.toISOString(),
          archiveDir: path.join(options.archiveDir, domain),
          // Store-wide tables (processed-event ids) are purged too, but their counts are no tenant's.
          archived,
        },
      };
    },
  });
}
