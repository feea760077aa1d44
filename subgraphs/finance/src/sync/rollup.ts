/**
 * Kind of the daily financial rollup (job `finance-rollup`, ../jobs.ts): one customer's ARR, value and
 * invoice totals as of a day. Mutation-only: written by the job alone, through the pipeline, so the
 * rollup row gets idempotency, field sources and its outbox event like any finance write.
 */
import { instant } from '@hub/core/sync/payload';
import type { SyncKind } from '@hub/core/sync/types';
import { amount, calendarDay, nonNegativeInt, requiredText } from '@hub/core/validate';
import type { PaymentStatus } from '@hub/store/finance';

export interface FinanceRollupPayload {
  customerId: string;
  /** YYYY-MM-DD (UTC) the rollup covers. */
  day: string;
  /** The instant the figures were read as of (the run's queue time): the source time. */
  asOf: string;
  currency: string;
  currentArr: string;
  contractedValue: string;
  realizedValue: string;
  invoicedTotal: string;
  paidTotal: string;
  outstandingTotal: string;
  overdueTotal: string;
  overdueInvoices: number;
  paymentStatus: PaymentStatus | null;
}

export const FINANCE_ROLLUP_KIND = 'finance_daily_rollup';

export const financeRollupKind: SyncKind<FinanceRollupPayload> = {
  name: FINANCE_ROLLUP_KIND,
  mutationOnly: true,
  sourceTime: (p) => instant('asOf', p.asOf),
  sourceTimeField: 'asOf',
  map(p) {
    return [
      {
        model: 'FinanceDailyRollup',
        key: { customerId: requiredText('customerId', p.customerId), day: calendarDay('day', p.day) },
        fields: {
          currency: requiredText('currency', p.currency, 3),
          currentArr: amount('currentArr', p.currentArr),
          contractedValue: amount('contractedValue', p.contractedValue),
          realizedValue: amount('realizedValue', p.realizedValue),
          invoicedTotal: amount('invoicedTotal', p.invoicedTotal),
          paidTotal: amount('paidTotal', p.paidTotal),
          outstandingTotal: amount('outstandingTotal', p.outstandingTotal),
          overdueTotal: amount('overdueTotal', p.overdueTotal),
          overdueInvoices: nonNegativeInt('overdueInvoices', p.overdueInvoices),
          paymentStatus: p.paymentStatus,
        },
      },
    ];
  },
  quality: {
    required: ['customerId', 'day', 'asOf', 'currentArr', 'invoicedTotal', 'outstandingTotal', 'overdueTotal'],
    optional: ['contractedValue', 'realizedValue', 'paymentStatus'],
  },
};
