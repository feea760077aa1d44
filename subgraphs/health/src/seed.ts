/**
 * Demo data of the health store: for every roster customer, six monthly snapshots (a random walk
 * from a per-customer baseline) and a current score equal to the latest one, with the trend, risk
 * indicators and domain impacts that score implies. Deterministic and idempotent per tenant.
 */
import {
  DEMO_NOW,
  DEMO_TENANTS,
  daysBefore,
  demoCustomers,
  demoRandom,
  type DemoCustomer,
  inChunks,
  SEED_TRANSACTION,
  type SeedContext,
} from '@hub/core/demo';
import type { Prisma, PrismaClient } from '@hub/store/health';
import { snapshotId } from './sync.js';

type PaymentStatus = 'CURRENT' | 'LATE' | 'OVERDUE' | 'DELINQUENT';

const MONTHS = 6;
const CHUNK = 1000;
const IMPROVEMENT_AREAS = [
  'feature_adoption',
  'executive_engagement',
  'onboarding_completion',
  'support_experience',
  'user_training',
];
const FEATURES = [
  'advanced_analytics',
  'automation_workflows',
  'api_integrations',
  'email_campaigns',
  'analytics_dashboard',
];
const BETAS = ['ai_insights', 'predictive_alerts', 'custom_dashboards', 'workflow_builder'];

type Rng = ReturnType<typeof demoRandom>;

const clamp = (value: number) => Math.max(0, Math.min(100, Math.round(value)));

function paymentFor(score: number, rng: Rng): PaymentStatus {
  const r = rng.next();
  if (score >= 70) return r < 0.93 ? 'CURRENT' : 'LATE';
  if (score >= 45) return r < 0.7 ? 'CURRENT' : r < 0.92 ? 'LATE' : 'OVERDUE';
  return r < 0.35 ? 'CURRENT' : r < 0.6 ? 'LATE' : r < 0.85 ? 'OVERDUE' : 'DELINQUENT';
}

function components(score: number, rng: Rng) {
  return {
    usageScore: clamp(score + rng.int(-15, 15)),
    engagementScore: clamp(score + rng.int(-15, 15)),
    supportSatisfaction: clamp(score + rng.int(-10, 20)),
    paymentStatus: paymentFor(score, rng),
  };
}

function impacts(score: number, rng: Rng) {
  if (score >= 75) {
    return {
      marketingCampaignTriggers: ['expansion_ready'],
      marketingSegment: 'high_value_growth',
      salesExpansionOpportunities: [rng.pick(['premium_upgrade', 'additional_seats', 'add_on_modules'])],
      salesRenewalConfidence: rng.float(0.85, 0.99),
    };
  }
  if (score >= 50) {
    return {
      marketingCampaignTriggers: ['adoption_nurture'],
      marketingSegment: 'steady_core',
      salesExpansionOpportunities: rng.some(['additional_seats'], 0.3),
      salesRenewalConfidence: rng.float(0.6, 0.85),
    };
  }
  return {
    marketingCampaignTriggers: ['retention_outreach'],
    marketingSegment: 'at_risk_customers',
    salesExpansionOpportunities: [],
    salesRenewalConfidence: rng.float(0.2, 0.6),
  };
}

function rowsFor(
  customer: DemoCustomer,
  scores: Prisma.HealthScoreCreateManyInput[],
  snapshots: Prisma.HealthSnapshotCreateManyInput[],
) {
  const rng = demoRandom(`health:${customer.id}`);
  let score = rng.int(25, 95);
  const history: { score: number; recordedAt: Date }[] = [];
  let latest = components(score, rng);
  for (let month = MONTHS - 1; month >= 0; month--) {
    score = clamp(score + rng.int(-8, 8));
    latest = components(score, rng);
    const recordedAt = daysBefore(month * 30 + 1);
    history.push({ score, recordedAt });
    snapshots.push({
      id: snapshotId(recordedAt, customer.id),
      tenantId: customer.tenantId,
      customerId: customer.id,
      score,
      ...latest,
      recordedAt,
    });
  }
  const monthAgo = history[history.length - 2]?.score ?? score;
  const trend = score - monthAgo;
  const risks = [
    ...(latest.usageScore < 50 ? ['declining_usage'] : []),
    ...(latest.engagementScore < 50 ? ['low_engagement'] : []),
    ...(latest.supportSatisfaction < 60 ? ['support_escalations'] : []),
    ...(latest.paymentStatus !== 'CURRENT' ? ['payment_delays'] : []),
    ...(trend <= -5 ? ['negative_trend'] : []),
  ];
  scores.push({
    tenantId: customer.tenantId,
    customerId: customer.id,
    score,
    ...latest,
    trend30DayChange: trend,
    riskIndicators: risks,
    improvementAreas: rng.some(IMPROVEMENT_AREAS, 0.3),
    ...impacts(score, rng),
    productFeatureAdoptionFocus: rng.some(FEATURES, 0.3),
    productBetaInterests: rng.some(BETAS, 0.25),
    syncTimestamp: new Date(DEMO_NOW.getTime() - rng.int(0, 6 * 3_600_000)),
    dataQualityScore: rng.float(0.85, 1),
    sourceSystem: 'health-engine',
    sourceUpdatedAt: daysBefore(1),
  });
}

/** Seeds scores and history through the unscoped client (seeding spans tenants by design). */
export async function seedDemo(client: PrismaClient, seed: SeedContext): Promise<void> {
  const roster = demoCustomers();
  for (const tenant of DEMO_TENANTS) {
    if ((await client.healthScore.count({ where: { tenantId: tenant.id } })) > 0) continue;
    const scores: Prisma.HealthScoreCreateManyInput[] = [];
    const snapshots: Prisma.HealthSnapshotCreateManyInput[] = [];
    for (const customer of roster) {
      if (customer.tenantId === tenant.id) rowsFor(customer, scores, snapshots);
    }
    await client.$transaction(async (tx) => {
      await inChunks(scores, CHUNK, (chunk) => seed.insertRows(tx, 'HealthScore', chunk));
      await inChunks(snapshots, CHUNK, (chunk) => seed.insertRows(tx, 'HealthSnapshot', chunk));
    }, SEED_TRANSACTION);
  }
}
