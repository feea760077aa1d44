/**
 * Demo data for the sales store: 0–3 expansion opportunities per roster customer, owned by the
 * customer's roster owner, and one renewal forecast per customer. Deterministic (demoRandom),
 * idempotent per tenant.
 */
import {
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
import type { OpportunityStage, OpportunityType, Prisma, PrismaClient } from '@hub/store/sales';

const CHUNK = 1000;
const SOURCE = 'crm';

const TYPES: readonly OpportunityType[] = ['UPSELL', 'UPSELL', 'CROSS_SELL', 'ADD_ON', 'ADD_ON', 'RENEWAL_UPLIFT'];
const STAGES: readonly OpportunityStage[] = [
  'IDENTIFIED',
  'QUALIFIED',
  'QUALIFIED',
  'PROPOSAL',
  'NEGOTIATION',
  'CLOSED_WON',
  'CLOSED_LOST',
];
/** Value range in thousands per type. */
const VALUE_K: Record<OpportunityType, readonly [number, number]> = {
  UPSELL: [20, 150],
  CROSS_SELL: [15, 100],
  ADD_ON: [5, 40],
  RENEWAL_UPLIFT: [10, 60],
};
const TIMELINES = ['q1_2026', 'q2_2026', 'q3_2026', 'q4_2026', 'q1_2027'];
const SUCCESS_FACTORS = [
  'high_product_adoption',
  'strong_health_score',
  'recent_success_milestones',
  'executive_relationship',
  'budget_approved',
  'champion_identified',
];
const SUCCESS_EVIDENCE = [
  'achieved_roi_target',
  'customer_testimonial',
  'expansion_requested',
  'usage_growth',
  'positive_qbr',
];
const RISK_MITIGATION = [
  'proactive_success_planning',
  'stakeholder_alignment',
  'value_demonstration',
  'executive_sponsorship',
];
const RISK_FACTORS = [
  'budget_cycle_timing',
  'competitive_landscape',
  'champion_departure',
  'low_feature_adoption',
  'support_escalations',
  'pricing_pressure',
];
const SUCCESS_MITIGATION = [
  'value_demonstration_portfolio',
  'executive_sponsorship',
  'success_plan_execution',
  'training_program',
  'roadmap_briefing',
];

type Rng = ReturnType<typeof demoRandom>;

/** At least one tag: an empty evidence list reads like missing data, not like a real CRM record. */
function someTags(rng: Rng, tags: readonly string[], p: number): string[] {
  const picked = rng.some(tags, p);
  return picked.length > 0 ? picked : [rng.pick(tags)];
}

function opportunities(customer: DemoCustomer, rng: Rng): Prisma.ExpansionOpportunityCreateManyInput[] {
  const count = rng.int(0, 3);
  return Array.from({ length: count }, (_, n) => {
    const type = rng.pick(TYPES);
    const [min, max] = VALUE_K[type];
    const stage = rng.pick(STAGES);
    const probability = stage === 'CLOSED_WON' ? 1 : stage === 'CLOSED_LOST' ? 0 : rng.float(0.1, 0.95);
    const createdAt = daysBefore(rng.int(5, 180));
    return {
      tenantId: customer.tenantId,
      // exp_<customer serial><n>, e.g. exp_000421 — stable across runs, shaped like the CRM's ids.
      id: `exp_${customer.id.slice('cust_'.length)}${n + 1}`,
      customerId: customer.id,
      ownerId: customer.ownerId,
      type,
      value: `${rng.int(min, max) * 1000}.00`,
      probability,
      timeline: rng.pick(TIMELINES),
      stage,
      successFactors: someTags(rng, SUCCESS_FACTORS, 0.4),
      csHealthScore: rng.int(55, 98),
      csSuccessEvidence: someTags(rng, SUCCESS_EVIDENCE, 0.4),
      csRiskMitigation: someTags(rng, RISK_MITIGATION, 0.4),
      sourceSystem: SOURCE,
      sourceUpdatedAt: createdAt,
      createdAt,
    };
  });
}

function renewal(customer: DemoCustomer, rng: Rng): Prisma.RenewalForecastCreateManyInput {
  const contractK = rng.int(20, 400);
  const risky = rng.next() < 0.2;
  return {
    id: `ren_${customer.id}`,
    tenantId: customer.tenantId,
    customerId: customer.id,
    ownerId: customer.ownerId,
    renewalProbability: risky ? rng.float(0.3, 0.7) : rng.float(0.7, 0.99),
    contractValue: `${contractK * 1000}.00`,
    expansionPotential: `${Math.round(contractK * rng.float(0, 0.5)) * 1000}.00`,
    renewalDate: dayOf(daysBefore(-rng.int(15, 365))),
    riskFactors: risky ? someTags(rng, RISK_FACTORS, 0.4) : rng.some(RISK_FACTORS, 0.15),
    successMitigation: someTags(rng, SUCCESS_MITIGATION, 0.4),
    sourceSystem: SOURCE,
    sourceUpdatedAt: daysBefore(rng.int(0, 30)),
  };
}

/** Loads the demo data; a tenant that already has renewal forecasts is left alone. */
export async function seedDemo(client: PrismaClient, seed: SeedContext): Promise<void> {
  const roster = demoCustomers();
  for (const tenant of DEMO_TENANTS) {
    if ((await client.renewalForecast.count({ where: { tenantId: tenant.id } })) > 0) continue;
    const opps: Prisma.ExpansionOpportunityCreateManyInput[] = [];
    const renewals: Prisma.RenewalForecastCreateManyInput[] = [];
    for (const customer of roster) {
      if (customer.tenantId !== tenant.id) continue;
      const rng = demoRandom(`sales:${customer.id}`);
      opps.push(...opportunities(customer, rng));
      renewals.push(renewal(customer, rng));
    }
    // One transaction per tenant: an interrupted seed leaves nothing, so the skip check stays sound.
    await client.$transaction(async (tx) => {
      for (const data of chunked(opps, CHUNK)) await seed.insertRows(tx, 'ExpansionOpportunity', data);
      for (const data of chunked(renewals, CHUNK)) await seed.insertRows(tx, 'RenewalForecast', data);
    }, SEED_TRANSACTION);
  }
}
