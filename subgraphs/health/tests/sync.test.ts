import { acme, gql, useTestSubgraph } from '@hub/core/testing';
import { rejection, sqlOf, syncBatch, withPath } from '@hub/core/sync/testing';
import type { PrismaClient } from '@hub/store/health';
import { describe, expect, it } from 'vitest';
import { subgraph } from '../src/server.js';
import { customerHealthSync, healthScoreOf, recordHealthScore, snapshotId, sync } from '../src/sync.js';
import type { CustomerHealthSyncInput } from '../src/generated/resolvers-types.js';

/** The brief's "Real-Time Health Updates" example, exactly, with its keys camelCased (30_day_change -> _30DayChange). */
const BRIEF = {
  customerId: 'cust_12345',
  healthMetrics: { usageScore: 85, engagementScore: 78, supportSatisfaction: 92, paymentStatus: 'current' },
  trendAnalysis: { _30DayChange: '+5', riskIndicators: [], improvementAreas: ['feature_adoption'] },
  domainImpacts: {
    marketing: { campaignTriggers: ['expansion_ready'], segment: 'high_value_growth' },
    sales: { expansionOpportunities: ['premium_upgrade'], renewalConfidence: 0.95 },
    product: { featureAdoptionFocus: ['advanced_analytics'], betaInterests: ['ai_insights'] },
  },
  syncTimestamp: '2025-12-05T08:21:00Z',
  dataQualityScore: 0.98,
} as unknown as CustomerHealthSyncInput;

/** A copy of the brief's payload with the value at a dotted path replaced (undefined deletes it). */
const briefWith = (path: string, value: unknown) => withPath(BRIEF, path, value);

const hub = useTestSubgraph(subgraph);

