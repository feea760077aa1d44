/**
 * The health consumers against real stores: the producers' own pipelines write real events (product,
 * support, finance, marketing outbox rows), the handlers run in a real health-store transaction
 * (packages/core/src/events/harness.ts, the runtime's ctx without a bus), and the health that comes
 * out is read back from the health store and its outbox.
 */
import {
  driverOf,
  handlerStoreOf,
  outboxEnvelopes,
  runBatchHandler,
  runHandler,
  storePipeline,
  syncEnvelope,
} from '@hub/core/events/harness';
import type { EventEnvelope } from '@hub/core/events/types';
import { useTestSubgraph } from '@hub/core/testing';
import { subgraph as product } from '@hub/subgraph-product/src/server.js';
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { briefHealthJson } from '@hub/core/events/health';
import { healthConsumers, healthKeyOf } from '../src/consumers.js';
import { computeHealth } from '../src/formula.js';
import { inputsOf } from '../src/inputs.js';
import { healthPayload, loadInputs } from '../src/recompute.js';
import { subgraph } from '../src/server.js';

const health = useTestSubgraph(subgraph, { seed: false });
const productHub = useTestSubgraph(product, { seed: false });

const TENANT = 'acme';
const NOW = new Date(Date.now() - 60_000);
const CONSUMERS = healthConsumers(() => NOW);
const consumerFor = (type: string) => {
  const found = CONSUMERS.find((c) => c.types.includes(type));
  if (!found) throw new Error(`no health consumer for ${type}`);
  return found;
};
const healthStore = () => handlerStoreOf(subgraph, health.store.client);
const sql = () => driverOf(health.store.client);
const handle = (event: EventEnvelope) => runHandler(consumerFor(event.type), healthStore(), event);

let customers = 0;
const newCustomer = () => `cust_c${process.pid}${++customers}`;

function usagePayload(customerId: string, adoptionRate: number, at: Date, usageCount = 45) {
  return {
    customerId,
    usagePeriod: '2025-11-01_to_2025-11-30',
    featureUsage: {
      coreFeatures: [
        { feature: 'email_campaigns', usageCount, adoptionScore: 0.85, successCorrelation: 0.92 },
        { feature: 'analytics_dashboard', usageCount: 23, adoptionScore: 0.65, successCorrelation: 0.78 },
      ],
      advancedFeatures: [{ feature: 'api_integrations', usageCount: 2, adoptionScore: 0.1, successCorrelation: 0.95 }],
    },
    adoptionMetrics: {
      overallAdoptionRate: adoptionRate,
      featureDiscoveryRate: 0.45,
      activationTime: '14_days',
      maturityLevel: 'intermediate',
    },
    successCorrelation: { highUsageHealth: 0.88, featureCompleteness: 0.65, roiAchievement: 0.92 },
    syncTimestamp: at.toISOString(),
  };
}

/** Writes a usage event through product's own pipeline and returns the envelope of its outbox row. */
async function productUsage(customerId: string, adoptionRate: number, at: Date, usageCount?: number) {
  const store = handlerStoreOf(product, productHub.store.client);
  const seq = await maxSeq(productHub.store.client);
  const [result] = await storePipeline(store, TENANT, 'amplitude').apply([
    { kind: 'usage_analytics_sync', payload: usagePayload(customerId, adoptionRate, at, usageCount) },
  ]);
  expect(result?.outcome).toBe('APPLIED');
  const [event] = await outboxEnvelopes(productHub.store.client, 'product', seq);
  if (!event) throw new Error('product wrote no outbox event');
  return event;
}

async function maxSeq(client: unknown): Promise<number> {
  const [row] = await driverOf(client).query<{ seq: string | null }>(
    'SELECT max(seq)::text AS seq FROM hub_sync_outbox',
  );
  return Number(row?.seq ?? 0);
}

async function healthOf(customerId: string) {
  const [score] = await sql().query<Record<string, unknown>>(
    `SELECT score, "usageScore", "engagementScore", "supportSatisfaction", "paymentStatus"::text AS "paymentStatus",
            "riskIndicators", "sourceSystem", "dataQualityScore"
       FROM "HealthScore" WHERE "tenantId" = $1 AND "customerId" = $2`,
    [TENANT, customerId],
  );
  const [counts] = await sql().query<{ snapshots: number; events: number; inputs: number }>(
    `SELECT (SELECT count(*)::int FROM "HealthSnapshot" WHERE "tenantId" = $1 AND "customerId" = $2) AS snapshots,
            (SELECT count(*)::int FROM hub_sync_outbox WHERE tenant_id = $1 AND customer_id = $2) AS events,
            (SELECT count(*)::int FROM "HealthInputRow" WHERE "tenantId" = $1 AND "customerId" = $2) AS inputs`,
    [TENANT, customerId],
  );
  return { score, ...counts };
}

