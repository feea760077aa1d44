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
    customerTables: ['RevenueAttribution', 'ValueRealization', 'FinancialHealth', 'Invoice'],
    items,
  });
}

export const jobs: readonly JobDefinition[] = [financeRollupJob()];