describe('health sync declaration: customer_health_sync', () => {
  it('maps the brief’s example to the current score and one snapshot, the score computed by the hub', () => {
    const at = new Date('2025-12-05T08:21:00Z');
    expect(customerHealthSync.sourceTime(BRIEF)).toEqual(at);
    expect(customerHealthSync.map(BRIEF)).toEqual([
      {
        model: 'HealthScore',
        key: { customerId: 'cust_12345' },
        fields: {
          score: 85, // round(0.4 x 85 + 0.3 x 78 + 0.3 x 92)
          usageScore: 85,
          engagementScore: 78,
          supportSatisfaction: 92,
          paymentStatus: 'CURRENT',
          trend30DayChange: 5,
          riskIndicators: [],
          improvementAreas: ['feature_adoption'],
          marketingCampaignTriggers: ['expansion_ready'],
          marketingSegment: 'high_value_growth',
          salesExpansionOpportunities: ['premium_upgrade'],
          salesRenewalConfidence: 0.95,
          productFeatureAdoptionFocus: ['advanced_analytics'],
          productBetaInterests: ['ai_insights'],
          syncTimestamp: at,
          dataQualityScore: 0.98,
        },
      },
      {
        model: 'HealthSnapshot',
        key: { id: 'hsn_20251205082100000_cust_12345' },
        fields: {
          customerId: 'cust_12345',
          score: 85,
          usageScore: 85,
          engagementScore: 78,
          supportSatisfaction: 92,
          paymentStatus: 'CURRENT',
          recordedAt: at,
        },
      },
    ]);
  });

  it.each([
    ['+5', 5],
    ['-12', -12],
    ['0', 0],
    ['100', 100],
  ])('reads the brief’s signed 30-day change %s as %d points', (text, points) => {
    const [current] = customerHealthSync.map(briefWith('trendAnalysis._30DayChange', text));
    expect(current?.fields['trend30DayChange']).toBe(points);
  });

  it.each(['current', 'LATE', 'Overdue', 'delinquent'])('accepts payment status %s in any case', (status) => {
    const [current] = customerHealthSync.map(briefWith('healthMetrics.paymentStatus', status));
    expect(current?.fields['paymentStatus']).toBe(status.toUpperCase());
  });

  it.each([
    ['customerId', 'acme-42'],
    ['healthMetrics', undefined],
    ['healthMetrics.usageScore', 101],
    ['healthMetrics.usageScore', undefined],
    ['healthMetrics.engagementScore', -1],
    ['healthMetrics.supportSatisfaction', 92.5],
    ['healthMetrics.paymentStatus', 'paid'],
    ['healthMetrics.paymentStatus', undefined],
    ['trendAnalysis._30DayChange', 'five'],
    ['trendAnalysis._30DayChange', '+150'],
    ['trendAnalysis.riskIndicators', ['declining_usage', ' ']],
    ['domainImpacts.sales.renewalConfidence', 1.2],
    ['domainImpacts.marketing.segment', 'x'.repeat(101)],
    ['dataQualityScore', 1.5],
    ['syncTimestamp', 'yesterday'],
    ['syncTimestamp', '2999-01-01T00:00:00Z'],
  ])('rejects %s = %j as BAD_USER_INPUT naming the payload path', (path, value) => {
    const { code, field } = rejection(() => customerHealthSync.map(briefWith(path, value)));
    expect(code).toBe('BAD_USER_INPUT');
    // A bad list entry is named by its index; everything else by the path that was changed.
    expect(field).toBe(path === 'trendAnalysis.riskIndicators' ? 'trendAnalysis.riskIndicators.1' : path);
  });

  it('keeps the sender’s dataQualityScore as its claim, 1 when it claims none', () => {
    expect(customerHealthSync.map(briefWith('dataQualityScore', 0.4))[0]?.fields['dataQualityScore']).toBe(0.4);
    expect(customerHealthSync.map(briefWith('dataQualityScore', undefined))[0]?.fields['dataQualityScore']).toBe(1);
  });

  it('a sparse payload maps with the stored defaults for what it leaves out', () => {
    const sparse = {
      customerId: 'cust_12345',
      healthMetrics: BRIEF.healthMetrics,
      syncTimestamp: BRIEF.syncTimestamp,
    } as CustomerHealthSyncInput;
    expect(customerHealthSync.map(sparse)[0]?.fields).toMatchObject({
      trend30DayChange: 0,
      riskIndicators: [],
      marketingSegment: null,
      salesRenewalConfidence: null,
      dataQualityScore: 1,
    });
  });

  it('finance is the system of record of payment status, health-engine of every computed field', () => {
    const owners = sync.models['HealthScore']?.owners ?? {};
    expect(owners['paymentStatus']).toEqual(['finance']);
    expect(sync.models['HealthSnapshot']?.owners).toEqual({ paymentStatus: ['finance'] });
    // Health is computed: every other stored field of the current score is the engine's.
    const computed = [
      'score',
      'usageScore',
      'engagementScore',
      'supportSatisfaction',
      'trend30DayChange',
      'riskIndicators',
    ];
    for (const field of computed) expect(owners[field]).toEqual(['health-engine']);
    expect(Object.keys(owners)).toHaveLength(16);
  });

  it('offers customer_health_sync to the sync API and keeps record_health_score to its mutation', () => {
    expect(sync.kinds.map((kind) => [kind.name, kind.mutationOnly ?? false])).toEqual([
      ['customer_health_sync', false],
      ['record_health_score', true],
      ['override_health', true],
      ['clear_health_override', true],
    ]);
  });

  it.each([
    ['a plausible payload', BRIEF, []],
    ['a 60-point monthly swing', briefWith('trendAnalysis._30DayChange', '-60'), ['trendAnalysis._30DayChange']],
    [
      'a near-certain renewal for a failing customer',
      briefWith('healthMetrics', {
        usageScore: 10,
        engagementScore: 20,
        supportSatisfaction: 30,
        paymentStatus: 'late',
      }),
      ['domainImpacts.sales.renewalConfidence'],
    ],
  ])('validity: %s fails %j', (_label, payload, failing) => {
    const checks = customerHealthSync.quality.validity?.(payload) ?? [];
    expect(checks.length).toBeGreaterThan(0);
    expect(checks.filter((c) => !c.ok).map((c) => c.field)).toEqual(failing);
  });
});