describe('health consumers: a usage event recomputes the customer’s health', () => {
  it('a product usage event becomes the formula’s health, written by health-engine, with a snapshot and a health event', async () => {
    const customerId = newCustomer();
    const event = await productUsage(customerId, 0.72, new Date(NOW.getTime() - 3_600_000));
    await handle(event);
    const stored = await healthOf(customerId);
    // Usage: 100 x (0.6 x 0.72 + 0.25 x 0.45 + 0.15 x 3/3) = 69.45 -> 69; the rest neutral (50, 75).
    expect(stored.score).toMatchObject({
      usageScore: 69,
      engagementScore: 50,
      supportSatisfaction: 75,
      sourceSystem: 'health-engine',
    });
    // round(0.4 x 69 + 0.3 x 50 + 0.3 x 75) = round(65.1)
    expect(stored.score?.['score']).toBe(65);
    expect(stored).toMatchObject({ snapshots: 1, events: 1, inputs: 4 }); // 3 features + 1 adoption record
    const [out] = await outboxEnvelopes(health.store.client, 'health', 0, 'health.customer_health_sync').then((all) =>
      all.filter((e) => e.customerId === customerId),
    );
    expect(out?.source).toBe('health-engine');
    expect((out?.payload as { idempotencyKey: string }).idempotencyKey).toBe(healthKeyOf(event.id));
  });

  it('the same event twice changes nothing: no second snapshot, no second health event, same inputs', async () => {
    const customerId = newCustomer();
    const event = await productUsage(customerId, 0.5, new Date(NOW.getTime() - 3_600_000));
    await handle(event);
    const first = await healthOf(customerId);
    await handle(event);
    await handle(event);
    expect(await healthOf(customerId)).toEqual(first);
  });

  it('an older usage event arriving late does not overwrite newer input', async () => {
    const customerId = newCustomer();
    const newer = await productUsage(customerId, 0.9, new Date(NOW.getTime() - 3_600_000));
    // Product applies the older event too (a different field time per row is product's business);
    // the health consumer still must keep the newer adoption rate.
    const older = syncEnvelope({
      domain: 'product',
      kind: 'usage_analytics_sync',
      tenantId: TENANT,
      customerId,
      occurredAt: new Date(NOW.getTime() - 86_400_000),
      rows: [
        {
          model: 'AdoptionMetrics',
          id: 'x',
          key: { customerId, periodStart: '2025-11-01T00:00:00.000Z' },
          changed: { overallAdoptionRate: 0.1 },
        },
      ],
    });
    await handle(newer);
    const before = await healthOf(customerId);
    await handle(older);
    expect(await healthOf(customerId)).toEqual(before);
    const [row] = await sql().query<{ values: Record<string, unknown> }>(
      `SELECT values FROM "HealthInputRow" WHERE "tenantId" = $1 AND "customerId" = $2 AND model = 'AdoptionMetrics'`,
      [TENANT, customerId],
    );
    expect(row?.values['overallAdoptionRate']).toBe(0.9);
  });

  // Every ordering of four events on one customer (two of them duplicates of each other's rows at
  // other times), each event delivered twice: the inputs and the health end as in time order.
  const TIMES = [4, 3, 2, 1].map((hours) => new Date(NOW.getTime() - hours * 3_600_000));
  const permutations = (xs: number[]): number[][] =>
    xs.length <= 1
      ? [xs]
      : xs.flatMap((x, i) => permutations([...xs.slice(0, i), ...xs.slice(i + 1)]).map((p) => [x, ...p]));
  const ticket = (customerId: string, i: number, status: string, priority: string, rating: number | null) =>
    syncEnvelope({
      domain: 'support',
      kind: 'support_ticket_sync',
      tenantId: TENANT,
      customerId,
      occurredAt: TIMES[i] as Date,
      rows: [
        {
          model: 'Ticket',
          id: 't',
          key: { id: `zd_${customerId}` },
          changed: { status, priority, satisfactionScore: rating },
        },
      ],
    });
  const usage = (customerId: string, i: number, rate: number) =>
    syncEnvelope({
      domain: 'product',
      kind: 'record_adoption_metrics',
      tenantId: TENANT,
      customerId,
      occurredAt: TIMES[i] as Date,
      rows: [
        {
          model: 'AdoptionMetrics',
          id: 'a',
          key: { customerId, periodStart: '2025-11-01T00:00:00.000Z' },
          changed: { overallAdoptionRate: rate, featureDiscoveryRate: rate },
        },
      ],
    });
  const script = (customerId: string) => [
    ticket(customerId, 0, 'OPEN', 'URGENT', null),
    usage(customerId, 1, 0.3),
    ticket(customerId, 2, 'SOLVED', 'URGENT', 5),
    usage(customerId, 3, 0.8),
  ];

  it('every ordering of four events, each delivered twice, ends with the inputs and health of time order', async () => {
    const reference = newCustomer();
    for (const event of script(reference)) await handle(event);
    const expected = await healthOf(reference);
    // Time order: the ticket solved with a 5 (support 100), adoption 0.8: no escalation left.
    expect(expected.score).toMatchObject({ supportSatisfaction: 100, riskIndicators: [] });
    for (const order of permutations([0, 1, 2, 3])) {
      const customerId = newCustomer();
      const events = script(customerId);
      for (const i of order) {
        await handle(events[i] as EventEnvelope);
        await handle(events[i] as EventEnvelope);
      }
      const got = await healthOf(customerId);
      expect({ order, score: got.score, inputs: got.inputs }).toEqual({
        order,
        score: expected.score,
        inputs: expected.inputs,
      });
    }
  });

  /** The input rows a customer's health is computed from (what the consumers keep). */
  const inputRows = (customerId: string) =>
    sql().query(
      `SELECT model, "rowKey", values, "sourceAt" FROM "HealthInputRow" WHERE "tenantId" = $1 AND "customerId" = $2
        ORDER BY model, "rowKey"`,
      [TENANT, customerId],
    );

  // Batches (handleBatch): the usage events of three customers, interleaved in every order of a
  // customer's two (older/newer), each delivered twice, in one batch or cut in two: the inputs
  // and the health are those of event by event, written once per customer per batch.
  it.each([
    { cut: null, order: 'time order' },
    { cut: null, order: 'reversed' },
    { cut: 3, order: 'time order' },
    { cut: 5, order: 'reversed' },
  ])('a batch (cut at $cut), $order, folds to the health of event by event', async ({ cut, order }) => {
    const consumer = consumerFor('product.record_adoption_metrics');
    const pairs = [0, 1, 2].map(() => {
      const customerId = newCustomer();
      return { customerId, events: [usage(customerId, 1, 0.3 + Math.random() / 10), usage(customerId, 3, 0.8)] };
    });
    const reference = pairs.map(() => newCustomer());
    for (const [i, pair] of pairs.entries())
      for (const event of pair.events)
        await handle({
          ...event,
          id: randomUUID(),
          customerId: reference[i] ?? '',
          payload: {
            ...event.payload,
            rows: (event.payload['rows'] as { key: Record<string, unknown> }[]).map((row) => ({
              ...row,
              key: { ...row.key, customerId: reference[i] },
            })),
          },
        });
    const interleaved = [0, 1].flatMap((k) =>
      pairs.map((pair) => pair.events[order === 'time order' ? k : 1 - k] as EventEnvelope),
    );
    const delivered = interleaved.flatMap((event) => [event, event]);
    const batches = cut === null ? [delivered] : [delivered.slice(0, cut), delivered.slice(cut)];
    for (const batch of batches) await runBatchHandler(consumer, healthStore(), batch);
    for (const [i, pair] of pairs.entries()) {
      const got = await healthOf(pair.customerId);
      const want = await healthOf(reference[i] ?? '');
      expect(got.score).toEqual(want.score);
      const strip = (rows: Record<string, unknown>[]) =>
        rows.map((row) => ({ ...row, rowKey: String(row['rowKey']).replaceAll(/cust_c\d+/g, 'c') }));
      expect(strip(await inputRows(pair.customerId))).toEqual(strip(await inputRows(reference[i] ?? '')));
      // Folded: one recompute per customer per batch it was in.
      const batchesWith = batches.filter((b) => b.some((e) => e.customerId === pair.customerId)).length;
      expect(got.snapshots).toBeLessThanOrEqual(batchesWith);
      expect(got.events).toBeLessThanOrEqual(batchesWith);
    }
  });

  // A batch's event that changes no value of a row (the same value, newer) writes nothing, so event
  // by event the row keeps its stored field times; the fold must too, or a later event of the batch
  // with a time between the two is refused in the batch and taken event by event.
  it('a batch whose middle event repeats a value at a newer time folds like event by event', async () => {
    const consumer = consumerFor('product.record_adoption_metrics');
    const at = (hours: number) => new Date(NOW.getTime() - hours * 3_600_000);
    const adoption = (customerId: string, hoursAgo: number, rate: number) =>
      syncEnvelope({
        domain: 'product',
        kind: 'record_adoption_metrics',
        tenantId: TENANT,
        customerId,
        occurredAt: at(hoursAgo),
        rows: [
          {
            model: 'AdoptionMetrics',
            id: 'a',
            key: { customerId, periodStart: '2025-11-01T00:00:00.000Z' },
            changed: { overallAdoptionRate: rate, featureDiscoveryRate: rate },
          },
        ],
      });
    const [batched, reference] = [newCustomer(), newCustomer()];
    // 4 h ago 0.4; 1 h ago 0.4 again (no change); 2 h ago 0.7: newer than the stored 0.4's time.
    const script = (customerId: string) => [
      adoption(customerId, 4, 0.4),
      adoption(customerId, 1, 0.4),
      adoption(customerId, 2, 0.7),
    ];
    for (const event of script(reference)) await handle(event);
    await runBatchHandler(consumer, healthStore(), script(batched));
    const rates = async (customerId: string) =>
      (
        await sql().query<{ values: Record<string, unknown> }>(
          `SELECT values FROM "HealthInputRow" WHERE "tenantId" = $1 AND "customerId" = $2 AND model = 'AdoptionMetrics'`,
          [TENANT, customerId],
        )
      ).map((row) => row.values['overallAdoptionRate']);
    expect(await rates(reference)).toEqual([0.7]);
    expect(await rates(batched)).toEqual(await rates(reference));
    expect((await healthOf(batched)).score).toEqual((await healthOf(reference)).score);
  });

  // The consumer recomputes from the rows it has just read and written, not read back: they must be
  // every row of the customer as stored, a row re-filed to it from another customer included.
  it('a batch recomputes each customer from its rows as stored, a ticket re-filed to it included', async () => {
    const consumer = consumerFor('support.update_ticket');
    const [from, to] = [newCustomer(), newCustomer()];
    const ticket = (customerId: string, id: string, hoursAgo: number, changed: Record<string, unknown>) =>
      syncEnvelope({
        domain: 'support',
        kind: 'update_ticket',
        tenantId: TENANT,
        customerId,
        occurredAt: new Date(NOW.getTime() - hoursAgo * 3_600_000),
        rows: [{ model: 'Ticket', id, key: { id }, changed }],
      });
    const [t1, t2, t3] = [`${from}_t1`, `${to}_t2`, `${to}_t3`];
    await handle(ticket(from, t1, 5, { customerId: from, status: 'OPEN', priority: 'URGENT' }));
    await handle(ticket(to, t2, 5, { customerId: to, status: 'SOLVED', priority: 'NORMAL', satisfactionScore: 5 }));
    await handle(ticket(to, t3, 5, { customerId: to, status: 'OPEN', priority: 'NORMAL' }));
    await runBatchHandler(consumer, healthStore(), [
      ticket(to, t1, 2, { customerId: to, status: 'PENDING' }),
      ticket(to, t3, 1, { status: 'SOLVED', satisfactionScore: 2 }),
    ]);
    const [stored] = await sql().query<{ syncTimestamp: Date; supportSatisfaction: number; score: number }>(
      `SELECT "syncTimestamp", "supportSatisfaction", score FROM "HealthScore" WHERE "tenantId" = $1 AND "customerId" = $2`,
      [TENANT, to],
    );
    const at = new Date(stored?.syncTimestamp ?? 0);
    const input = (await loadInputs(sql(), TENANT, [to], at)).get(to);
    expect(input?.rows.map((row) => row.values['status']).sort()).toEqual(['PENDING', 'SOLVED', 'SOLVED']);
    const fresh = computeHealth(inputsOf(to, input?.rows ?? [], input?.before ?? null, at), at);
    expect(stored).toMatchObject({ supportSatisfaction: fresh.supportSatisfaction, score: fresh.score });
  });

  it('a failure after the inputs were kept rolls the inputs back with it (one transaction)', async () => {
    const customerId = newCustomer();
    const event = await productUsage(customerId, 0.6, new Date(NOW.getTime() - 3_600_000));
    const failing = {
      ...consumerFor(event.type),
      handle: async (ctx: Parameters<(typeof CONSUMERS)[number]['handle']>[0]) => {
        await consumerFor(event.type).handle({
          ...ctx,
          sync: { apply: () => Promise.reject(new Error('crash before the health write')) },
        });
      },
    };
    await expect(runHandler(failing, healthStore(), event)).rejects.toThrow('crash before the health write');
    expect(await healthOf(customerId)).toMatchObject({ score: undefined, inputs: 0, snapshots: 0, events: 0 });
    // Redelivered, it applies once.
    await handle(event);
    expect(await healthOf(customerId)).toMatchObject({ inputs: 4, snapshots: 1, events: 1 });
  });

  it('the health event rebuilds the brief’s customer_health_sync JSON 1:1 (briefHealthJson)', async () => {
    const customerId = newCustomer();
    await handle(await productUsage(customerId, 0.72, new Date(NOW.getTime() - 3_600_000)));
    const [out] = (await outboxEnvelopes(health.store.client, 'health', 0, 'health.customer_health_sync')).filter(
      (e) => e.customerId === customerId,
    );
    if (!out) throw new Error('no health event');
    const json = briefHealthJson(out);
    // The brief's shape exactly: the same keys at every level, snake_case, 30_day_change as signed text.
    const BRIEF = {
      customer_health_sync: {
        customer_id: 'cust_12345',
        health_metrics: { usage_score: 85, engagement_score: 78, support_satisfaction: 92, payment_status: 'current' },
        trend_analysis: { '30_day_change': '+5', risk_indicators: [], improvement_areas: ['feature_adoption'] },
        domain_impacts: {
          marketing: { campaign_triggers: ['expansion_ready'], segment: 'high_value_growth' },
          sales: { expansion_opportunities: ['premium_upgrade'], renewal_confidence: 0.95 },
          product: { feature_adoption_focus: ['advanced_analytics'], beta_interests: ['ai_insights'] },
        },
        sync_timestamp: '2025-12-05T08:21:00Z',
        data_quality_score: 0.98,
      },
    };
    const shape = (value: unknown): unknown =>
      Array.isArray(value)
        ? 'list'
        : value !== null && typeof value === 'object'
          ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, shape(v)]))
          : typeof value;
    expect(shape(json)).toEqual(shape(BRIEF));
    expect(json.customer_health_sync).toMatchObject({
      customer_id: customerId,
      health_metrics: { usage_score: 69, engagement_score: 50, support_satisfaction: 75, payment_status: 'current' },
      trend_analysis: { '30_day_change': '0' },
      sync_timestamp: NOW.toISOString().replace(/\.000Z$/, 'Z'),
    });
  });

  it('briefHealthJson maps the payload the recompute writes for the brief’s figures back to the brief’s JSON', () => {
    // The brief's example as the engine would carry it (data = the camelCase payload, JSON on the wire).
    const at = new Date('2025-12-05T08:21:00Z');
    const computed = {
      ...computeHealth(
        {
          customerId: 'cust_12345',
          usage: null,
          support: null,
          finance: null,
          marketing: null,
          scoreMonthBefore: null,
        },
        at,
      ),
      usageScore: 85,
      engagementScore: 78,
      supportSatisfaction: 92,
      paymentStatus: 'CURRENT' as const,
      thirtyDayChange: 5,
      riskIndicators: [],
      improvementAreas: ['feature_adoption'],
      marketing: { campaignTriggers: ['expansion_ready'], segment: 'high_value_growth' },
      sales: { expansionOpportunities: ['premium_upgrade'], renewalConfidence: 0.95 },
      product: { featureAdoptionFocus: ['advanced_analytics'], betaInterests: ['ai_insights'] },
      dataQualityScore: 0.98,
    };
    const data = JSON.parse(JSON.stringify(healthPayload('cust_12345', computed, at))) as Record<string, unknown>;
    const envelope = {
      ...syncEnvelope({
        domain: 'health',
        kind: 'customer_health_sync',
        tenantId: TENANT,
        customerId: 'cust_12345',
        occurredAt: at,
        rows: [],
        data,
      }),
    };
    expect(briefHealthJson(envelope)).toEqual({
      customer_health_sync: {
        customer_id: 'cust_12345',
        health_metrics: { usage_score: 85, engagement_score: 78, support_satisfaction: 92, payment_status: 'current' },
        trend_analysis: { '30_day_change': '+5', risk_indicators: [], improvement_areas: ['feature_adoption'] },
        domain_impacts: {
          marketing: { campaign_triggers: ['expansion_ready'], segment: 'high_value_growth' },
          sales: { expansion_opportunities: ['premium_upgrade'], renewal_confidence: 0.95 },
          product: { feature_adoption_focus: ['advanced_analytics'], beta_interests: ['ai_insights'] },
        },
        sync_timestamp: '2025-12-05T08:21:00Z',
        data_quality_score: 0.98,
      },
    });
  });
});
