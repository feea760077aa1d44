/**
 * Demo data for the marketing store: a journey with stage history, a segment and an attribution
 * for every roster customer, 6–10 campaigns per tenant and per-customer performance for the
 * customers each campaign reached. Deterministic (demoRandom), idempotent per tenant.
 */
import {
  DEMO_NOW,
  DEMO_TENANTS,
  daysBefore,
  demoCustomers,
  demoRandom,
  type DemoCustomer,
  chunked,
  SEED_TRANSACTION,
  type SeedContext,
} from '@hub/core/demo';
import { dayOf } from '@hub/core/validate';
import type { CampaignType, JourneyStage, Prisma, PrismaClient } from '@hub/store/marketing';

const CHUNK = 1000;
const SOURCE = 'marketing_automation';

interface CampaignTemplate {
  key: string;
  name: string;
  type: CampaignType;
  segment: string;
}

const CAMPAIGNS: readonly CampaignTemplate[] = [
  { key: 'retention_q4', name: 'Q4 Retention Push', type: 'RETENTION', segment: 'at_risk_customers' },
  { key: 'onboarding_fast_start', name: 'Fast Start Onboarding Series', type: 'ONBOARDING', segment: 'new_customers' },
  {
    key: 'expansion_analytics_addon',
    name: 'Analytics Add-on Launch',
    type: 'EXPANSION',
    segment: 'high_value_growth',
  },
  { key: 'advocacy_reference_program', name: 'Customer Reference Program', type: 'ADVOCACY', segment: 'advocates' },
  { key: 'winback_lapsed_users', name: 'We Miss You: Lapsed Users', type: 'WINBACK', segment: 'at_risk_customers' },
  { key: 'adoption_feature_tips', name: 'Feature Tips Newsletter', type: 'RETENTION', segment: 'steady_adopters' },
  { key: 'expansion_seat_growth', name: 'Seat Growth Offer', type: 'EXPANSION', segment: 'high_value_growth' },
  { key: 'advocacy_review_drive', name: 'G2 Review Drive', type: 'ADVOCACY', segment: 'advocates' },
  { key: 'retention_renewal_prep', name: 'Renewal Readiness Webinar', type: 'RETENTION', segment: 'renewal_due' },
  { key: 'onboarding_admin_academy', name: 'Admin Academy', type: 'ONBOARDING', segment: 'new_customers' },
];

const PATH: readonly JourneyStage[] = ['ONBOARDING', 'ADOPTION', 'EXPANSION', 'ADVOCACY'];
const NEXT: Record<JourneyStage, JourneyStage> = {
  ONBOARDING: 'ADOPTION',
  ADOPTION: 'EXPANSION',
  EXPANSION: 'ADVOCACY',
  ADVOCACY: 'RENEWAL',
  RENEWAL: 'EXPANSION',
  AT_RISK: 'ADOPTION',
};
const SEGMENT_OF: Record<JourneyStage, readonly string[]> = {
  ONBOARDING: ['new_customers'],
  ADOPTION: ['steady_adopters', 'high_value_growth'],
  EXPANSION: ['high_value_growth'],
  ADVOCACY: ['advocates', 'high_value_growth'],
  RENEWAL: ['renewal_due'],
  AT_RISK: ['at_risk_customers'],
};

/** The stages a customer went through, oldest first: a prefix of the usual path, sometimes ending at risk or in renewal. */
function stagePath(rng: ReturnType<typeof demoRandom>): JourneyStage[] {
  const stages = PATH.slice(0, rng.int(1, PATH.length));
  const twist = rng.next();
  if (stages.length >= 2 && twist < 0.15) stages[stages.length - 1] = 'AT_RISK';
  else if (stages.length >= 3 && twist < 0.25) stages.push('RENEWAL');
  return stages;
}

interface CustomerRows {
  entries: Prisma.JourneyStageEntryCreateManyInput[];
  journey: Prisma.CustomerJourneyCreateManyInput;
  segment: Prisma.CustomerSegmentCreateManyInput;
  attribution: Prisma.AttributionAnalysisCreateManyInput;
}

