/**
 * The health formula: one pure function from a customer's inputs (what the other domains' events
 * told the health domain, see inputs.ts) to the brief's `customer_health_sync` figures. No I/O, no
 * clock: `now` is an input, so the same inputs always give the same health (tests pin it with
 * worked examples; README "Health score" documents it with one).
 *
 * Every score is 0–100. An input that never arrived scores NEUTRAL (50) rather than 0: a customer
 * the hub knows little about is not thereby failing; the missing input lowers `dataQualityScore`
 * instead, which says how far to trust the figures.
 */
import { healthScoreOf } from './sync.js';

export const NEUTRAL = 50;
const DAY = 86_400_000;

export type PaymentStatus = 'CURRENT' | 'LATE' | 'OVERDUE' | 'DELINQUENT';
const PAYMENT_SEVERITY: readonly PaymentStatus[] = ['CURRENT', 'LATE', 'OVERDUE', 'DELINQUENT'];

export interface FeatureInput {
  readonly feature: string;
  readonly category: 'CORE' | 'ADVANCED';
  readonly usageCount: number;
  /** 0..1 */
  readonly adoptionScore: number;
}

export interface HealthInputs {
  readonly customerId: string;
  /** Product: the latest period's adoption metrics and features (null: never reported). */
  readonly usage: {
    /** 0..1 */
    readonly adoptionRate: number | null;
    /** 0..1 */
    readonly discoveryRate: number | null;
    readonly features: readonly FeatureInput[];
    readonly at: Date;
  } | null;
  /** Support: tickets not yet solved, of them URGENT ones (escalations), and ratings 1..5 of solved ones. */
  readonly support: {
    readonly openTickets: number;
    readonly escalations: number;
    readonly ratings: readonly number[];
    readonly at: Date;
  } | null;
  /** Finance: the billing system's payment standing (null: none reported) and invoices past due. */
  readonly finance: {
    readonly paymentStatus: PaymentStatus | null;
    /** Invoices in status OVERDUE. */
    readonly overdueInvoices: number;
    /** Open invoices whose due date has passed (not yet OVERDUE). */
    readonly lateInvoices: number;
    readonly at: Date;
  } | null;
  /** Marketing: journey stage, the current stay's engagement score (0..10), campaign figures (0..1). */
  readonly marketing: {
    readonly journeyStage: string | null;
    readonly engagement: number | null;
    readonly openRate: number | null;
    readonly clickRate: number | null;
    readonly at: Date;
  } | null;
  /** The overall score 30–45 days before `now` (health history), null when the history has none. */
  readonly scoreMonthBefore: number | null;
}

export interface ComputedHealth {
  readonly usageScore: number;
  readonly engagementScore: number;
  readonly supportSatisfaction: number;
  readonly paymentStatus: PaymentStatus;
  readonly score: number;
  readonly thirtyDayChange: number;
  readonly riskIndicators: string[];
  readonly improvementAreas: string[];
  readonly marketing: { readonly campaignTriggers: string[]; readonly segment: string };
  readonly sales: { readonly expansionOpportunities: string[]; readonly renewalConfidence: number };
  readonly product: { readonly featureAdoptionFocus: string[]; readonly betaInterests: string[] };
  /** 0..1, two decimals. */
  readonly dataQualityScore: number;
}

const clamp = (x: number, lo = 0, hi = 1) => Math.min(hi, Math.max(lo, x));
const pct = (x: number) => Math.round(100 * clamp(x));
const round2 = (x: number) => Math.round(x * 100) / 100;

/**
 * Usage, 0–100 = 100 × (0.6 adoption rate + 0.25 discovery rate + 0.15 breadth), breadth = share of
 * the reported features used at least once. A missing rate counts 0.5. Every term grows with usage.
 */
export function usageScoreOf(usage: HealthInputs['usage']): number {
  if (!usage) return NEUTRAL;
  const used = usage.features.filter((f) => f.usageCount > 0).length;
  const breadth = usage.features.length === 0 ? 0.5 : used / usage.features.length;
  return pct(0.6 * (usage.adoptionRate ?? 0.5) + 0.25 * (usage.discoveryRate ?? 0.5) + 0.15 * breadth);
}

