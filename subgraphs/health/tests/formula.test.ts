import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  computeHealth,
  dataQualityOf,
  engagementScoreOf,
  freshnessOf,
  supportScoreOf,
  usageScoreOf,
  type FeatureInput,
  type HealthInputs,
} from '../src/formula.js';

const NOW = new Date('2025-12-05T08:21:00Z');
const daysAgo = (days: number) => new Date(NOW.getTime() - days * 86_400_000);
const feature = (
  name: string,
  category: 'CORE' | 'ADVANCED',
  usageCount: number,
  adoptionScore: number,
): FeatureInput => ({
  feature: name,
  category,
  usageCount,
  adoptionScore,
});

/** The brief's usage and marketing examples, a healthy support history, finance current. */
const BRIEF_LIKE: HealthInputs = {
  customerId: 'cust_12345',
  usage: {
    adoptionRate: 0.72,
    discoveryRate: 0.45,
    features: [
      feature('email_campaigns', 'CORE', 45, 0.85),
      feature('analytics_dashboard', 'CORE', 23, 0.65),
      feature('automation_workflows', 'ADVANCED', 8, 0.25),
      feature('api_integrations', 'ADVANCED', 2, 0.1),
    ],
    at: NOW,
  },
  support: { openTickets: 1, escalations: 0, ratings: [5, 4, 4], at: NOW },
  finance: { paymentStatus: 'CURRENT', overdueInvoices: 0, lateInvoices: 0, at: NOW },
  marketing: { journeyStage: 'ADOPTION', engagement: 8.4, openRate: 0.45, clickRate: 0.23, at: NOW },
  scoreMonthBefore: 68,
};

const THRIVING: HealthInputs = {
  customerId: 'cust_2',
  usage: {
    adoptionRate: 0.95,
    discoveryRate: 0.92,
    features: [feature('a', 'CORE', 100, 0.95), feature('b', 'ADVANCED', 50, 0.9)],
    at: daysAgo(40),
  },
  support: { openTickets: 0, escalations: 0, ratings: [5, 5], at: daysAgo(3) },
  finance: { paymentStatus: 'CURRENT', overdueInvoices: 0, lateInvoices: 0, at: daysAgo(10) },
  marketing: { journeyStage: 'EXPANSION', engagement: 9.5, openRate: 0.6, clickRate: 0.45, at: daysAgo(70) },
  scoreMonthBefore: 80,
};

const FAILING: HealthInputs = {
  customerId: 'cust_3',
  usage: {
    adoptionRate: 0.2,
    discoveryRate: 0.1,
    features: [feature('x', 'CORE', 0, 0), feature('y', 'CORE', 3, 0.2)],
    at: NOW,
  },
  support: { openTickets: 4, escalations: 1, ratings: [2], at: NOW },
  finance: { paymentStatus: 'CURRENT', overdueInvoices: 1, lateInvoices: 0, at: NOW },
  marketing: { journeyStage: 'AT_RISK', engagement: 2, openRate: null, clickRate: null, at: NOW },
  scoreMonthBefore: 50,
};

const UNKNOWN: HealthInputs = {
  customerId: 'cust_4',
  usage: null,
  support: null,
  finance: null,
  marketing: null,
  scoreMonthBefore: null,
};

