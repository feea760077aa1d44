import { daysBefore, demoCustomers, demoRandom, DEMO_TENANTS, inChunks, type SeedContext } from '@hub/core/demo';
import type {
  CollectionHealth,
  InvoiceStatus,
  MilestoneAchievement,
  PaymentStatus,
  Prisma,
  PrismaClient,
} from '@hub/store/finance';

const CHUNK = 1000;
const DAY = 86_400_000;

const COLLECTION: Record<PaymentStatus, CollectionHealth> = {
  CURRENT: 'EXCELLENT',
  LATE: 'GOOD',
  OVERDUE: 'FAIR',
  DELINQUENT: 'POOR',
};

function paymentStatusFor(roll: number): PaymentStatus {
  if (roll < 0.7) return 'CURRENT';
  if (roll < 0.85) return 'LATE';
  if (roll < 0.95) return 'OVERDUE';
  return 'DELINQUENT';
}

function milestoneFor(ratio: number): MilestoneAchievement {
  if (ratio >= 1.1) return 'AHEAD';
  if (ratio >= 0.95) return 'ON_TRACK';
  if (ratio >= 0.8) return 'BEHIND';
  return 'AT_RISK';
}

const money = (value: number) => value.toFixed(2);

/**
 * Demo finance data for every demo customer: revenue attribution, value realization, financial
 * health and 3-12 monthly invoices whose statuses agree with the payment status. Skips a tenant
 * that already has rows.
 */
export async function seedDemo(client: PrismaClient, seed: SeedContext): Promise<void> {
  for (const tenant of DEMO_TENANTS) {
    if ((await client.financialHealth.count({ where: { tenantId: tenant.id } })) > 0) continue;
    const revenue: Prisma.RevenueAttributionCreateManyInput[] = [];
    const value: Prisma.ValueRealizationCreateManyInput[] = [];
    const health: Prisma.FinancialHealthCreateManyInput[] = [];
    const invoices: Prisma.InvoiceCreateManyInput[] = [];
    for (const customer of demoCustomers().filter((c) => c.tenantId === tenant.id)) {
      const rng = demoRandom(`finance:${customer.id}`);
      const base = {
        tenantId: tenant.id,
        customerId: customer.id,
        sourceSystem: 'billing',
        sourceUpdatedAt: daysBefore(rng.int(0, 3)),
      };
      const arr = rng.int(20, 400) * 1000;
      revenue.push({
        ...base,
        id: `rev_${customer.id}`,
        currentArr: money(arr),
        churnPrevention: money(Math.round(arr * rng.float(0.05, 0.2))),
        expansionRevenue: money(Math.round(arr * rng.float(0, 0.25))),
        referralValue: money(Math.round(arr * rng.float(0, 0.1))),
        customerLtv: money(arr * rng.float(2, 4)),
        acquisitionCost: money(Math.round(arr * rng.float(0.1, 0.25))),
        successRoi: rng.int(200, 2500),
        paybackPeriodMonths: rng.int(2, 18),
      });
      const ratio = rng.float(0.7, 1.3);
      const realized = Math.round(arr * ratio);
      value.push({
        ...base,
        id: `val_${customer.id}`,
        contractedValue: money(arr),
        realizedValue: money(realized),
        efficiencyGains: money(Math.round(realized * rng.float(0.04, 0.12))),
        costSavings: money(Math.round(realized * rng.float(0.02, 0.08))),
        revenueImpact: money(Math.round(realized * rng.float(0.01, 0.06))),
        timeToValueDays: rng.int(14, 120),
        milestoneAchievement: milestoneFor(ratio),
        customerSatisfaction: rng.float(3, 5, 1),
      });
      const paymentStatus = paymentStatusFor(rng.next());
      health.push({
        ...base,
        id: `fh_${customer.id}`,
        paymentStatus,
        invoiceAccuracy: rng.float(0.9, 1),
        disputeRate: rng.float(0, 0.08),
        collectionHealth: COLLECTION[paymentStatus],
      });
      const count = rng.int(3, 12);
      const unpaidOld = paymentStatus === 'OVERDUE' || paymentStatus === 'DELINQUENT' ? rng.int(1, 2) : 0;
      for (let i = 0; i < count; i++) {
        // i = 0 is the newest invoice; one a month going back.
        const issuedAt = daysBefore(i * 30 + rng.int(1, 5));
        const dueAt = new Date(issuedAt.getTime() + 30 * DAY);
        const pastDue = dueAt < daysBefore(0);
        let status: InvoiceStatus = pastDue ? 'PAID' : 'OPEN';
        if (pastDue && i <= unpaidOld) status = 'OVERDUE';
        const lateDays = paymentStatus === 'CURRENT' ? rng.int(-10, 0) : rng.int(0, 20);
        invoices.push({
          ...base,
          id: `inv_${customer.id}_${String(i + 1).padStart(2, '0')}`,
          number: `INV-${customer.id.slice(5)}-${String(count - i).padStart(2, '0')}`,
          amount: money(arr / 12),
          currency: 'USD',
          issuedAt,
          dueAt,
          paidAt:
            status === 'PAID' ? new Date(Math.min(dueAt.getTime() + lateDays * DAY, daysBefore(0).getTime())) : null,
          status,
        });
      }
    }
    await inChunks(revenue, CHUNK, (data) =>
      seed.insertRows(client, 'RevenueAttribution', data, { skipDuplicates: true }),
    );
    await inChunks(value, CHUNK, (data) => seed.insertRows(client, 'ValueRealization', data, { skipDuplicates: true }));
    await inChunks(invoices, CHUNK, (data) => seed.insertRows(client, 'Invoice', data, { skipDuplicates: true }));
    // Financial health last: its presence marks the tenant as seeded, so an interrupted seed reruns.
    await inChunks(health, CHUNK, (data) => seed.insertRows(client, 'FinancialHealth', data, { skipDuplicates: true }));
  }
}
