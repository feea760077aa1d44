/**
 * The brief's `financial_performance_sync` payload (camelCase, `FinancialPerformanceSyncInput`): one
 * event writes up to three one-per-customer records, each section replacing its record as a whole.
 */
import { badUserInput } from '@hub/core/errors';
import { instant } from '@hub/core/sync/payload';
import type { QualityCheck, RowChange, SqlExecutor, SyncKind } from '@hub/core/sync/types';
import { amount, customerId, duration, enumMember, inRange, required, unitInterval } from '@hub/core/validate';
import type { CollectionHealth, MilestoneAchievement, PaymentStatus } from '@hub/store/finance';
import type { FinancialPerformanceSyncInput } from '../generated/resolvers-types.js';

const PAYMENT_STATUSES: readonly PaymentStatus[] = ['CURRENT', 'LATE', 'OVERDUE', 'DELINQUENT'];
const COLLECTION_HEALTH: readonly CollectionHealth[] = ['EXCELLENT', 'GOOD', 'FAIR', 'POOR'];
const MILESTONES: readonly MilestoneAchievement[] = ['ON_TRACK', 'AHEAD', 'BEHIND', 'AT_RISK'];

/** Collection health a payment status plausibly comes with (the demo seed follows the first of each). */
const PLAUSIBLE_COLLECTION: Readonly<Record<PaymentStatus, readonly CollectionHealth[]>> = {
  CURRENT: ['EXCELLENT', 'GOOD'],
  LATE: ['GOOD', 'FAIR'],
  OVERDUE: ['FAIR', 'POOR'],
  DELINQUENT: ['POOR'],
};

type Payload = FinancialPerformanceSyncInput;

function money(field: string, value: string | null | undefined): string {
  return amount(field, required(field, value));
}

function revenueRow(customer: string, p: NonNullable<Payload['revenueAttribution']>): RowChange {
  const at = 'revenueAttribution';
  const contribution = required(`${at}.successContribution`, p.successContribution);
  const roi = required(`${at}.roiMetrics`, p.roiMetrics);
  return {
    model: 'RevenueAttribution',
    key: { customerId: customer },
    fields: {
      currentArr: money(`${at}.currentArr`, p.currentArr),
      churnPrevention: money(`${at}.successContribution.churnPrevention`, contribution.churnPrevention),
      expansionRevenue: money(`${at}.successContribution.expansionRevenue`, contribution.expansionRevenue),
      referralValue: money(`${at}.successContribution.referralValue`, contribution.referralValue),
      customerLtv: money(`${at}.roiMetrics.customerLtv`, roi.customerLtv),
      acquisitionCost: money(`${at}.roiMetrics.acquisitionCost`, roi.acquisitionCost),
      successRoi: inRange(
        `${at}.roiMetrics.successRoi`,
        required(`${at}.roiMetrics.successRoi`, roi.successRoi),
        -100,
        1_000_000,
      ),
      paybackPeriodMonths: duration(
        `${at}.roiMetrics.paybackPeriod`,
        required(`${at}.roiMetrics.paybackPeriod`, roi.paybackPeriod),
        'months',
      ),
    },
  };
}

function valueRow(customer: string, p: NonNullable<Payload['valueRealization']>): RowChange {
  const at = 'valueRealization';
  const achievement = required(`${at}.valueAchievement`, p.valueAchievement);
  const timeline = required(`${at}.successTimeline`, p.successTimeline);
  const satisfaction = `${at}.successTimeline.customerSatisfaction`;
  return {
    model: 'ValueRealization',
    key: { customerId: customer },
    fields: {
      contractedValue: money(`${at}.contractedValue`, p.contractedValue),
      realizedValue: money(`${at}.realizedValue`, p.realizedValue),
      efficiencyGains: money(`${at}.valueAchievement.efficiencyGains`, achievement.efficiencyGains),
      costSavings: money(`${at}.valueAchievement.costSavings`, achievement.costSavings),
      revenueImpact: money(`${at}.valueAchievement.revenueImpact`, achievement.revenueImpact),
      timeToValueDays: duration(
        `${at}.successTimeline.timeToValue`,
        required(`${at}.successTimeline.timeToValue`, timeline.timeToValue),
        'days',
      ),
      milestoneAchievement: enumMember(
        `${at}.successTimeline.milestoneAchievement`,
        required(`${at}.successTimeline.milestoneAchievement`, timeline.milestoneAchievement),
        MILESTONES,
      ),
      customerSatisfaction: inRange(satisfaction, required(satisfaction, timeline.customerSatisfaction), 1, 5),
    },
  };
}