/** How far along the journey a stage is, for engagement: a customer at risk or onboarding engages least. */
export const STAGE_WEIGHT: Readonly<Record<string, number>> = {
  AT_RISK: 0.1,
  ONBOARDING: 0.4,
  ADOPTION: 0.6,
  RENEWAL: 0.8,
  EXPANSION: 1,
  ADVOCACY: 1,
};

/**
 * Engagement, 0–100 = 100 × (0.5 journey engagement / 10 + 0.3 campaign response + 0.2 stage weight),
 * campaign response = min(1, 0.5 open rate + click rate); each missing part counts 0.5.
 */
export function engagementScoreOf(marketing: HealthInputs['marketing']): number {
  if (!marketing) return NEUTRAL;
  const journey = marketing.engagement === null ? 0.5 : clamp(marketing.engagement / 10);
  const response =
    marketing.openRate === null && marketing.clickRate === null
      ? 0.5
      : clamp(0.5 * (marketing.openRate ?? 0) + (marketing.clickRate ?? 0));
  const stage = marketing.journeyStage === null ? 0.5 : (STAGE_WEIGHT[marketing.journeyStage] ?? 0.5);
  return pct(0.5 * journey + 0.3 * response + 0.2 * stage);
}

/**
 * Support satisfaction, 0–100 = mean rating mapped 1..5 -> 0..100 (no ratings: 75, the helpdesk's
 * typical "satisfied"), minus 5 points per open ticket beyond two and 10 per escalation, at least 0.
 * No support input at all (never a ticket) is the same as no ratings and nothing open.
 */
export function supportScoreOf(support: HealthInputs['support']): number {
  const ratings = support?.ratings ?? [];
  const base = ratings.length === 0 ? 75 : (100 * (ratings.reduce((a, b) => a + b, 0) / ratings.length - 1)) / 4;
  const open = support?.openTickets ?? 0;
  const escalations = support?.escalations ?? 0;
  return Math.round(clamp(base - 5 * Math.max(0, open - 2) - 10 * escalations, 0, 100));
}

/**
 * Payment standing: the worse of finance's own status and what its invoices say (an OVERDUE invoice
 * means OVERDUE, an open invoice past its due date LATE); CURRENT when finance reported nothing.
 */
export function paymentStatusOf(finance: HealthInputs['finance']): PaymentStatus {
  if (!finance) return 'CURRENT';
  const fromInvoices: PaymentStatus =
    finance.overdueInvoices > 0 ? 'OVERDUE' : finance.lateInvoices > 0 ? 'LATE' : 'CURRENT';
  const reported = finance.paymentStatus ?? 'CURRENT';
  return PAYMENT_SEVERITY[
    Math.max(PAYMENT_SEVERITY.indexOf(reported), PAYMENT_SEVERITY.indexOf(fromInvoices))
  ] as PaymentStatus;
}

/**
 * Freshness of an input, 0..1: 1 up to 35 days old (a monthly sync and its slack), falling linearly
 * to 0 at 65 days; a missing input is 0.
 */
export function freshnessOf(at: Date | null | undefined, now: Date): number {
  if (!at) return 0;
  const days = (now.getTime() - at.getTime()) / DAY;
  return clamp((65 - days) / 30);
}

/**
 * Data quality of the inputs, 0..1 = 0.4 usage + 0.3 finance + 0.3 marketing freshness: completeness
 * and timeliness in one figure (a missing input is 0, a stale one fades). Support is left out: a
 * customer without tickets is complete, not missing data.
 */
export function dataQualityOf(inputs: HealthInputs, now: Date): number {
  return round2(
    0.4 * freshnessOf(inputs.usage?.at, now) +
      0.3 * freshnessOf(inputs.finance?.at, now) +
      0.3 * freshnessOf(inputs.marketing?.at, now),
  );
}