function customerRows(customer: DemoCustomer): CustomerRows {
  const rng = demoRandom(`marketing:${customer.id}`);
  const { id: customerId, tenantId } = customer;
  const stages = stagePath(rng);
  let entered = dayOf(daysBefore(rng.int(stages.length * 30, stages.length * 150)));
  const entries: Prisma.JourneyStageEntryCreateManyInput[] = stages.map((stage, n) => {
    const current = n === stages.length - 1;
    const entryDate = entered;
    const exitDate = current
      ? null
      : dayOf(new Date(Math.min(entryDate.getTime() + rng.int(14, 120) * 86_400_000, DEMO_NOW.getTime())));
    if (exitDate) entered = exitDate;
    const source = { sourceSystem: SOURCE, sourceUpdatedAt: exitDate ?? entryDate };
    return {
      id: `jse_${customerId}_${n + 1}`,
      tenantId,
      customerId,
      stage,
      entryDate,
      exitDate,
      current,
      // The other kind's metrics are null, not absent: every row of a chunk carries the same fields (insertRows).
      ...(current
        ? {
            featureAdoption: rng.float(0.2, 0.95),
            engagementScore: rng.float(4, 9.8, 1),
            successMilestones: rng.int(0, 6),
            completionRate: null,
            timeToValueDays: null,
            satisfactionScore: null,
          }
        : {
            completionRate: rng.float(0.6, 1),
            timeToValueDays: rng.int(3, 45),
            satisfactionScore: rng.float(3, 5, 1),
            featureAdoption: null,
            engagementScore: null,
            successMilestones: null,
          }),
      ...source,
    };
  });
  const last = entries[entries.length - 1];
  const currentStage = stages[stages.length - 1] ?? 'ONBOARDING';
  const since = last?.entryDate instanceof Date ? last.entryDate : dayOf(DEMO_NOW);
  return {
    entries,
    journey: {
      id: `jrn_${customerId}`,
      tenantId,
      customerId,
      currentStage,
      stageSince: since,
      targetStage: NEXT[currentStage],
      predictedDate: dayOf(daysBefore(-rng.int(20, 150))),
      readinessScore: rng.float(0.3, 0.95),
      sourceSystem: SOURCE,
      sourceUpdatedAt: DEMO_NOW,
    },
    segment: {
      id: `seg_${customerId}`,
      tenantId,
      customerId,
      segment: rng.pick(SEGMENT_OF[currentStage]),
      sourceSystem: SOURCE,
      sourceUpdatedAt: DEMO_NOW,
    },
    attribution: {
      id: `att_${customerId}`,
      tenantId,
      customerId,
      campaignContribution: rng.float(0.02, 0.3),
      crossChannelImpact: rng.float(0, 0.15),
      successCorrelation: rng.float(0.2, 0.9),
      sourceSystem: SOURCE,
      sourceUpdatedAt: DEMO_NOW,
    },
  };
}

function tenantCampaigns(tenantId: string): Prisma.CampaignCreateManyInput[] {
  const rng = demoRandom(`marketing:campaigns:${tenantId}`);
  return CAMPAIGNS.slice(0, rng.int(6, 10)).map((template, n) => {
    const startsAt = daysBefore(rng.int(10, 200) - n);
    return {
      tenantId,
      id: `camp_${template.key}`,
      name: template.name,
      campaignType: template.type,
      targetSegment: template.segment,
      startsAt,
      endsAt: new Date(startsAt.getTime() + rng.int(14, 90) * 86_400_000),
      sourceSystem: SOURCE,
      sourceUpdatedAt: DEMO_NOW,
    };
  });
}

/** A campaign reaches its target segment and, now and then, a customer outside it. */
function performanceRows(
  customer: DemoCustomer,
  segment: string,
  campaigns: readonly Prisma.CampaignCreateManyInput[],
) {
  const rng = demoRandom(`marketing:performance:${customer.id}`);
  const rows: Prisma.CampaignPerformanceCreateManyInput[] = [];
  for (const campaign of campaigns) {
    const targeted = campaign.targetSegment === segment;
    if (!(targeted ? rng.next() < 0.8 : rng.next() < 0.1)) continue;
    const openRate = rng.float(0.2, 0.75);
    const clickRate = Math.round(openRate * rng.float(0.2, 0.6) * 100) / 100;
    rows.push({
      id: `perf_${customer.id}_${campaign.id}`,
      tenantId: customer.tenantId,
      campaignId: campaign.id,
      customerId: customer.id,
      openRate,
      clickRate,
      conversionRate: Math.round(clickRate * rng.float(0.3, 0.8) * 100) / 100,
      retentionImpact: rng.float(0, targeted ? 0.3 : 0.1),
      sourceSystem: SOURCE,
      sourceUpdatedAt: DEMO_NOW,
    });
  }
  return rows;
}

/** Loads the demo data; a tenant that already has journeys is left alone. */
export async function seedDemo(client: PrismaClient, seed: SeedContext): Promise<void> {
  const roster = demoCustomers();
  for (const tenant of DEMO_TENANTS) {
    if ((await client.customerJourney.count({ where: { tenantId: tenant.id } })) > 0) continue;
    const campaigns = tenantCampaigns(tenant.id);
    const rows = roster
      .filter((customer) => customer.tenantId === tenant.id)
      .map((customer) => ({ customer, ...customerRows(customer) }));
    const performance = rows.flatMap((row) => performanceRows(row.customer, row.segment.segment, campaigns));
    // One transaction per tenant: a seed interrupted half-way leaves nothing behind, so the
    // "tenant already has journeys" check can never skip a partial data set.
    await client.$transaction(async (tx) => {
      await seed.insertRows(tx, 'Campaign', campaigns);
      for (const data of chunked(
        rows.flatMap((row) => row.entries),
        CHUNK,
      ))
        await seed.insertRows(tx, 'JourneyStageEntry', data);
      for (const data of chunked(
        rows.map((row) => row.journey),
        CHUNK,
      ))
        await seed.insertRows(tx, 'CustomerJourney', data);
      for (const data of chunked(
        rows.map((row) => row.segment),
        CHUNK,
      ))
        await seed.insertRows(tx, 'CustomerSegment', data);
      for (const data of chunked(
        rows.map((row) => row.attribution),
        CHUNK,
      ))
        await seed.insertRows(tx, 'AttributionAnalysis', data);
      for (const data of chunked(performance, CHUNK)) await seed.insertRows(tx, 'CampaignPerformance', data);
    }, SEED_TRANSACTION);
  }
}
