/**
 * Kind of the daily support-ticket consolidation (job `support-consolidation`, ../jobs.ts): one
 * customer's open counts, satisfaction and response times as of a day. Mutation-only: written by the job
 * through the pipeline (idempotency, sources, outbox).
 */
import { instant } from '@hub/core/sync/payload';
import type { SyncKind } from '@hub/core/sync/types';
import { calendarDay, inRange, nonNegativeInt, requiredText } from '@hub/core/validate';

export interface SupportRollupPayload {
  customerId: string;
  day: string;
  asOf: string;
  totalTickets: number;
  openTickets: number;
  urgentOpenTickets: number;
  openedOnDay: number;
  resolvedOnDay: number;
  duplicateOpenTickets: number;
  averageSatisfaction: number | null;
  satisfactionResponses: number;
  averageFirstResponseHours: number | null;
  averageResolutionHours: number | null;
}

export const SUPPORT_ROLLUP_KIND = 'support_daily_rollup';

const count = (field: string, value: number) => nonNegativeInt(field, value);
const hours = (field: string, value: number | null) =>
  value === null ? null : inRange(field, value, 0, Number.MAX_SAFE_INTEGER);

export const supportRollupKind: SyncKind<SupportRollupPayload> = {
  name: SUPPORT_ROLLUP_KIND,
  mutationOnly: true,
  sourceTime: (p) => instant('asOf', p.asOf),
  sourceTimeField: 'asOf',
  map(p) {
    return [
      {
        model: 'SupportDailyRollup',
        key: { customerId: requiredText('customerId', p.customerId, 64), day: calendarDay('day', p.day) },
        fields: {
          totalTickets: count('totalTickets', p.totalTickets),
          openTickets: count('openTickets', p.openTickets),
          urgentOpenTickets: count('urgentOpenTickets', p.urgentOpenTickets),
          openedOnDay: count('openedOnDay', p.openedOnDay),
          resolvedOnDay: count('resolvedOnDay', p.resolvedOnDay),
          duplicateOpenTickets: count('duplicateOpenTickets', p.duplicateOpenTickets),
          averageSatisfaction:
            p.averageSatisfaction === null ? null : inRange('averageSatisfaction', p.averageSatisfaction, 1, 5),
          satisfactionResponses: count('satisfactionResponses', p.satisfactionResponses),
          averageFirstResponseHours: hours('averageFirstResponseHours', p.averageFirstResponseHours),
          averageResolutionHours: hours('averageResolutionHours', p.averageResolutionHours),
        },
      },
    ];
  },
  quality: {
    required: ['customerId', 'day', 'asOf', 'totalTickets', 'openTickets'],
    optional: ['averageSatisfaction', 'averageFirstResponseHours', 'averageResolutionHours'],
  },
};
