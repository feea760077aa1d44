/**
 * Reconciliation (issue 11 item 5): the `reconcile` job, declared here once and run by the kit in
 * every domain (daily at 03:30 UTC, and on demand `npm run job -- reconcile [--repair]`). Per tenant
 * it runs the domain's checks — each a `ReconcileCheck`:
 *   - `replica` (every domain but customers, reconcileChecks.ts): the local customer and grant replica
 *     against the customers domain's own answer (`_replicaSnapshot`, as replicaFeed fills it);
 *   - `log` (every domain, reconcileChecks.ts): the domain's rows against its event log (the outbox of
 *     the replay window);
 *   - the domain's own (`SubgraphDefinition.reconcile`): health's `health` check, the stored health
 *     against the formula over the stored inputs (subgraphs/health/src/reconcile.ts).
 * Each reports what it checked and the differences found (key, kind, fields). The consistency score
 * is 1 − differing/checked over all checks (1 when nothing was checked), beside the brief's target
 * (QUALITY_TARGETS.consistency, 99.5 %). The report — figures per check and a sample of at most
 * SAMPLE_LIMIT differences — is stored in `hub_reconciliation` (prisma/hub_sync/migrations/
 * 20261203000810_reconciliation), served as `sync { <domain> { reconciliation } }` and measured as
 * `hub_reconciliation_consistency{domain,tenant}`.
 *
 * A difference is confirmed before it counts: a check that finds some runs again after `settleMs`
 * and only what both passes found is reported, so a write committing between the check's reads (a
 * replica event in flight, a row and its outbox event read a moment apart) is not a difference.
 *
 * `--repair` (the job's one flag): each check re-drives what differs (replica rows refetched from the
 * customers domain; the logged events of differing rows re-applied through the pipeline; health
 * recomputed), then checks again; a difference still found is stored with `repaired: false`. The
 * report keeps the figures found before the repair, so the run says what was wrong; the next run
 * says what is left.
 */
import type { StoreSql } from '@hub/store';
import type { Domain } from './domains.js';
import { defineJob, type JobDefinition } from './events/types.js';
import { QUALITY_TARGETS } from './sync/admin.js';
import { uuidv7 } from './sync/ids.js';

export const RECONCILE_JOB = 'reconcile';
export const REPAIR_FLAG = 'repair';
/** The brief's consistency target (> 99.5 %), shared with the data-quality report. */
export const CONSISTENCY_TARGET = QUALITY_TARGETS.consistency;
/** Differences stored per report (the figures count them all). */
export const SAMPLE_LIMIT = 100;

/** `missing`: the reference has it, the domain not; `extra`: the reverse; `different`: both, with other values. */
export type DifferenceKind = 'missing' | 'extra' | 'different';

export interface Difference {
  /** Which check found it (`replica`, `log`, `health`). */
  readonly check: string;
  /** What differs, e.g. `customer:cust_1`, `FeatureUsage:["cust_1","2026-11-01","email"]`, `health:cust_1`. */
  readonly key: string;
  readonly kind: DifferenceKind;
  /** The fields that differ (`different`); empty for a whole row missing or extra. */
  readonly fields: readonly string[];
}

export interface ReconcileContext {
  readonly store: StoreSql;
  readonly tenantId: string;
  readonly runId: string;
  readonly now: Date;
}

export interface CheckResult {
  readonly checked: number;
  readonly differences: readonly Difference[];
}

export interface ReconcileCheck {
  readonly name: string;
  check(ctx: ReconcileContext): Promise<CheckResult>;
  /** Re-drives `differences` (found by this check, for `ctx.tenantId`); absent: report only. */
  repair?(ctx: ReconcileContext, differences: readonly Difference[]): Promise<void>;
}

export interface CheckFigures {
  readonly check: string;
  readonly checked: number;
  readonly differing: number;
  readonly repaired: number;
}

export interface ReconciliationReport {
  readonly id: string;
  readonly runId: string;
  readonly tenantId: string;
  readonly at: Date;
  readonly repair: boolean;
  readonly checked: number;
  readonly differing: number;
  readonly repaired: number;
  readonly score: number;
  readonly target: number;
  readonly checks: readonly CheckFigures[];
  /** The stored sample, in the order found. */
  readonly differences: readonly (Difference & { readonly repaired: boolean })[];
  /** How many differences the sample holds (at most SAMPLE_LIMIT). */
  readonly sampled: number;
}

const id = (d: Difference) => `${d.check}\u0000${d.kind}\u0000${d.key}`;