function healthRow(customer: string, p: NonNullable<Payload['financialHealth']>): RowChange {
  const at = 'financialHealth';
  return {
    model: 'FinancialHealth',
    key: { customerId: customer },
    fields: {
      paymentStatus: enumMember(
        `${at}.paymentStatus`,
        required(`${at}.paymentStatus`, p.paymentStatus),
        PAYMENT_STATUSES,
      ),
      invoiceAccuracy: unitInterval(`${at}.invoiceAccuracy`, required(`${at}.invoiceAccuracy`, p.invoiceAccuracy)),
      disputeRate: unitInterval(`${at}.disputeRate`, required(`${at}.disputeRate`, p.disputeRate)),
      collectionHealth: enumMember(
        `${at}.collectionHealth`,
        required(`${at}.collectionHealth`, p.collectionHealth),
        COLLECTION_HEALTH,
      ),
    },
  };
}

/** Invoice facts of one customer, for the payment-status consistency check. */
export interface InvoiceFacts {
  invoices: number;
  overdue: number;
  /** Due date of the oldest OPEN invoice; past the snapshot's time it is overdue too. */
  earliestOpenDue: Date | null;
}

/** Per customer of the batch that has invoices in the store (customers without any are not in the map). */
export type FinanceFacts = ReadonlyMap<string, InvoiceFacts>;

async function loadInvoiceFacts(
  db: SqlExecutor,
  tenantId: string,
  payloads: readonly Payload[],
): Promise<FinanceFacts> {
  const ids = [...new Set(payloads.flatMap((p) => (p.financialHealth && p.customerId ? [p.customerId] : [])))];
  const facts = new Map<string, InvoiceFacts>();
  if (ids.length === 0) return facts;
  const rows = await db.query<{
    customerId: string;
    invoices: number;
    overdue: number;
    earliestOpenDue: Date | string | null;
  }>(
    `SELECT "customerId", count(*)::int AS invoices,
            (count(*) FILTER (WHERE status = 'OVERDUE'))::int AS overdue,
            min("dueAt") FILTER (WHERE status = 'OPEN') AS "earliestOpenDue"
       FROM "Invoice"
      WHERE "tenantId" = $1 AND "customerId" IN (SELECT jsonb_array_elements_text($2::jsonb))
      GROUP BY "customerId"`,
    tenantId,
    JSON.stringify(ids),
  );
  for (const row of rows) {
    facts.set(row.customerId, {
      invoices: Number(row.invoices),
      overdue: Number(row.overdue),
      earliestOpenDue: row.earliestOpenDue === null ? null : new Date(row.earliestOpenDue),
    });
  }
  return facts;
}

const OPTIONAL_PATHS = [
  'revenueAttribution.currentArr',
  'revenueAttribution.successContribution.churnPrevention',
  'revenueAttribution.successContribution.expansionRevenue',
  'revenueAttribution.successContribution.referralValue',
  'revenueAttribution.roiMetrics.customerLtv',
  'revenueAttribution.roiMetrics.acquisitionCost',
  'revenueAttribution.roiMetrics.successRoi',
  'revenueAttribution.roiMetrics.paybackPeriod',
  'valueRealization.contractedValue',
  'valueRealization.realizedValue',
  'valueRealization.valueAchievement.efficiencyGains',
  'valueRealization.valueAchievement.costSavings',
  'valueRealization.valueAchievement.revenueImpact',
  'valueRealization.successTimeline.timeToValue',
  'valueRealization.successTimeline.milestoneAchievement',
  'valueRealization.successTimeline.customerSatisfaction',
  'financialHealth.paymentStatus',
  'financialHealth.invoiceAccuracy',
  'financialHealth.disputeRate',
  'financialHealth.collectionHealth',
] as const;

