import { describe, expect, it } from 'vitest';
import { acme, globex, gql, senderOf, useTestSubgraph, viewerFor } from '@hub/core/testing';
import { sqlOf, syncBatch, syncMutation, withPath, type SyncAnswer } from '@hub/core/sync/testing';
import { subgraph } from '../src/server.js';
import { sync } from '../src/sync.js';
import { financialPerformanceSync, type FinanceFacts } from '../src/sync/performance.js';
import type { FinancialPerformanceSyncInput } from '../src/generated/resolvers-types.js';

const hub = useTestSubgraph(subgraph);

/** The brief's "Financial Performance Synchronization" example, keys camelCased, values as the brief writes them. */
const BRIEF = {
  customerId: 'cust_12345',
  revenueAttribution: {
    currentArr: 150000,
    successContribution: { churnPrevention: 25000, expansionRevenue: 30000, referralValue: 15000 },
    roiMetrics: { customerLtv: 450000, acquisitionCost: 25000, successRoi: 1800, paybackPeriod: '3_months' },
  },
  valueRealization: {
    contractedValue: 150000,
    realizedValue: 180000,
    valueAchievement: { efficiencyGains: 15000, costSavings: 8000, revenueImpact: 7000 },
    successTimeline: { timeToValue: '45_days', milestoneAchievement: 'on_track', customerSatisfaction: 4.6 },
  },
  financialHealth: {
    paymentStatus: 'current',
    invoiceAccuracy: 0.98,
    disputeRate: 0.02,
    collectionHealth: 'excellent',
  },
  syncTimestamp: '2025-12-05T08:21:00Z',
};

/** As the Money scalar hands the payload to the pipeline: amounts as decimal strings. */
function parsed(payload: unknown): FinancialPerformanceSyncInput {
  return JSON.parse(JSON.stringify(payload), (key, value: unknown) =>
    typeof value === 'number' && MONEY_KEYS.has(key) ? String(value) : value,
  ) as FinancialPerformanceSyncInput;
}
const MONEY_KEYS = new Set(
  'currentArr churnPrevention expansionRevenue referralValue customerLtv acquisitionCost contractedValue realizedValue efficiencyGains costSavings revenueImpact'.split(
    ' ',
  ),
);

const syncEvents = async (events: Record<string, unknown>[], viewer = senderOf('acme', 'finance', events)) =>
  (await syncBatch(hub.url, 'finance', events, viewer)).results;

const HEALTH = `query ($reps: [_Any!]!) { _entities(representations: $reps) { ... on Customer { finance {
  financialHealth { paymentStatus invoiceAccuracy collectionHealth } revenueAttribution { currentArr } } } } }`;
async function financeOf(customerId: string, viewer = acme) {
  const res = await gql<{
    _entities: {
      finance: {
        financialHealth: { paymentStatus: string; invoiceAccuracy: number; collectionHealth: string } | null;
        revenueAttribution: { currentArr: string } | null;
      };
    }[];
  }>(hub.url, HEALTH, { reps: [{ __typename: 'Customer', id: customerId }] }, viewer);
  return res.data?._entities[0]?.finance;
}

const minutesAgo = (n: number) => new Date(Date.now() - n * 60_000).toISOString();