/** 1 − differing/checked; 1 when nothing was checked (nothing can be inconsistent). */
export function consistencyScore(checked: number, differing: number): number {
  return checked === 0 ? 1 : Math.max(0, 1 - differing / checked);
}

/** A check's differences found twice, `settleMs` apart (see the module comment). */
async function confirmed(check: ReconcileCheck, ctx: ReconcileContext, settleMs: number): Promise<CheckResult> {
  const first = await check.check(ctx);
  if (first.differences.length === 0) return first;
  await new Promise((resolve) => setTimeout(resolve, settleMs));
  const second = await check.check(ctx);
  const again = new Set(second.differences.map(id));
  return { checked: second.checked, differences: first.differences.filter((d) => again.has(id(d))) };
}

/** Runs `checks` for one tenant (repairing with `repair`), without storing anything. */
export async function reconcile(
  checks: readonly ReconcileCheck[],
  ctx: ReconcileContext,
  options: { repair: boolean; settleMs?: number },
): Promise<Omit<ReconciliationReport, 'id' | 'at' | 'sampled'>> {
  const settleMs = options.settleMs ?? 1_000;
  const figures: CheckFigures[] = [];
  const differences: (Difference & { repaired: boolean })[] = [];
  // Every check before any repair: a repair may fix what a later check would have found too (a
  // health score re-driven from the log is also the formula's again), and the report says what was wrong.
  const found: CheckResult[] = [];
  for (const check of checks) found.push(await confirmed(check, ctx, settleMs));
  const repairing = options.repair && found.some((result) => result.differences.length > 0);
  if (repairing)
    for (const [i, check] of checks.entries()) {
      const differences = found[i]?.differences ?? [];
      if (check.repair && differences.length > 0) await check.repair(ctx, differences);
    }
  for (const [i, check] of checks.entries()) {
    const result = found[i] ?? { checked: 0, differences: [] };
    const left = repairing ? new Set((await check.check(ctx)).differences.map(id)) : new Set<string>();
    const marked = result.differences.map((d) => ({ ...d, repaired: repairing && !left.has(id(d)) }));
    differences.push(...marked);
    figures.push({
      check: check.name,
      checked: result.checked,
      differing: result.differences.length,
      repaired: marked.filter((d) => d.repaired).length,
    });
  }
  const checked = figures.reduce((sum, f) => sum + f.checked, 0);
  const differing = figures.reduce((sum, f) => sum + f.differing, 0);
  return {
    runId: ctx.runId,
    tenantId: ctx.tenantId,
    repair: options.repair,
    checked,
    differing,
    repaired: figures.reduce((sum, f) => sum + f.repaired, 0),
    score: consistencyScore(checked, differing),
    target: CONSISTENCY_TARGET,
    checks: figures,
    differences,
  };
}

async function storeReport(
  store: StoreSql,
  report: Omit<ReconciliationReport, 'id' | 'at' | 'sampled'>,
): Promise<string> {
  const reportId = uuidv7();
  const sample = report.differences.slice(0, SAMPLE_LIMIT);
  await store.transaction(async (tx) => {
    await tx.execute(
      `INSERT INTO "hub_reconciliation" ("id", "run_id", "tenant_id", "repair", "checked", "differing", "repaired",
         "score", "target", "checks", "sampled") VALUES ($1::uuid, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11)`,
      [
        reportId,
        report.runId,
        report.tenantId,
        report.repair,
        report.checked,
        report.differing,
        report.repaired,
        report.score,
        report.target,
        JSON.stringify(report.checks),
        sample.length,
      ],
    );
    if (sample.length === 0) return;
    await tx.execute(
      `INSERT INTO "hub_reconciliation_difference" ("reconciliation_id", "n", "check", "key", "kind", "fields", "repaired")
       SELECT $1::uuid, d.n, d."check", d."key", d."kind", ARRAY(SELECT json_array_elements_text(d.fields)), d.repaired
         FROM json_to_recordset($2::json) AS d(n int, "check" text, "key" text, "kind" text, fields json, repaired boolean)`,
      [reportId, JSON.stringify(sample.map((d, n) => ({ n, ...d })))],
    );
  });
  return reportId;
}

/** Tenants a scheduled run covers: every tenant with a replica row, a logged event or a synced row here. */
async function tenantsOf(store: StoreSql): Promise<string[]> {
  const rows = await store.query<{ tenant_id: string }>(
    `SELECT DISTINCT "tenant_id" FROM "hub_customer_replica" UNION SELECT DISTINCT "tenant_id" FROM "hub_sync_outbox"
     UNION SELECT DISTINCT "tenant_id" FROM "hub_sync_row_source" ORDER BY 1`,
  );
  return rows.map((row) => row.tenant_id);
}