describe('health formula: worked examples (computed by hand in the comments)', () => {
  it.each([
    [
      'the brief’s usage and marketing figures',
      BRIEF_LIKE,
      {
        // usage = 100 x (0.6 x 0.72 + 0.25 x 0.45 + 0.15 x 4/4) = 43.2 + 11.25 + 15 = 69.45 -> 69
        usageScore: 69,
        // engagement = 100 x (0.5 x 8.4/10 + 0.3 x min(1, 0.5 x 0.45 + 0.23) + 0.2 x ADOPTION 0.6)
        //            = 42 + 13.65 + 12 = 67.65 -> 68
        engagementScore: 68,
        // support = (mean(5,4,4) - 1) / 4 x 100 = 83.3; one open ticket (<= 2), no escalation -> 83
        supportSatisfaction: 83,
        paymentStatus: 'CURRENT',
        // score = 0.4 x 69 + 0.3 x 68 + 0.3 x 83 = 27.6 + 20.4 + 24.9 = 72.9 -> 73; 30-day change 73 - 68
        score: 73,
        thirtyDayChange: 5,
        riskIndicators: [],
        // usage < 70 (and adoption 0.72 < 0.75); engagement < 70
        improvementAreas: ['feature_adoption', 'engagement'],
        // not at risk (73 >= 50), not expansion ready (73 < 80): nurture adoption; 73 < 75: steady
        marketing: { campaignTriggers: ['adoption_nurture'], segment: 'steady_adopters' },
        // usage >= 60 and an advanced feature below 0.3 (automation 0.25); (0.2 + 0.8 x 0.73) x 1 = 0.784
        sales: { expansionOpportunities: ['advanced_features_addon'], renewalConfidence: 0.78 },
        // features below 0.5, least adopted first: api 0.10, automation 0.25
        product: { featureAdoptionFocus: ['api_integrations', 'automation_workflows'], betaInterests: [] },
        // every input fresh: 0.4 + 0.3 + 0.3
        dataQualityScore: 1,
      },
    ],
    [
      'a thriving customer with stale inputs',
      THRIVING,
      {
        // 100 x (0.6 x 0.95 + 0.25 x 0.92 + 0.15 x 1) = 57 + 23 + 15 = 95
        usageScore: 95,
        // 100 x (0.5 x 0.95 + 0.3 x min(1, 0.3 + 0.45) + 0.2 x 1) = 47.5 + 22.5 + 20 = 90
        engagementScore: 90,
        // mean 5 -> 100
        supportSatisfaction: 100,
        paymentStatus: 'CURRENT',
        // 38 + 27 + 30 = 95; 95 - 80
        score: 95,
        thirtyDayChange: 15,
        riskIndicators: [],
        improvementAreas: [],
        // >= 80, usage >= 75, current, no escalation: expansion ready; >= 90 and support >= 85: advocacy
        marketing: { campaignTriggers: ['expansion_ready', 'advocacy_invite'], segment: 'high_value_growth' },
        // 0.2 + 0.8 x 0.95 = 0.96
        sales: { expansionOpportunities: ['premium_upgrade'], renewalConfidence: 0.96 },
        product: { featureAdoptionFocus: [], betaInterests: [] },
        // usage 40 days old: (65 - 40) / 30 = 0.833; finance 10 days: 1; marketing 70 days: 0
        // 0.4 x 0.833 + 0.3 x 1 + 0.3 x 0 = 0.633 -> 0.63
        dataQualityScore: 0.63,
      },
    ],
    [
      'a failing customer with an overdue invoice and an escalation',
      FAILING,
      {
        // 100 x (0.6 x 0.2 + 0.25 x 0.1 + 0.15 x 1/2) = 12 + 2.5 + 7.5 = 22
        usageScore: 22,
        // 100 x (0.5 x 0.2 + 0.3 x 0.5 (no campaigns) + 0.2 x AT_RISK 0.1) = 10 + 15 + 2 = 27
        engagementScore: 27,
        // (2 - 1) / 4 x 100 = 25, - 5 x (4 - 2) open, - 10 x 1 escalation = 5
        supportSatisfaction: 5,
        // finance says CURRENT but an invoice is OVERDUE: the worse wins
        paymentStatus: 'OVERDUE',
        // 8.8 + 8.1 + 1.5 = 18.4 -> 18; 18 - 50
        score: 18,
        thirtyDayChange: -32,
        riskIndicators: [
          'low_usage',
          'low_engagement',
          'poor_support_experience',
          'open_escalations',
          'payment_issues',
          'declining_health',
        ],
        improvementAreas: ['feature_adoption', 'engagement', 'support_experience', 'billing'],
        marketing: { campaignTriggers: ['retention_outreach'], segment: 'at_risk_customers' },
        // (0.2 + 0.8 x 0.18) x OVERDUE 0.7 - 0.05 x 1 = 0.2408 - 0.05 = 0.1908 -> 0.19
        sales: { expansionOpportunities: [], renewalConfidence: 0.19 },
        product: { featureAdoptionFocus: ['x', 'y'], betaInterests: [] },
        dataQualityScore: 1,
      },
    ],
    [
      'a customer no domain has reported on',
      UNKNOWN,
      {
        // every missing input is neutral: usage 50, engagement 50, support 75 (no ratings, nothing open)
        usageScore: 50,
        engagementScore: 50,
        supportSatisfaction: 75,
        paymentStatus: 'CURRENT',
        // 20 + 15 + 22.5 = 57.5 -> 58; no history: change 0
        score: 58,
        thirtyDayChange: 0,
        riskIndicators: [],
        improvementAreas: ['feature_adoption', 'engagement'],
        marketing: { campaignTriggers: ['adoption_nurture'], segment: 'steady_adopters' },
        // 0.2 + 0.8 x 0.58 = 0.664
        sales: { expansionOpportunities: [], renewalConfidence: 0.66 },
        product: { featureAdoptionFocus: [], betaInterests: [] },
        // nothing known: no quality at all
        dataQualityScore: 0,
      },
    ],
  ])('%s', (_name, inputs, expected) => {
    expect(computeHealth(inputs, NOW)).toEqual(expected);
  });

  it.each([
    ['LATE', 0, 0, 'LATE'],
    ['CURRENT', 0, 2, 'LATE'],
    ['LATE', 1, 0, 'OVERDUE'],
    ['DELINQUENT', 1, 0, 'DELINQUENT'],
    [null, 0, 0, 'CURRENT'],
  ] as const)('finance %s with %d overdue and %d late invoices is %s', (reported, overdue, late, status) => {
    const inputs = {
      ...UNKNOWN,
      finance: { paymentStatus: reported, overdueInvoices: overdue, lateInvoices: late, at: NOW },
    };
    expect(computeHealth(inputs, NOW).paymentStatus).toBe(status);
  });

  it.each([
    [0, 1],
    [35, 1],
    [50, 0.5],
    [65, 0],
    [400, 0],
  ])('an input %d days old is %d fresh', (days, freshness) => {
    expect(freshnessOf(daysAgo(days), NOW)).toBeCloseTo(freshness, 10);
  });
});