describe('finance sync declaration', () => {
  it('maps the brief’s financial_performance_sync example to the three finance records', () => {
    expect(financialPerformanceSync.sourceTime(parsed(BRIEF))).toEqual(new Date('2025-12-05T08:21:00Z'));
    expect(financialPerformanceSync.map(parsed(BRIEF))).toEqual([
      {
        model: 'RevenueAttribution',
        key: { customerId: 'cust_12345' },
        fields: {
          currentArr: '150000',
          churnPrevention: '25000',
          expansionRevenue: '30000',
          referralValue: '15000',
          customerLtv: '450000',
          acquisitionCost: '25000',
          successRoi: 1800,
          paybackPeriodMonths: 3,
        },
      },
      {
        model: 'ValueRealization',
        key: { customerId: 'cust_12345' },
        fields: {
          contractedValue: '150000',
          realizedValue: '180000',
          efficiencyGains: '15000',
          costSavings: '8000',
          revenueImpact: '7000',
          timeToValueDays: 45,
          milestoneAchievement: 'ON_TRACK',
          customerSatisfaction: 4.6,
        },
      },
      {
        model: 'FinancialHealth',
        key: { customerId: 'cust_12345' },
        fields: { paymentStatus: 'CURRENT', invoiceAccuracy: 0.98, disputeRate: 0.02, collectionHealth: 'EXCELLENT' },
      },
    ]);
    // Every plausibility check of the example passes.
    expect(financialPerformanceSync.quality.validity?.(parsed(BRIEF)).every((check) => check.ok)).toBe(true);
  });

  it('declares a unique natural key for every model it writes and finance as owner of payment status', () => {
    const models = new Set(
      sync.kinds.flatMap((kind) => kind.map(examplePayloadOf(kind.name) as never).map((row) => row.model)),
    );
    expect([...models].sort()).toEqual(Object.keys(sync.models).sort());
    expect(sync.models['FinancialHealth']?.owners).toEqual({
      paymentStatus: ['finance'],
      collectionHealth: ['finance'],
    });
    expect(sync.kinds.filter((kind) => !kind.mutationOnly).map((kind) => kind.name)).toEqual([
      'financial_performance_sync',
    ]);
  });

  it.each([
    ['customerId', undefined, 'customerId'],
    ['customerId', '12345', 'customerId'],
    ['revenueAttribution.currentArr', undefined, 'revenueAttribution.currentArr'],
    ['revenueAttribution.currentArr', '-1', 'revenueAttribution.currentArr'],
    ['revenueAttribution.roiMetrics', undefined, 'revenueAttribution.roiMetrics'],
    ['revenueAttribution.roiMetrics.paybackPeriod', '3 months', 'revenueAttribution.roiMetrics.paybackPeriod'],
    ['revenueAttribution.roiMetrics.paybackPeriod', '90_days', 'revenueAttribution.roiMetrics.paybackPeriod'],
    ['valueRealization.successTimeline.timeToValue', 'soon', 'valueRealization.successTimeline.timeToValue'],
    [
      'valueRealization.successTimeline.milestoneAchievement',
      'late',
      'valueRealization.successTimeline.milestoneAchievement',
    ],
    [
      'valueRealization.successTimeline.customerSatisfaction',
      6,
      'valueRealization.successTimeline.customerSatisfaction',
    ],
    ['valueRealization.valueAchievement.costSavings', undefined, 'valueRealization.valueAchievement.costSavings'],
    ['financialHealth.paymentStatus', 'paid', 'financialHealth.paymentStatus'],
    ['financialHealth.invoiceAccuracy', 1.5, 'financialHealth.invoiceAccuracy'],
    ['financialHealth.disputeRate', undefined, 'financialHealth.disputeRate'],
    ['financialHealth.collectionHealth', 'superb', 'financialHealth.collectionHealth'],
  ])('rejects %s = %j naming %s', (path, value, field) => {
    expect(() => financialPerformanceSync.map(parsed(withPath(BRIEF, path, value)))).toThrow(
      expect.objectContaining({ extensions: expect.objectContaining({ code: 'BAD_USER_INPUT', field }) }),
    );
  });

  it('accepts any one section alone and refuses a payload with none', () => {
    for (const only of ['revenueAttribution', 'valueRealization', 'financialHealth'] as const) {
      const payload = { customerId: 'cust_12345', [only]: BRIEF[only], syncTimestamp: BRIEF.syncTimestamp };
      expect(financialPerformanceSync.map(parsed(payload)).map((row) => row.model)).toHaveLength(1);
    }
    expect(() =>
      financialPerformanceSync.map(parsed({ customerId: 'cust_12345', syncTimestamp: BRIEF.syncTimestamp })),
    ).toThrow(expect.objectContaining({ extensions: expect.objectContaining({ field: 'financialPerformanceSync' }) }));
  });

  it.each([
    ['revenueAttribution.roiMetrics.customerLtv', 100000],
    ['revenueAttribution.roiMetrics.acquisitionCost', 500000],
    ['revenueAttribution.successContribution', { churnPrevention: 100000, expansionRevenue: 60000, referralValue: 0 }],
    ['valueRealization.valueAchievement', { efficiencyGains: 100000, costSavings: 50000, revenueImpact: 40000 }],
    ['financialHealth.collectionHealth', 'poor'],
  ])('flags an implausible %s as a failed validity check (accepted, scored lower)', (path, value) => {
    const payload = parsed(withPath(BRIEF, path, value));
    expect(() => financialPerformanceSync.map(payload)).not.toThrow();
    const failed = financialPerformanceSync.quality
      .validity?.(payload)
      .filter((check) => !check.ok)
      .map((c) => c.field);
    expect(failed).toEqual([path]);
  });

  it('loads the invoice facts of a whole batch in one query, and checks payment status against them', async () => {
    const calls: string[] = [];
    const db = sqlOf(hub.store.client, calls);
    const [overdueCustomer, currentCustomer] = await Promise.all([
      customerWithInvoices(
        'EXISTS (SELECT 1 FROM "Invoice" i WHERE i."customerId" = h."customerId" AND i.status = \'OVERDUE\')',
      ),
      customerWithInvoices(
        'h."paymentStatus" = \'CURRENT\' AND NOT EXISTS (SELECT 1 FROM "Invoice" i WHERE i."customerId" = h."customerId" AND (i.status = \'OVERDUE\' OR (i.status = \'OPEN\' AND i."dueAt" < \'2025-12-05T08:21:00Z\')))',
      ),
    ]);
    // The demo invoices are dated around DEMO_NOW, the brief's own sync_timestamp: snapshots taken then.
    const now = BRIEF.syncTimestamp;
    const payloads = [overdueCustomer, currentCustomer, 'cust_99999'].flatMap((customerId) =>
      ['current', 'overdue'].map((paymentStatus) =>
        parsed({ customerId, financialHealth: { ...BRIEF.financialHealth, paymentStatus }, syncTimestamp: now }),
      ),
    );
    const facts = (await financialPerformanceSync.quality.loadFacts?.(db, 'acme', payloads)) as FinanceFacts;
    expect(calls).toHaveLength(1);
    expect(facts.get(overdueCustomer)?.overdue).toBeGreaterThan(0);
    expect(facts.get(currentCustomer)?.overdue).toBe(0);
    expect(facts.has('cust_99999')).toBe(false);
    const verdicts = payloads.map((p) => financialPerformanceSync.quality.consistency?.(p, facts).map((c) => c.ok));
    expect(verdicts).toEqual([[false], [true], [true], [false], [], []]);
    // Another tenant's invoices are not facts about this one.
    const other = (await financialPerformanceSync.quality.loadFacts?.(db, 'globex', payloads)) as FinanceFacts;
    expect(other.size).toBe(0);
  });
});

