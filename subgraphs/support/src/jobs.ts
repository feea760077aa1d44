/**
 * Support's batch jobs (the brief's daily "Support ticket consolidation"): `support-consolidation`, per
 * tenant and customer, open and urgent counts, tickets opened and resolved that day, satisfaction, first
 * response and resolution times, and how many open tickets look like duplicates (the same subject,
 * ignoring case and spacing), into `SupportDailyRollup` through the sync pipeline. Tickets themselves
 * stay as the helpdesk holds them: it is where they are edited, so the hub flags duplicates rather than
 * merging them.
 */
import { defineCustomerChunkJob } from '@hub/core/events/chunkedJob';
import type { JobDefinition } from '@hub/core/events/types';
import { dayKey } from '@hub/core/validate';
import { SUPPORT_ROLLUP_KIND, type SupportRollupPayload } from './sync/rollup.js';

const OPEN = `"status" IN ('OPEN', 'PENDING')`;
const round = (value: unknown) =>
  value === null || value === undefined ? null : Math.round(Number(value) * 100) / 100;

export function supportConsolidationJob(options: { chunkSize?: number } = {}): JobDefinition {
  return defineCustomerChunkJob({
    name: 'support-consolidation',
    domain: 'support',
    schedule: '0 2 * * *',
    description:
      'Daily support-ticket consolidation per customer: open counts, satisfaction, response times, duplicates',
    kind: SUPPORT_ROLLUP_KIND,
    chunkSize: options.chunkSize,
    customerTables: ['Ticket'],
    async items(store, tenantId, customerIds, asOf) {
      const day = dayKey(asOf);
      const rows = await store.query<Record<string, number | string | null>>(
        `WITH t AS (SELECT * FROM "Ticket" WHERE "tenantId" = $1 AND "customerId" = ANY($2::text[]) AND "openedAt" <= $3),
         dup AS (
           SELECT "customerId", sum(n)::int AS duplicates FROM (
             SELECT "customerId", count(*) AS n FROM t WHERE ${OPEN}
             GROUP BY "customerId", lower(regexp_replace(btrim("subject"), '\\s+', ' ', 'g')) HAVING count(*) > 1
           ) g GROUP BY "customerId")
         SELECT t."customerId", count(*)::int AS total, count(*) FILTER (WHERE ${OPEN})::int AS open,
           count(*) FILTER (WHERE ${OPEN} AND "priority" = 'URGENT')::int AS urgent,
           count(*) FILTER (WHERE "openedAt" >= $4::date)::int AS opened,
           count(*) FILTER (WHERE "resolvedAt" >= $4::date AND "resolvedAt" <= $3)::int AS resolved,
           avg("satisfactionScore") AS satisfaction, count("satisfactionScore")::int AS responses,
           avg(extract(epoch FROM "firstResponseAt" - "openedAt") / 3600) AS first_response,
           avg("resolutionHours") AS resolution, coalesce(max(dup.duplicates), 0)::int AS duplicates
         FROM t LEFT JOIN dup ON dup."customerId" = t."customerId"
         GROUP BY t."customerId" ORDER BY t."customerId"`,
        [tenantId, customerIds, asOf, day],
      );
      return rows.map((row) => {
        const payload: SupportRollupPayload = {
          customerId: String(row['customerId']),
          day,
          asOf: asOf.toISOString(),
          totalTickets: Number(row['total']),
          openTickets: Number(row['open']),
          urgentOpenTickets: Number(row['urgent']),
          openedOnDay: Number(row['opened']),
          resolvedOnDay: Number(row['resolved']),
          duplicateOpenTickets: Number(row['duplicates']),
          averageSatisfaction: round(row['satisfaction']),
          satisfactionResponses: Number(row['responses']),
          averageFirstResponseHours: round(row['first_response']),
          averageResolutionHours: round(row['resolution']),
        };
        return { key: payload.customerId, payload: { ...payload } };
      });
    },
  });
}

export const jobs: readonly JobDefinition[] = [supportConsolidationJob()];