describe('health sync declaration: consistency with the stored history (one statement per batch)', () => {
  async function monthAgoScore(customerId: string, at: Date): Promise<number> {
    const rows = await (hub.store.client as PrismaClient).healthSnapshot.findMany({
      where: {
        tenantId: 'acme',
        customerId,
        recordedAt: { lte: new Date(at.getTime() - 30 * 86_400_000), gt: new Date(at.getTime() - 45 * 86_400_000) },
      },
      orderBy: { recordedAt: 'desc' },
      take: 1,
    });
    const score = rows[0]?.score;
    if (score === undefined) throw new Error(`demo data has no month-old snapshot of ${customerId}`);
    return score;
  }

  it('a reported 30-day change agrees with the history within 5 points, else consistency fails', async () => {
    const at = new Date(BRIEF.syncTimestamp as unknown as string);
    const customers = ['cust_00001', 'cust_00002', 'cust_00003'];
    const before = await Promise.all(customers.map((id) => monthAgoScore(id, at)));
    const now = healthScoreOf(85, 78, 92);
    // Per customer: the true change, the change off by 5 (still consistent), off by 6 (inconsistent).
    const payloads = customers.flatMap((customerId, i) => {
      const truth = now - (before[i] ?? 0);
      const signed = (n: number) => (n >= 0 ? `+${n}` : String(n));
      return [0, 5, 6].map((off) => ({
        ...briefWith('trendAnalysis._30DayChange', signed(truth + off)),
        customerId,
      }));
    });
    const statements: string[] = [];
    const counting = sqlOf(hub.store.client, statements);
    const facts = await customerHealthSync.quality.loadFacts?.(counting, 'acme', payloads);
    expect(statements).toHaveLength(1);
    const verdicts = payloads.map((p) => customerHealthSync.quality.consistency?.(p, facts).map((c) => c.ok));
    expect(verdicts).toEqual(customers.flatMap(() => [[true], [true], [false]]));
  });

  it('has nothing to contradict without a month-old snapshot, nor in another tenant', async () => {
    const payloads = [BRIEF, { ...BRIEF, customerId: 'cust_00001' }];
    const facts = await customerHealthSync.quality.loadFacts?.(
      sqlOf(hub.store.client),
      'tenant_without_data',
      payloads,
    );
    expect(payloads.map((p) => customerHealthSync.quality.consistency?.(p, facts))).toEqual([[], []]);
  });
});

describe('health sync declaration: record_health_score (the mutation’s kind)', () => {
  const input = {
    customerId: 'cust_00010',
    score: 88,
    usageScore: 85,
    engagementScore: 78,
    supportSatisfaction: 92,
    paymentStatus: 'CURRENT' as const,
    sourceUpdatedAt: new Date('2025-12-05T09:00:00Z'),
  };

  it('takes the caller’s score; the snapshot is at the sync time, else at the source time', () => {
    const [current, snapshot] = recordHealthScore.map(input);
    expect(current?.fields['score']).toBe(88);
    expect(snapshot?.key).toEqual({ id: snapshotId(input.sourceUpdatedAt, 'cust_00010') });
    expect(recordHealthScore.sourceTime(input)).toEqual(input.sourceUpdatedAt);
    const synced = { ...input, syncTimestamp: new Date('2025-12-05T08:00:00Z') };
    expect(recordHealthScore.map(synced)[1]?.key).toEqual({ id: snapshotId(synced.syncTimestamp, 'cust_00010') });
    // A payload replayed from a dead letter carries its times as ISO text.
    const replayed = { ...input, sourceUpdatedAt: '2025-12-05T07:00:00.000Z' };
    expect(recordHealthScore.sourceTime(replayed)).toEqual(new Date(replayed.sourceUpdatedAt));
  });

  it.each([
    ['score', { score: 101 }],
    ['thirtyDayChange', { thirtyDayChange: 150 }],
    ['dataQualityScore', { dataQualityScore: -0.1 }],
    ['customerId', { customerId: 'acme-42' }],
    ['syncTimestamp', { syncTimestamp: '2999-01-01T00:00:00Z' }],
    ['sourceSystem', { sourceSystem: 'x'.repeat(101) }],
  ])('names input.%s when it rejects', (field, patch) => {
    expect(rejection(() => recordHealthScore.map({ ...input, ...patch }))).toEqual({
      code: 'BAD_USER_INPUT',
      field: `input.${field}`,
    });
  });
});