async function customerWithInvoices(condition: string): Promise<string> {
  const rows = await hub.store.client.$queryRawUnsafe<{ customerId: string }[]>(
    `SELECT h."customerId" FROM "FinancialHealth" h WHERE h."tenantId" = 'acme' AND ${condition} ORDER BY 1 LIMIT 1`,
  );
  const id = rows[0]?.customerId;
  if (!id) throw new Error(`no acme customer with ${condition}`);
  return id;
}

/** A valid payload of each kind, so the model test can see which models every kind writes. */
function examplePayloadOf(kind: string): unknown {
  const invoice = {
    customerId: 'cust_1',
    number: 'INV-1',
    amount: '1',
    currency: 'USD',
    issuedAt: new Date(0),
    dueAt: new Date(1),
  };
  switch (kind) {
    case 'financial_performance_sync':
      return parsed(BRIEF);
    case 'create_invoice':
      return { input: invoice };
    case 'finance_daily_rollup':
      return {
        customerId: 'cust_1',
        day: '2025-12-05',
        asOf: '2025-12-05T08:21:00Z',
        currency: 'USD',
        currentArr: '1',
        contractedValue: '1',
        realizedValue: '1',
        invoicedTotal: '1',
        paidTotal: '0',
        outstandingTotal: '1',
        overdueTotal: '0',
        overdueInvoices: 0,
        paymentStatus: 'CURRENT',
      };
    case 'update_invoice_status':
      return {
        input: { id: 'i', status: 'PAID' },
        current: { number: 'INV-1', customerId: 'cust_1', status: 'OPEN', issuedAt: new Date(0) },
        now: new Date(),
      };
    default:
      return {
        input: {
          customerId: 'cust_1',
          currentArr: '1',
          churnPrevention: '0',
          expansionRevenue: '0',
          referralValue: '0',
          customerLtv: '1',
          acquisitionCost: '0',
          successRoi: 0,
          paybackPeriodMonths: 1,
        },
      };
  }
}