// Property checks over generated inputs: each dimension of the formula moves the right way.
const unit = fc.double({ min: 0, max: 1, noNaN: true });
const featureArb = fc.record({
  feature: fc.stringMatching(/^[a-z]{1,8}$/),
  category: fc.constantFrom('CORE' as const, 'ADVANCED' as const),
  usageCount: fc.nat({ max: 1000 }),
  adoptionScore: unit,
});
const usageArb = fc.record({
  adoptionRate: fc.option(unit, { nil: null }),
  discoveryRate: fc.option(unit, { nil: null }),
  features: fc.array(featureArb, { maxLength: 6 }),
  at: fc.constant(NOW),
});
const supportArb = fc.record({
  openTickets: fc.nat({ max: 20 }),
  escalations: fc.nat({ max: 5 }),
  ratings: fc.array(fc.integer({ min: 1, max: 5 }), { maxLength: 10 }),
  at: fc.constant(NOW),
});
const marketingArb = fc.record({
  journeyStage: fc.constantFrom(null, 'ONBOARDING', 'ADOPTION', 'EXPANSION', 'ADVOCACY', 'RENEWAL', 'AT_RISK'),
  engagement: fc.option(fc.double({ min: 0, max: 10, noNaN: true }), { nil: null }),
  openRate: fc.option(unit, { nil: null }),
  clickRate: fc.option(unit, { nil: null }),
  at: fc.constant(NOW),
});
const inputsArb: fc.Arbitrary<HealthInputs> = fc.record({
  customerId: fc.constant('cust_p'),
  usage: fc.option(usageArb, { nil: null }),
  support: fc.option(supportArb, { nil: null }),
  finance: fc.option(
    fc.record({
      paymentStatus: fc.constantFrom(
        null,
        'CURRENT' as const,
        'LATE' as const,
        'OVERDUE' as const,
        'DELINQUENT' as const,
      ),
      overdueInvoices: fc.nat({ max: 3 }),
      lateInvoices: fc.nat({ max: 3 }),
      at: fc.constant(NOW),
    }),
    { nil: null },
  ),
  marketing: fc.option(marketingArb, { nil: null }),
  scoreMonthBefore: fc.option(fc.integer({ min: 0, max: 100 }), { nil: null }),
});
const RUNS = { numRuns: 500, seed: 8 };