export interface ReconcileJobOptions {
  /** The domain's checks, in order (the kit: replica, log, then the domain's own). */
  readonly checks: () => readonly ReconcileCheck[];
  /** Called with every stored report (the kit sets `hub_reconciliation_consistency`). */
  readonly reported?: (report: Omit<ReconciliationReport, 'id' | 'at' | 'sampled'>) => void;
  /** Between the two passes of a check that found differences. @default 1000 */
  readonly settleMs?: number;
  readonly now?: () => Date;
}

export function reconcileJob(domain: Domain, options: ReconcileJobOptions): JobDefinition {
  return defineJob({
    name: RECONCILE_JOB,
    domain,
    schedule: '30 3 * * *',
    description: `Daily: ${domain}'s customer replica against the customers domain, its rows against its event log${
      domain === 'health' ? ', stored health against the formula' : ''
    }; the consistency score per tenant, --repair re-drives what differs`,
    flags: [REPAIR_FLAG],
    tenants: tenantsOf,
    async run(ctx) {
      const tenantId = ctx.tenantId;
      if (tenantId === null) throw new Error(`${RECONCILE_JOB} runs per tenant`);
      const repair = ctx.flags?.includes(REPAIR_FLAG) ?? false;
      const report = await reconcile(
        options.checks(),
        { store: ctx.store, tenantId, runId: ctx.runId, now: options.now?.() ?? new Date() },
        { repair, ...(options.settleMs !== undefined ? { settleMs: options.settleMs } : {}) },
      );
      const reportId = await storeReport(ctx.store, report);
      options.reported?.(report);
      return {
        processed: report.checked,
        failed: report.differing - report.repaired,
        details: {
          reportId,
          repair,
          checked: report.checked,
          differing: report.differing,
          repaired: report.repaired,
          score: report.score,
          target: report.target,
          checks: report.checks,
        },
      };
    },
  });
}

function reportFromRow(row: Record<string, unknown>, differences: Record<string, unknown>[]): ReconciliationReport {
  const checks = (typeof row['checks'] === 'string' ? JSON.parse(row['checks']) : row['checks']) as CheckFigures[];
  return {
    id: String(row['id']),
    runId: String(row['run_id']),
    tenantId: String(row['tenant_id']),
    at: new Date(row['at'] as string),
    repair: row['repair'] === true,
    checked: Number(row['checked']),
    differing: Number(row['differing']),
    repaired: Number(row['repaired']),
    score: Number(row['score']),
    target: Number(row['target']),
    checks,
    sampled: Number(row['sampled']),
    differences: differences.map((d) => ({
      check: String(d['check']),
      key: String(d['key']),
      kind: d['kind'] as DifferenceKind,
      fields: (d['fields'] as string[] | null) ?? [],
      repaired: d['repaired'] === true,
    })),
  };
}

/** The tenant's latest report (or the report of run `runId`), with its sample; null before any run. */
export async function latestReconciliation(
  store: StoreSql,
  tenantId: string,
  runId?: string | null,
): Promise<ReconciliationReport | null> {
  const [row] = await store.query<Record<string, unknown>>(
    `SELECT * FROM "hub_reconciliation" WHERE "tenant_id" = $1 ${runId ? `AND "run_id" = $2` : ''}
      ORDER BY "at" DESC, "id" DESC LIMIT 1`,
    runId ? [tenantId, runId] : [tenantId],
  );
  if (!row) return null;
  const differences = await store.query<Record<string, unknown>>(
    `SELECT "check", "key", "kind", "fields", "repaired" FROM "hub_reconciliation_difference"
      WHERE "reconciliation_id" = $1::uuid ORDER BY "n"`,
    [row['id']],
  );
  return reportFromRow(row, differences);
}

/** The latest score of every tenant of the store (the metric's scrape). */
export async function latestScores(store: StoreSql): Promise<{ tenantId: string; score: number }[]> {
  const rows = await store.query<{ tenant_id: string; score: number }>(
    `SELECT DISTINCT ON ("tenant_id") "tenant_id", "score" FROM "hub_reconciliation" ORDER BY "tenant_id", "at" DESC, "id" DESC`,
  );
  return rows.map((row) => ({ tenantId: row.tenant_id, score: Number(row.score) }));
}