/** Soft checks on a payload `map` accepted (so every number and enum in it parses). */
function plausibility(p: Payload): QualityCheck[] {
  const checks: QualityCheck[] = [];
  const revenue = p.revenueAttribution;
  if (revenue?.currentArr != null && revenue.roiMetrics?.customerLtv != null) {
    const arr = Number(revenue.currentArr);
    const ltv = Number(revenue.roiMetrics.customerLtv);
    // A lifetime shorter than one year of the current ARR, or acquisition costing more than the lifetime, is a typo.
    checks.push({ field: 'revenueAttribution.roiMetrics.customerLtv', ok: ltv >= arr });
    if (revenue.roiMetrics.acquisitionCost != null)
      checks.push({
        field: 'revenueAttribution.roiMetrics.acquisitionCost',
        ok: Number(revenue.roiMetrics.acquisitionCost) <= ltv,
      });
    const kept =
      Number(revenue.successContribution?.churnPrevention ?? 0) +
      Number(revenue.successContribution?.expansionRevenue ?? 0);
    // Churn prevented and expansion are parts of this customer's ARR (referrals bring other customers' revenue).
    checks.push({ field: 'revenueAttribution.successContribution', ok: kept <= arr });
  }
  const value = p.valueRealization;
  if (value?.realizedValue != null && value.valueAchievement) {
    const { efficiencyGains, costSavings, revenueImpact } = value.valueAchievement;
    const parts = Number(efficiencyGains ?? 0) + Number(costSavings ?? 0) + Number(revenueImpact ?? 0);
    checks.push({ field: 'valueRealization.valueAchievement', ok: parts <= Number(value.realizedValue) });
  }
  const health = p.financialHealth;
  if (health?.paymentStatus && health.collectionHealth) {
    const status = health.paymentStatus.toUpperCase() as PaymentStatus;
    const collection = health.collectionHealth.toUpperCase() as CollectionHealth;
    checks.push({ field: 'financialHealth.collectionHealth', ok: PLAUSIBLE_COLLECTION[status].includes(collection) });
  }
  return checks;
}

/**
 * Payment status against the invoices finance holds at the snapshot's time: `current` while an invoice is
 * past due disagrees, and so does `late`/`overdue`/`delinquent` with nothing past due. Customers without
 * invoices in the store give nothing to compare (no check, not a failed one).
 */
function paymentConsistency(p: Payload, facts: unknown): QualityCheck[] {
  const status = p.financialHealth?.paymentStatus;
  const invoices = p.customerId ? (facts as FinanceFacts | undefined)?.get(p.customerId) : undefined;
  if (!status || !invoices || invoices.invoices === 0 || !p.syncTimestamp) return [];
  const at = instant('syncTimestamp', p.syncTimestamp as Date | string);
  const pastDue = invoices.overdue > 0 || (invoices.earliestOpenDue !== null && invoices.earliestOpenDue < at);
  return [{ field: 'financialHealth.paymentStatus', ok: (status.toUpperCase() === 'CURRENT') === !pastDue }];
}

export const financialPerformanceSync: SyncKind<Payload> = {
  name: 'financial_performance_sync',
  sourceTime: (p) => instant('syncTimestamp', required('syncTimestamp', p.syncTimestamp) as Date | string),
  map(p) {
    const customer = customerId('customerId', required('customerId', p.customerId));
    const rows: RowChange[] = [];
    if (p.revenueAttribution) rows.push(revenueRow(customer, p.revenueAttribution));
    if (p.valueRealization) rows.push(valueRow(customer, p.valueRealization));
    if (p.financialHealth) rows.push(healthRow(customer, p.financialHealth));
    if (rows.length === 0)
      throw badUserInput(
        'financialPerformanceSync',
        'at least one of revenueAttribution, valueRealization, financialHealth is required',
      );
    return rows;
  },
  quality: {
    required: ['customerId', 'syncTimestamp'],
    optional: OPTIONAL_PATHS,
    validity: plausibility,
    consistency: paymentConsistency,
    loadFacts: loadInvoiceFacts,
  },
};