const HEALTH = /* GraphQL */ `
  query ($r: [_Any!]!) {
    _entities(representations: $r) {
      ... on Customer {
        health {
          score
          dataQualityScore
          sourceSystem
          metrics {
            paymentStatus
          }
        }
        healthHistory(first: 100) {
          totalCount
        }
      }
    }
  }
`;

const syncHealth = async (events: Record<string, unknown>[]) => (await syncBatch(hub.url, 'health', events)).results;

async function healthOf(customerId: string) {
  const res = await gql<{
    _entities: {
      health: { score: number; dataQualityScore: number; sourceSystem: string; metrics: { paymentStatus: string } };
      healthHistory: { totalCount: number };
    }[];
  }>(hub.url, HEALTH, { r: [{ __typename: 'Customer', id: customerId }] }, acme);
  return res.data?._entities[0];
}

/** A brief payload for `customerId` at `at`, its 30-day change consistent with nothing in particular. */
function briefFor(customerId: string, at: string, patch: Record<string, unknown> = {}) {
  return { ...(BRIEF as unknown as Record<string, unknown>), customerId, syncTimestamp: at, ...patch };
}

describe('health sync through the pipeline (syncHealth)', () => {
  it('applies the brief’s example, answers a re-send as DUPLICATE, and stores the hub’s score beside the sender’s claim', async () => {
    const customerId = await hub.createCustomer(acme, 'Brief Health Ltd');
    const payload = { ...(BRIEF as unknown as Record<string, unknown>), customerId };
    const [first] = await syncHealth([{ source: 'health-engine', customerHealthSync: payload }]);
    expect(first).toMatchObject({ outcome: 'APPLIED', conflicts: [] });
    const [again] = await syncHealth([{ source: 'health-engine', customerHealthSync: payload }]);
    expect(again).toMatchObject({ outcome: 'DUPLICATE', firstOutcome: 'APPLIED' });
    expect(await healthOf(customerId)).toEqual({
      health: {
        score: 85,
        dataQualityScore: 0.98,
        sourceSystem: 'health-engine',
        metrics: { paymentStatus: 'CURRENT' },
      },
      healthHistory: { totalCount: 1 },
    });
  });

  it('scores a complete payload above a sparse one, and a history-contradicting trend lower in consistency', async () => {
    const at = '2025-12-05T08:21:00.000Z';
    const before = await (hub.store.client as PrismaClient).healthSnapshot.findFirstOrThrow({
      where: { tenantId: 'acme', customerId: 'cust_00004', recordedAt: { lte: new Date('2025-11-05T08:21:00Z') } },
      orderBy: { recordedAt: 'desc' },
    });
    const truth = healthScoreOf(85, 78, 92) - before.score;
    const signed = (n: number) => (n >= 0 ? `+${n}` : String(n));
    const sparse = { customerId: 'cust_00005', healthMetrics: BRIEF.healthMetrics, syncTimestamp: at };
    const [complete, thin, consistent, contradicting] = await syncHealth([
      { customerHealthSync: briefFor('cust_00006', at) },
      { customerHealthSync: sparse },
      {
        customerHealthSync: briefFor('cust_00004', at, {
          trendAnalysis: { ...BRIEF.trendAnalysis, _30DayChange: signed(truth) },
        }),
      },
      {
        customerHealthSync: briefFor('cust_00007', at, {
          trendAnalysis: { ...BRIEF.trendAnalysis, _30DayChange: '+40' },
        }),
      },
    ]);
    expect(complete?.quality?.completeness).toBe(1);
    expect(thin?.quality?.completeness).toBe(0.6); // every required path, none of the optional ones
    expect(thin?.quality?.score).toBeLessThan(complete?.quality?.score ?? 0);
    expect(consistent?.quality?.consistency).toBe(1);
    // cust_00007's history does not move by 40 points in a month in the demo data.
    expect(contradicting?.quality?.consistency).toBe(0);
  });

  it('finance owns payment status: finance’s value wins whatever its time, another source’s never replaces it', async () => {
    const customerId = await hub.createCustomer(acme, 'Payment Owner Ltd');
    const status = (paymentStatus: string, usageScore = 85) => ({ ...BRIEF.healthMetrics, paymentStatus, usageScore });
    const [byEngine] = await syncHealth([
      {
        source: 'health-engine',
        customerHealthSync: briefFor(customerId, '2025-12-05T09:00:00Z', { healthMetrics: status('overdue') }),
      },
    ]);
    expect(byEngine?.outcome).toBe('APPLIED');
    // Finance, an hour older: it wins its field; the engine's values of the other fields stay (it owns them).
    const [byFinance] = await syncHealth([
      {
        source: 'finance',
        customerHealthSync: briefFor(customerId, '2025-12-05T08:00:00Z', { healthMetrics: status('late', 40) }),
      },
    ]);
    expect(byFinance?.outcome).toBe('MERGED');
    expect(byFinance?.conflicts).toContainEqual(
      expect.objectContaining({
        field: 'paymentStatus',
        rule: 'SYSTEM_OF_RECORD',
        winner: 'INCOMING',
      }),
    );
    expect(byFinance?.conflicts).toContainEqual(
      expect.objectContaining({ field: 'usageScore', rule: 'SYSTEM_OF_RECORD', winner: 'STORED' }),
    );
    expect((await healthOf(customerId))?.health.metrics.paymentStatus).toBe('LATE');
    // The engine again, later: its payment status loses to finance's, its other fields win.
    const [engineAgain] = await syncHealth([
      {
        source: 'health-engine',
        customerHealthSync: briefFor(customerId, '2025-12-05T10:00:00Z', { healthMetrics: status('current', 20) }),
      },
    ]);
    expect(engineAgain?.outcome).toBe('MERGED');
    expect(engineAgain?.conflicts).toContainEqual(
      expect.objectContaining({
        field: 'paymentStatus',
        rule: 'SYSTEM_OF_RECORD',
        winner: 'STORED',
      }),
    );
    const health = await healthOf(customerId);
    expect(health?.health.metrics.paymentStatus).toBe('LATE');
    expect(health?.health.score).toBe(healthScoreOf(20, 78, 92));
  });

  it('rejects per event with the field path, an unknown customer as NOT_FOUND, and goes on with the batch', async () => {
    const customerId = await hub.createCustomer(acme, 'Batch Health Ltd');
    const results = await syncHealth([
      { customerHealthSync: briefFor(customerId, BRIEF.syncTimestamp as unknown as string) },
      {
        customerHealthSync: briefFor(customerId, '2025-12-05T08:22:00Z', {
          healthMetrics: { ...BRIEF.healthMetrics, usageScore: 101 },
        }),
      },
      { customerHealthSync: briefFor('cust_nobody', BRIEF.syncTimestamp as unknown as string) },
    ]);
    expect(results.map((r) => [r.outcome, r.code, r.field])).toEqual([
      ['APPLIED', null, null],
      ['REJECTED', 'BAD_USER_INPUT', 'healthMetrics.usageScore'],
      ['REJECTED', 'NOT_FOUND', 'customerId'],
    ]);
  });

  it('recordHealthScore replays a repeated idempotencyKey: the same score answers, one snapshot is recorded', async () => {
    const customerId = await hub.createCustomer(acme, 'Replay Health Ltd');
    const record = `mutation ($input: RecordHealthScoreInput!) { recordHealthScore(input: $input) { customerId score } }`;
    const input = {
      customerId,
      score: 61,
      usageScore: 60,
      engagementScore: 60,
      supportSatisfaction: 60,
      paymentStatus: 'CURRENT',
      idempotencyKey: `replay-${customerId}`,
    };
    const first = await gql(hub.url, record, { input }, acme);
    const second = await gql(hub.url, record, { input: { ...input, score: 99 } }, acme);
    expect(first.data).toEqual({ recordHealthScore: { customerId, score: 61 } });
    expect(second.data).toEqual(first.data);
    expect((await healthOf(customerId))?.healthHistory.totalCount).toBe(1);
  });
});