describe('health formula: properties', () => {
  it('every score is an integer 0–100, confidence and quality within 0..1', () => {
    fc.assert(
      fc.property(inputsArb, (inputs) => {
        const h = computeHealth(inputs, NOW);
        for (const s of [h.usageScore, h.engagementScore, h.supportSatisfaction, h.score]) {
          expect(Number.isInteger(s) && s >= 0 && s <= 100).toBe(true);
        }
        expect(h.sales.renewalConfidence).toBeGreaterThanOrEqual(0);
        expect(h.sales.renewalConfidence).toBeLessThanOrEqual(1);
        expect(h.dataQualityScore).toBeGreaterThanOrEqual(0);
        expect(h.dataQualityScore).toBeLessThanOrEqual(1);
      }),
      RUNS,
    );
  });

  it('more usage never lowers the usage score (adoption, discovery, or a feature’s use count)', () => {
    fc.assert(
      fc.property(usageArb, unit, fc.nat({ max: 5 }), fc.nat({ max: 500 }), (usage, more, index, extra) => {
        const before = usageScoreOf(usage);
        const adoption = usage.adoptionRate ?? 0.5;
        expect(
          usageScoreOf({ ...usage, adoptionRate: Math.min(1, adoption + more * (1 - adoption)) }),
        ).toBeGreaterThanOrEqual(before);
        const discovery = usage.discoveryRate ?? 0.5;
        expect(
          usageScoreOf({ ...usage, discoveryRate: Math.min(1, discovery + more * (1 - discovery)) }),
        ).toBeGreaterThanOrEqual(before);
        const features = usage.features.map((f, i) => (i === index ? { ...f, usageCount: f.usageCount + extra } : f));
        expect(usageScoreOf({ ...usage, features })).toBeGreaterThanOrEqual(before);
      }),
      RUNS,
    );
  });

  it('more engagement never lowers the engagement score; neither do better campaign figures', () => {
    fc.assert(
      fc.property(marketingArb, unit, (m, more) => {
        const before = engagementScoreOf(m);
        const e = m.engagement ?? 5;
        expect(engagementScoreOf({ ...m, engagement: e + more * (10 - e) })).toBeGreaterThanOrEqual(before);
        if (m.clickRate !== null)
          expect(engagementScoreOf({ ...m, clickRate: m.clickRate + more * (1 - m.clickRate) })).toBeGreaterThanOrEqual(
            before,
          );
      }),
      RUNS,
    );
  });

  it('an extra open ticket or escalation never raises support satisfaction; a better rating never lowers it', () => {
    fc.assert(
      fc.property(supportArb, fc.nat({ max: 9 }), (s, index) => {
        const before = supportScoreOf(s);
        expect(supportScoreOf({ ...s, openTickets: s.openTickets + 1 })).toBeLessThanOrEqual(before);
        expect(supportScoreOf({ ...s, escalations: s.escalations + 1 })).toBeLessThanOrEqual(before);
        const ratings = s.ratings.map((r, i) => (i === index ? Math.min(5, r + 1) : r));
        expect(supportScoreOf({ ...s, ratings })).toBeGreaterThanOrEqual(before);
      }),
      RUNS,
    );
  });

  it('a worse payment standing never raises renewal confidence and always flags a risk', () => {
    fc.assert(
      fc.property(inputsArb, (inputs) => {
        const at = (status: 'CURRENT' | 'LATE' | 'OVERDUE' | 'DELINQUENT') =>
          computeHealth(
            { ...inputs, finance: { paymentStatus: status, overdueInvoices: 0, lateInvoices: 0, at: NOW } },
            NOW,
          );
        const [current, late, overdue, delinquent] = [at('CURRENT'), at('LATE'), at('OVERDUE'), at('DELINQUENT')];
        expect(late.sales.renewalConfidence).toBeLessThanOrEqual(current.sales.renewalConfidence);
        expect(overdue.sales.renewalConfidence).toBeLessThanOrEqual(late.sales.renewalConfidence);
        expect(delinquent.sales.renewalConfidence).toBeLessThanOrEqual(overdue.sales.renewalConfidence);
        expect(late.riskIndicators).toContain('late_payment');
        expect(overdue.riskIndicators).toContain('payment_issues');
        expect(current.riskIndicators.filter((r) => r.includes('payment'))).toEqual([]);
      }),
      RUNS,
    );
  });

  it('the 30-day change is the score minus the score a month before; expansion and retention never both trigger', () => {
    fc.assert(
      fc.property(inputsArb, (inputs) => {
        const h = computeHealth(inputs, NOW);
        expect(h.thirtyDayChange).toBe(inputs.scoreMonthBefore === null ? 0 : h.score - inputs.scoreMonthBefore);
        const t = h.marketing.campaignTriggers;
        expect(t.includes('expansion_ready') && t.includes('retention_outreach')).toBe(false);
        expect(h.marketing.segment === 'at_risk_customers').toBe(t.includes('retention_outreach'));
      }),
      RUNS,
    );
  });

  it('older inputs never raise the data-quality score; a missing one scores as none', () => {
    fc.assert(
      fc.property(inputsArb, fc.nat({ max: 100 }), (inputs, age) => {
        const older = {
          ...inputs,
          usage: inputs.usage && { ...inputs.usage, at: daysAgo(age) },
          finance: inputs.finance && { ...inputs.finance, at: daysAgo(age) },
        };
        expect(dataQualityOf(older, NOW)).toBeLessThanOrEqual(dataQualityOf(inputs, NOW));
        expect(dataQualityOf({ ...inputs, usage: null }, NOW)).toBeLessThanOrEqual(dataQualityOf(inputs, NOW));
      }),
      RUNS,
    );
  });
});
