/**
 * `anomaly-scan` (issue 12 item 4): every hour, in every domain, per tenant, the hourly series of
 * accepted changes per source system (from the outbox) and of the mean quality score (from the
 * quality records) over the last 15 days are judged with the seasonal baseline of anomaly.ts; each
 * new anomaly is stored (`hub_anomaly`, once per series and hour), counted in
 * `hub_anomalies_total` and committed as a `<domain>.anomaly_detected` event, so the live
 * `syncStatus` and the console see it as it is found.
 */
import type { SqlTx, StoreSql } from '@hub/store';
import { detectAnomalies, fillHours, type Anomaly, type Point } from '../anomaly.js';
import type { Domain } from '../domains.js';
import { appendOutbox } from '../sync/outbox.js';
import { uuidv7 } from '../sync/ids.js';
import { defineJob, type JobDefinition } from './types.js';

export const ANOMALY_JOB = 'anomaly-scan';
const HOUR = 3_600_000;
/** History read per run: the 14 peer days of the baseline plus the day being judged. */
const HISTORY_DAYS = 15;
/** Hours judged per run: the last day, so a run that was missed a few times catches up. */
const JUDGED_HOURS = 24;

export interface AnomalyRecord {
  readonly id: string;
  readonly series: string;
  readonly hour: Date;
  readonly value: number;
  readonly baseline: number;
  readonly band: number;
  readonly score: number;
  readonly direction: string;
  readonly detectedAt: Date;
}

async function tenantsOf(sql: StoreSql): Promise<string[]> {
  const rows = await sql.query<{ tenant_id: string }>(
    `SELECT DISTINCT "tenant_id" FROM "hub_sync_outbox" UNION SELECT DISTINCT "tenant_id" FROM "hub_sync_quality" ORDER BY 1`,
  );
  return rows.map((row) => row.tenant_id);
}

/** The tenant's hourly series between `from` and `to`: one per source, and the quality score. */
async function seriesOf(sql: StoreSql, tenantId: string, from: Date, to: Date) {
  const events = await sql.query<{ source: string; hour: Date | string; n: number }>(
    `SELECT "source", date_trunc('hour', "committed_at") AS "hour", count(*)::int AS "n" FROM "hub_sync_outbox"
      WHERE "tenant_id" = $1 AND "committed_at" >= $2 AND "committed_at" < $3 GROUP BY 1, 2`,
    [tenantId, from, to],
  );
  const quality = await sql.query<{ hour: Date | string; score: number }>(
    `SELECT date_trunc('hour', "received_at") AS "hour", avg(CASE WHEN "rejected" THEN 0 ELSE "score" END) AS "score"
       FROM "hub_sync_quality" WHERE "tenant_id" = $1 AND "received_at" >= $2 AND "received_at" < $3 GROUP BY 1`,
    [tenantId, from, to],
  );
  const bySource = new Map<string, Point[]>();
  for (const row of events) {
    const points = bySource.get(row.source) ?? [];
    points.push({ at: new Date(row.hour), value: row.n });
    bySource.set(row.source, points);
  }
  return {
    // A source missing from an hour sent nothing that hour: zeros, so going silent is seen.
    events: [...bySource].map(([source, points]) => ({
      series: `events:${source}`,
      points: fillHours(points, from, to),
    })),
    // An hour without records has no score: not filled (nothing to judge).
    quality: quality.map((row) => ({ at: new Date(row.hour), value: Number(row.score) })),
  };
}

export function anomalyJob(
  domain: Domain,
  options: { found?: (series: string, count: number) => void; now?: () => Date } = {},
): JobDefinition {
  return defineJob({
    name: ANOMALY_JOB,
    domain,
    schedule: '5 * * * *',
    description: `Hourly anomaly scan of ${domain}: event rates per source and quality scores against their seasonal baseline`,
    tenants: tenantsOf,
    async run(ctx) {
      const tenantId = ctx.tenantId;
      if (tenantId === null) throw new Error(`${ANOMALY_JOB} runs per tenant`);
      // Up to the last complete hour before the run was asked for.
      const to = new Date(Math.floor((options.now?.() ?? ctx.queuedAt).getTime() / HOUR) * HOUR);
      const from = new Date(to.getTime() - HISTORY_DAYS * 24 * HOUR);
      const judgedFrom = new Date(to.getTime() - JUDGED_HOURS * HOUR);
      const { events, quality } = await seriesOf(ctx.store, tenantId, from, to);
      const found: { series: string; anomaly: Anomaly }[] = [
        ...events.flatMap(({ series, points }) =>
          detectAnomalies(points, { kind: 'count' }, judgedFrom).map((anomaly) => ({ series, anomaly })),
        ),
        ...detectAnomalies(quality, { kind: 'score', direction: 'below' }, judgedFrom).map((anomaly) => ({
          series: 'quality',
          anomaly,
        })),
      ];
      let fresh = 0;
      await ctx.store.transaction(async (tx: SqlTx) => {
        for (const { series, anomaly } of found) {
          const inserted = await tx.execute(
            `INSERT INTO "hub_anomaly" ("id", "tenant_id", "series", "hour", "value", "baseline", "band", "score", "direction")
             VALUES ($1::uuid, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT ("tenant_id", "series", "hour") DO NOTHING`,
            [
              uuidv7(),
              tenantId,
              series,
              anomaly.at,
              anomaly.value,
              anomaly.baseline,
              anomaly.band,
              anomaly.score,
              anomaly.direction,
            ],
          );
          if (inserted === 0) continue;
          fresh++;
          options.found?.(series, 1);
          await appendOutbox(
            { $executeRawUnsafe: (text: string, ...values: unknown[]) => tx.execute(text, values) },
            {
              tenantId,
              customerId: null,
              type: `${domain}.anomaly_detected`,
              source: `job:${ANOMALY_JOB}`,
              occurredAt: anomaly.at,
              payload: { series, hour: anomaly.at.toISOString(), ...anomaly, at: undefined },
            },
          );
        }
      });
      return {
        processed: found.length,
        failed: 0,
        details: { judgedFrom: judgedFrom.toISOString(), to: to.toISOString(), found: found.length, fresh },
      };
    },
  });
}

/** The tenant's anomalies, newest first (keyset by UUIDv7 id). */
export async function listAnomalies(
  sql: StoreSql,
  tenantId: string,
  take: number,
  beforeId?: string,
): Promise<AnomalyRecord[]> {
  const rows = await sql.query<Record<string, unknown>>(
    `SELECT * FROM "hub_anomaly" WHERE "tenant_id" = $1 ${beforeId ? `AND "id" < $3::uuid` : ''}
      ORDER BY "id" DESC LIMIT $2`,
    beforeId ? [tenantId, take, beforeId] : [tenantId, take],
  );
  return rows.map((row) => ({
    id: String(row['id']),
    series: String(row['series']),
    hour: new Date(row['hour'] as string),
    value: Number(row['value']),
    baseline: Number(row['baseline']),
    band: Number(row['band']),
    score: Number(row['score']),
    direction: String(row['direction']),
    detectedAt: new Date(row['detected_at'] as string),
  }));
}
