/**
 * The finance domain's sync declaration: what the one write pipeline (packages/core/src/sync) needs to
 * know of finance. Every finance write — `syncFinance`, NDJSON import, and the three mutations — goes
 * through it.
 */
import { defineSync } from '@hub/core/sync/types';
import { financialPerformanceSync } from './sync/performance.js';
import { financeRollupKind } from './sync/rollup.js';
import { createInvoiceKind, updateInvoiceStatusKind, upsertRevenueAttributionKind } from './sync/mutations.js';

/**
 * The source name of finance's own system of record (billing / ERP). Integrations pushing from it send
 * `source: "finance"` (or `POST /sync/finance?source=finance`).
 */
export const FINANCE_SOURCE = 'finance';

export const sync = defineSync({
  domain: 'finance',
  kinds: [
    financialPerformanceSync,
    createInvoiceKind,
    updateInvoiceStatusKind,
    upsertRevenueAttributionKind,
    financeRollupKind,
  ],
  models: {
    RevenueAttribution: { key: ['customerId'] },
    ValueRealization: { key: ['customerId'] },
    FinancialHealth: {
      key: ['customerId'],
      // Payment status and collection health are facts of the payments finance books: a CRM or CS tool that
      // copies them (e.g. in its own financial_performance_sync) may be hours behind, so its later
      // timestamp must not win over the billing system's value.
      owners: { paymentStatus: [FINANCE_SOURCE], collectionHealth: [FINANCE_SOURCE] },
    },
    // No owner: invoices are written by the mutations (people in the hub) and by billing alike, and
    // an owner would make a hub user's PAID silently lose; latest source time decides.
    Invoice: { key: ['number'] },
    // Derived by the finance-rollup job alone (source `job:finance-rollup`): the latest run wins.
    FinanceDailyRollup: { key: ['customerId', 'day'] },
  },
});
