/**
 * Finance's batch jobs (the brief's daily "Financial performance metrics"): `finance-rollup`, per tenant
 * and customer, the ARR, contracted and realized value, and invoice totals (invoiced, paid, outstanding,
 * overdue) as of the run, into `FinanceDailyRollup` through the sync pipeline.
 */
import { defineCustomerChunkJob } from '@hub/core/events/chunkedJob';
import type { JobDefinition } from '@hub/core/events/types';
import type { StoreSql } from '@hub/store';
import { dayKey } from '@hub/core/validate';
import { FINANCE_ROLLUP_KIND, type FinanceRollupPayload } from './sync/rollup.js';

/** Every customer finance holds anything of, per tenant. */
const CUSTOMERS = `SELECT "customerId" FROM "RevenueAttribution" WHERE "tenantId" = $1
  UNION SELECT "customerId" FROM "ValueRealization" WHERE "tenantId" = $1
  UNION SELECT "customerId" FROM "FinancialHealth" WHERE "tenantId" = $1
  UNION SELECT "customerId" FROM "Invoice" WHERE "tenantId" = $1`;

const money = (column: string) => `coalesce(${column}, 0)::numeric(14, 2)::text`;

async function items(store: StoreSql, tenantId: string, customerIds: readonly string[], asOf: Date) {
  const rows = await store.query<Record<string, string | number | null>>(
    `SELECT c."customerId", coalesce(ra."currency", vr."currency", 'USD') AS currency,
       ${money('ra."currentArr"')} AS "currentArr", ${money('vr."contractedValue"')} AS "contractedValue",
       ${money('vr."realizedValue"')} AS "realizedValue", fh."paymentStatus"::text AS "paymentStatus",
       ${money('inv.invoiced')} AS "invoicedTotal", ${money('inv.paid')} AS "paidTotal",
       ${money('inv.outstanding')} AS "outstandingTotal", ${money('inv.overdue')} AS "overdueTotal",
       coalesce(inv.overdue_count, 0)::int AS "overdueInvoices"
     FROM unnest($2::text[]) AS c("customerId")
     LEFT JOIN "RevenueAttribution" ra ON ra."tenantId" = $1 AND ra."customerId" = c."customerId"
     LEFT JOIN "ValueRealization" vr ON vr."tenantId" = $1 AND vr."customerId" = c."customerId"
     LEFT JOIN "FinancialHealth" fh ON fh."tenantId" = $1 AND fh."customerId" = c."customerId"
     LEFT JOIN LATERAL (
       SELECT sum("amount") FILTER (WHERE "status" <> 'VOID') AS invoiced,
              sum("amount") FILTER (WHERE "status" = 'PAID') AS paid,
              sum("amount") FILTER (WHERE "status" IN ('OPEN', 'OVERDUE')) AS outstanding,
              sum("amount") FILTER (WHERE "status" IN ('OPEN', 'OVERDUE') AND "dueAt" < $3) AS overdue,
              count(*) FILTER (WHERE "status" IN ('OPEN', 'OVERDUE') AND "dueAt" < $3) AS overdue_count
       FROM "Invoice" i WHERE i."tenantId" = $1 AND i."customerId" = c."customerId" AND i."issuedAt" <= $3
     ) inv ON true
     ORDER BY c."customerId"`,
    [tenantId, customerIds, asOf],
  );
  return rows.map((row) => {
    const payload: FinanceRollupPayload = {
      customerId: String(row['customerId']),
      day: dayKey(asOf),
      asOf: asOf.toISOString(),
      currency: String(row['currency']),
      currentArr: String(row['currentArr']),
      contractedValue: String(row['contractedValue']),
      realizedValue: String(row['realizedValue']),
      invoicedTotal: String(row['invoicedTotal']),
      paidTotal: String(row['paidTotal']),
      outstandingTotal: String(row['outstandingTotal']),
      overdueTotal: String(row['overdueTotal']),
      overdueInvoices: Number(row['overdueInvoices']),
      paymentStatus: (row['paymentStatus'] as FinanceRollupPayload['paymentStatus']) ?? null,
    };
    return { key: payload.customerId, payload: { ...payload } };
  });
}

export function financeRollupJob(options: { chunkSize?: number } = {}): JobDefinition {
  return defineCustomerChunkJob({
    name: 'finance-rollup',
    domain: 'finance',
    schedule: '0 1 * * *',
    description: 'Daily financial rollup per customer: ARR, value, invoiced / paid / outstanding / overdue totals',
    kind: FINANCE_ROLLUP_KIND,
    chunkSize: options.chunkSize,
    async tenants(store) {
      const rows = await store.query<{ tenantId: string }>(
        `SELECT "tenantId" FROM "RevenueAttribution" UNION SELECT "tenantId" FROM "Invoice" ORDER BY 1`,
      );
      return rows.map((r) => r.tenantId);
    },
    async customers(store, tenantId, after, limit) {
      const rows = await store.query<{ customerId: string }>(
        `SELECT "customerId" FROM (${CUSTOMERS}) c WHERE $2::text IS NULL OR "customerId" > $2
         ORDER BY "customerId" LIMIT ${Number(limit)}`,
        [tenantId, after],
      );
      return rows.map((r) => r.customerId);
    },
    async countCustomers(store, tenantId) {
      const [row] = await store.query<{ n: number }>(`SELECT count(*)::int AS n FROM (${CUSTOMERS}) c`, [tenantId]);
      return row?.n ?? 0;
    },
    items,
  });
}

export const jobs: readonly JobDefinition[] = [financeRollupJob()];