describe('finance sync through the pipeline (syncFinance)', () => {
  it('applies the brief’s example once; the same event again is a DUPLICATE of it', async () => {
    await gql(
      hub.customers?.url ?? '',
      'mutation { createCustomer(input: { id: "cust_12345", name: "Brief", ownerId: "u1" }) { id } }',
      {},
      acme,
    );
    const event = { financialPerformanceSync: BRIEF };
    const [first] = await syncEvents([event]);
    expect(first).toMatchObject({ outcome: 'APPLIED', code: null });
    expect(first?.quality).toMatchObject({ completeness: 1, validity: 1, consistency: 1 });
    expect(await financeOf('cust_12345')).toEqual({
      financialHealth: { paymentStatus: 'CURRENT', invoiceAccuracy: 0.98, collectionHealth: 'EXCELLENT' },
      revenueAttribution: { currentArr: '150000.00' },
    });
    const [again] = await syncEvents([event]);
    expect(again).toMatchObject({ outcome: 'DUPLICATE', firstOutcome: 'APPLIED' });
  });

  it('rejects a bad event with its field and applies the rest of the batch', async () => {
    const bad = withPath(BRIEF, 'financialHealth.invoiceAccuracy', 2);
    const good = { ...withPath(BRIEF, 'customerId', 'cust_00004'), syncTimestamp: minutesAgo(1) };
    const results = await syncEvents([{ financialPerformanceSync: bad }, { financialPerformanceSync: good }]);
    expect(results.map((r) => [r.outcome, r.code, r.field])).toEqual([
      ['REJECTED', 'BAD_USER_INPUT', 'financialHealth.invoiceAccuracy'],
      ['APPLIED', null, null],
    ]);
    const unknown = await syncEvents([{ financialPerformanceSync: withPath(BRIEF, 'customerId', 'cust_nobody') }]);
    expect(unknown.map((r) => [r.outcome, r.code])).toEqual([['REJECTED', 'NOT_FOUND']]);
  });

  it('scores a complete recent payload above a sparse stale one', async () => {
    const complete = { ...withPath(BRIEF, 'customerId', 'cust_00010'), syncTimestamp: minutesAgo(2) };
    const sparse = {
      customerId: 'cust_00016',
      financialHealth: BRIEF.financialHealth,
      syncTimestamp: new Date(Date.now() - 3.5 * 86_400_000).toISOString(),
    };
    const [a, b] = await syncEvents([{ financialPerformanceSync: complete }, { financialPerformanceSync: sparse }]);
    expect(a?.quality).toMatchObject({ completeness: 1, timeliness: 1 });
    // 0.6 for the two required paths + 0.4 x 4 of 20 optional leaves.
    expect(b?.quality?.completeness).toBeCloseTo(0.68, 4);
    expect(b?.quality?.timeliness).toBeGreaterThan(0.45);
    expect(b?.quality?.timeliness).toBeLessThan(0.55);
    expect(b?.quality?.score ?? 1).toBeLessThan(a?.quality?.score ?? 0);
  });

  it('lowers consistency when payment status `current` disagrees with overdue invoices', async () => {
    const customerId = await customerWithInvoices(
      'EXISTS (SELECT 1 FROM "Invoice" i WHERE i."customerId" = h."customerId" AND i.status = \'OVERDUE\')',
    );
    const health = (paymentStatus: string, collectionHealth: string) => ({
      financialPerformanceSync: {
        customerId,
        financialHealth: { ...BRIEF.financialHealth, paymentStatus, collectionHealth },
        syncTimestamp: minutesAgo(1),
      },
      source: 'finance',
    });
    const [current, overdue] = await syncEvents([health('current', 'excellent'), health('overdue', 'fair')]);
    expect(current?.quality?.consistency).toBe(0);
    expect(overdue?.quality?.consistency).toBe(1);
  });

  it('keeps finance’s payment status against a later CRM copy, while other fields go by source time', async () => {
    const customerId = 'cust_00022';
    const event = (source: string, minutes: number, paymentStatus: string, invoiceAccuracy: number) => ({
      source,
      financialPerformanceSync: {
        customerId,
        financialHealth: { paymentStatus, invoiceAccuracy, disputeRate: 0.01, collectionHealth: 'fair' },
        syncTimestamp: minutesAgo(minutes),
      },
    });
    const [fromFinance] = await syncEvents([event('finance', 30, 'overdue', 0.9)]);
    expect(fromFinance?.outcome).toBe('APPLIED');
    const [fromCrm] = await syncEvents([event('salesforce', 10, 'current', 0.8)]);
    expect(fromCrm?.outcome).toBe('MERGED');
    expect(fromCrm?.conflicts).toContainEqual(
      expect.objectContaining({
        model: 'FinancialHealth',
        field: 'paymentStatus',
        rule: 'SYSTEM_OF_RECORD',
        winner: 'STORED',
      }),
    );
    expect((await financeOf(customerId))?.financialHealth).toMatchObject({
      paymentStatus: 'OVERDUE',
      invoiceAccuracy: 0.8,
    });
    // Finance itself may change it later; an older finance snapshot does not.
    const [older] = await syncEvents([event('finance', 40, 'delinquent', 0.7)]);
    expect(older?.outcome).toBe('STALE');
    const [newer] = await syncEvents([event('finance', 5, 'late', 0.85)]);
    expect(newer?.outcome).toBe('APPLIED');
    expect((await financeOf(customerId))?.financialHealth).toMatchObject({
      paymentStatus: 'LATE',
      invoiceAccuracy: 0.85,
    });
  });

  it('lets only a credential issued for the system of record write as it: anyone else naming `finance` is refused', async () => {
    const claim = (customerId: string) => ({
      source: 'finance',
      financialPerformanceSync: {
        customerId,
        financialHealth: { paymentStatus: 'current', invoiceAccuracy: 0.99, disputeRate: 0, collectionHealth: 'good' },
        syncTimestamp: minutesAgo(1),
      },
    });
    const crm = viewerFor('acme', { userId: 'crm', roles: ['integration'], domains: ['finance'] });
    const financeUser = viewerFor('acme', { roles: ['finance'] });
    for (const viewer of [acme, crm, financeUser]) {
      const res = await gql<SyncAnswer<'finance'>>(
        hub.url,
        syncMutation('finance'),
        { events: [claim('cust_00004')] },
        viewer,
      );
      if (viewer === financeUser) {
        // Not a sync writer at all: the field itself is refused.
        expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN' });
        continue;
      }
      expect(res.data?.syncFinance.results[0]).toMatchObject({
        outcome: 'REJECTED',
        code: 'FORBIDDEN',
        field: 'source',
      });
    }
    const [own] = await syncEvents([claim('cust_00004')]);
    expect(own).toMatchObject({ outcome: 'APPLIED' });
  });

  it('writes only the caller’s tenant: the same customer id synced by globex is refused', async () => {
    const before = await financeOf('cust_00004');
    const results = await syncEvents(
      [{ financialPerformanceSync: { ...withPath(BRIEF, 'customerId', 'cust_00004'), syncTimestamp: minutesAgo(0) } }],
      globex,
    );
    expect(results[0]?.outcome).toBe('REJECTED');
    expect(await financeOf('cust_00004')).toEqual(before);
  });
});
