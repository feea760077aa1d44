/**
 * The brief's loop end to end through the gateway (issue 8): a product usage event synced by an
 * integration account moves a customer's computed health (health consumes product's stream), and the
 * health event it emits moves marketing's campaign triggers and sales' signals (both consume health's
 * stream) — seven subgraph processes and the gateway over PostgreSQL, the embedded bus between them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { usageScoreOf } from '@hub/subgraph-health/src/formula.js';
import { startHub, type Hub } from './support/hub.js';

let hub: Hub;
let admin: string;
let amplitude: string;

beforeAll(async () => {
  hub = await startHub();
  admin = await hub.token({ tenant: 'acme', roles: ['admin'] });
  amplitude = await hub.token({ tenant: 'acme', roles: ['integration'], sub: 'amplitude', domains: ['product'] });
}, 600_000);
afterAll(async () => {
  await hub?.stop();
});

const SYNC = `mutation ($events: [ProductSyncEventInput!]!) { syncProduct(events: $events) { results { outcome code reason } } }`;
const READ = `query ($id: ID!) {
  customer(id: $id) {
    health {
      score computedScore sourceSystem syncTimestamp
      metrics { usageScore paymentStatus }
      trend { riskIndicators improvementAreas }
      domainImpacts { marketing { campaignTriggers segment } sales { renewalConfidence expansionOpportunities } }
    }
    healthTriggers { healthScore segment campaignTriggers riskIndicators sourceUpdatedAt }
    healthSignal { healthScore renewalConfidence expansionOpportunities sourceUpdatedAt }
  }
}`;

interface Read {
  customer: {
    health: {
      score: number;
      computedScore: number;
      sourceSystem: string;
      syncTimestamp: string;
      metrics: { usageScore: number };
      trend: { riskIndicators: string[] };
      domainImpacts: {
        marketing: { campaignTriggers: string[]; segment: string };
        sales: { renewalConfidence: number; expansionOpportunities: string[] };
      };
    };
    healthTriggers: {
      healthScore: number;
      segment: string;
      campaignTriggers: string[];
      sourceUpdatedAt: string;
    } | null;
    healthSignal: {
      healthScore: number;
      renewalConfidence: number;
      expansionOpportunities: string[];
      sourceUpdatedAt: string;
    } | null;
  };
}

function usage(customerId: string, rate: number, usageCount: number) {
  return {
    source: 'amplitude',
    usageAnalyticsSync: {
      customerId,
      usagePeriod: '2026-11-01_to_2026-11-30',
      featureUsage: {
        coreFeatures: [
          { feature: 'e2e_core', usageCount, adoptionScore: rate, successCorrelation: 0.5 },
          { feature: 'e2e_core_2', usageCount, adoptionScore: rate, successCorrelation: 0.5 },
        ],
        advancedFeatures: [],
      },
      adoptionMetrics: {
        overallAdoptionRate: rate,
        featureDiscoveryRate: rate,
        activationTime: '14_days',
        maturityLevel: rate < 0.3 ? 'beginner' : rate < 0.6 ? 'intermediate' : 'advanced',
      },
      successCorrelation: { highUsageHealth: 0.5, featureCompleteness: 0.5, roiAchievement: 0.5 },
      syncTimestamp: new Date(Date.now() - 1000).toISOString(),
    },
  };
}

/** Polls the gateway until the customer's health, triggers and signal all derive from a health computed after `since`. */
async function settled(customerId: string, since: Date, timeoutMs = 120_000): Promise<Read['customer']> {
  const deadline = Date.now() + timeoutMs;
  let last: Read['customer'] | undefined;
  while (Date.now() < deadline) {
    const res = await hub.query<Read>(READ, { id: customerId }, admin);
    expect(res.errors).toBeUndefined();
    last = res.data?.customer;
    const at = last?.health.syncTimestamp ? Date.parse(last.health.syncTimestamp) : 0;
    if (
      last &&
      at > since.getTime() &&
      last.healthTriggers &&
      Date.parse(last.healthTriggers.sourceUpdatedAt) === at &&
      last.healthSignal &&
      Date.parse(last.healthSignal.sourceUpdatedAt) === at
    )
      return last;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`health of ${customerId} did not settle: ${JSON.stringify(last)}`);
}

describe('usage -> health -> marketing and sales, through the gateway', () => {
  it('a usage event moves the computed health, and the health event moves the campaign triggers and sales signals', async () => {
    const customerId = 'cust_00003';
    const low = new Date();
    const first = await hub.query<{ syncProduct: { results: { outcome: string }[] } }>(
      SYNC,
      { events: [usage(customerId, 0.05, 0)] },
      amplitude,
    );
    expect(first.errors).toBeUndefined();
    expect(first.data?.syncProduct.results[0]?.outcome).toBe('APPLIED');
    const down = await settled(customerId, low);
    // The usage score is the formula's for the event's figures (the latest period is the event's).
    const lowScore = usageScoreOf({
      adoptionRate: 0.05,
      discoveryRate: 0.05,
      features: [feature(0, 0.05), feature(0, 0.05)],
      at: low,
    });
    expect(down.health).toMatchObject({ sourceSystem: 'health-engine', metrics: { usageScore: lowScore } });
    expect(down.health.trend.riskIndicators).toContain('low_usage');
    // Marketing and sales took the health event's figures.
    expect(down.healthTriggers).toMatchObject({
      healthScore: down.health.computedScore,
      campaignTriggers: down.health.domainImpacts.marketing.campaignTriggers,
      segment: down.health.domainImpacts.marketing.segment,
    });
    expect(down.healthSignal).toMatchObject({
      healthScore: down.health.computedScore,
      renewalConfidence: down.health.domainImpacts.sales.renewalConfidence,
    });

    const high = new Date();
    const second = await hub.query<{ syncProduct: { results: { outcome: string }[] } }>(
      SYNC,
      { events: [usage(customerId, 0.98, 500)] },
      amplitude,
    );
    expect(second.data?.syncProduct.results[0]?.outcome).toBe('APPLIED');
    const up = await settled(customerId, high);
    const highScore = usageScoreOf({
      adoptionRate: 0.98,
      discoveryRate: 0.98,
      features: [feature(500, 0.98), feature(500, 0.98)],
      at: high,
    });
    expect(up.health.metrics.usageScore).toBe(highScore);
    expect(up.health.computedScore).toBeGreaterThan(down.health.computedScore);
    expect(up.health.trend.riskIndicators).not.toContain('low_usage');
    expect(up.healthSignal?.renewalConfidence).toBeGreaterThan(down.healthSignal?.renewalConfidence ?? 1);
    expect(up.healthTriggers?.healthScore).toBe(up.health.computedScore);
  }, 400_000);
});

function feature(usageCount: number, adoptionScore: number) {
  return { feature: 'f', category: 'CORE' as const, usageCount, adoptionScore };
}