const PAYMENT_FACTOR: Readonly<Record<PaymentStatus, number>> = {
  CURRENT: 1,
  LATE: 0.9,
  OVERDUE: 0.7,
  DELINQUENT: 0.4,
};

/** The whole health of one customer at `now`. */
export function computeHealth(inputs: HealthInputs, now: Date): ComputedHealth {
  const usageScore = usageScoreOf(inputs.usage);
  const engagementScore = engagementScoreOf(inputs.marketing);
  const supportSatisfaction = supportScoreOf(inputs.support);
  const paymentStatus = paymentStatusOf(inputs.finance);
  // The hub's one rule for the overall score (sync.ts): payment standing is its own dimension.
  const score = healthScoreOf(usageScore, engagementScore, supportSatisfaction);
  const thirtyDayChange = inputs.scoreMonthBefore === null ? 0 : score - inputs.scoreMonthBefore;
  const escalations = inputs.support?.escalations ?? 0;

  const risk: string[] = [];
  if (usageScore < 40) risk.push('low_usage');
  if (engagementScore < 40) risk.push('low_engagement');
  if (supportSatisfaction < 50) risk.push('poor_support_experience');
  if (escalations > 0) risk.push('open_escalations');
  if (paymentStatus === 'LATE') risk.push('late_payment');
  if (paymentStatus === 'OVERDUE' || paymentStatus === 'DELINQUENT') risk.push('payment_issues');
  if (thirtyDayChange <= -10) risk.push('declining_health');

  const adoption = inputs.usage?.adoptionRate ?? null;
  const improvement: string[] = [];
  if (usageScore < 70 || (adoption !== null && adoption < 0.75)) improvement.push('feature_adoption');
  if (engagementScore < 70) improvement.push('engagement');
  if (supportSatisfaction < 70) improvement.push('support_experience');
  if (paymentStatus !== 'CURRENT') improvement.push('billing');

  const atRisk = score < 50 || risk.includes('payment_issues') || risk.includes('declining_health');
  const expansionReady = score >= 80 && usageScore >= 75 && paymentStatus === 'CURRENT' && escalations === 0;
  const triggers: string[] = [];
  if (expansionReady) triggers.push('expansion_ready');
  if (atRisk) triggers.push('retention_outreach');
  if (!atRisk && improvement.includes('feature_adoption')) triggers.push('adoption_nurture');
  if (score >= 90 && supportSatisfaction >= 85) triggers.push('advocacy_invite');
  const segment = atRisk
    ? 'at_risk_customers'
    : score >= 75 && risk.length === 0
      ? 'high_value_growth'
      : 'steady_adopters';

  const features = inputs.usage?.features ?? [];
  const expansion: string[] = [];
  if (expansionReady) expansion.push('premium_upgrade');
  if (!atRisk && usageScore >= 60 && features.some((f) => f.category === 'ADVANCED' && f.adoptionScore < 0.3))
    expansion.push('advanced_features_addon');
  // Health times payment standing, less 5 points per escalation; 0.2 floor for the contract's inertia.
  const renewalConfidence = round2(
    clamp((0.2 + 0.8 * (score / 100)) * PAYMENT_FACTOR[paymentStatus] - 0.05 * escalations),
  );
  // The three least adopted features below one half, least adopted first (ties by name).
  const focus = features
    .filter((f) => f.adoptionScore < 0.5)
    .sort((a, b) => a.adoptionScore - b.adoptionScore || a.feature.localeCompare(b.feature))
    .slice(0, 3)
    .map((f) => f.feature);

  return {
    usageScore,
    engagementScore,
    supportSatisfaction,
    paymentStatus,
    score,
    thirtyDayChange,
    riskIndicators: risk,
    improvementAreas: improvement,
    marketing: { campaignTriggers: triggers, segment },
    sales: { expansionOpportunities: expansion, renewalConfidence },
    // No input carries beta interests (no domain records them): the list stays empty.
    product: { featureAdoptionFocus: focus, betaInterests: [] },
    dataQualityScore: dataQualityOf(inputs, now),
  };
}
