import type { SqlExecutor, SyncKind } from '@hub/core/sync/types';
import { useTestSubgraph } from '@hub/core/testing';
import { describe, expect, it } from 'vitest';
import type { SalesPipelineSyncInput } from '../src/generated/resolvers-types.js';
import { subgraph } from '../src/server.js';
import { BILLING, CRM, HEALTH_ENGINE, sync, type SalesFacts } from '../src/sync.js';

/** The brief's sales_pipeline_sync example, keys camelCased as the import converts them. */
const BRIEF: SalesPipelineSyncInput = {
  customerId: 'cust_12345',
  expansionOpportunities: [
    {
      opportunityId: 'exp_67890',
      type: 'upsell',
      value: '75000',
      probability: 0.75,
      timeline: 'q1_2026',
      successFactors: [
        'high_product_adoption',
        'strong_health_score',
        'recent_success_milestones',
        'executive_relationship',
      ],
      csContribution: {
        healthScore: 88,
        successEvidence: ['achieved_roi_target', 'customer_testimonial', 'expansion_requested'],
        riskMitigation: ['proactive_success_planning', 'stakeholder_alignment', 'value_demonstration'],
      },
    },
  ],
  renewalForecast: {
    renewalProbability: 0.95,
    contractValue: '150000',
    expansionPotential: '50000',
    riskFactors: ['budget_cycle_timing', 'competitive_landscape'],
    successMitigation: ['value_demonstration_portfolio', 'executive_sponsorship', 'success_plan_execution'],
  },
  syncTimestamp: new Date('2025-12-05T08:21:00Z'),
};

const pipeline = sync.kinds.find((k) => k.name === 'sales_pipeline_sync') as SyncKind<SalesPipelineSyncInput>;

function briefWith(change: (payload: SalesPipelineSyncInput) => void): SalesPipelineSyncInput {
  const copy = structuredClone(BRIEF);
  change(copy);
  return copy;
}

function rejection(run: () => unknown, label: string): { field: unknown; code: unknown } {
  try {
    run();
  } catch (error) {
    const extensions = (error as { extensions?: Record<string, unknown> }).extensions ?? {};
    return { field: extensions['field'], code: extensions['code'] };
  }
  throw new Error(`expected a rejection: ${label}`);
}

const opportunity = (p: SalesPipelineSyncInput) => {
  const first = p.expansionOpportunities?.[0];
  if (!first) throw new Error('no opportunity');
  return first;
};
const forecast = (p: SalesPipelineSyncInput) => {
  if (!p.renewalForecast) throw new Error('no forecast');
  return p.renewalForecast;
};

describe('sales sync declaration: mapping', () => {
  it('maps the brief’s example to one opportunity and the renewal forecast', () => {
    expect(pipeline.sourceTime(BRIEF)).toEqual(new Date('2025-12-05T08:21:00Z'));
    expect(pipeline.map(BRIEF)).toEqual([
      {
        model: 'ExpansionOpportunity',
        key: { id: 'exp_67890' },
        fields: {
          customerId: 'cust_12345',
          type: 'UPSELL',
          value: '75000',
          probability: 0.75,
          timeline: 'q1_2026',
          successFactors: [
            'high_product_adoption',
            'strong_health_score',
            'recent_success_milestones',
            'executive_relationship',
          ],
          csHealthScore: 88,
          csSuccessEvidence: ['achieved_roi_target', 'customer_testimonial', 'expansion_requested'],
          csRiskMitigation: ['proactive_success_planning', 'stakeholder_alignment', 'value_demonstration'],
        },
      },
      {
        model: 'RenewalForecast',
        key: { customerId: 'cust_12345' },
        fields: {
          renewalProbability: 0.95,
          contractValue: '150000',
          expansionPotential: '50000',
          riskFactors: ['budget_cycle_timing', 'competitive_landscape'],
          successMitigation: ['value_demonstration_portfolio', 'executive_sponsorship', 'success_plan_execution'],
        },
      },
    ]);
  });

  it('what the payload leaves out is not synced: no stage, owner or renewal date overwrites the stored one', () => {
    const [opp, renewal] = pipeline.map(BRIEF);
    for (const field of ['stage', 'ownerId']) expect(opp?.fields).not.toHaveProperty(field);
    for (const field of ['renewalDate', 'ownerId']) expect(renewal?.fields).not.toHaveProperty(field);
    const withMore = pipeline.map(
      briefWith((p) => {
        Object.assign(opportunity(p), { stage: 'negotiation', ownerId: 'u4' });
        Object.assign(forecast(p), { renewalDate: '2026-06-30', ownerId: 'u4' });
      }),
    );
    expect(withMore[0]?.fields).toMatchObject({ stage: 'NEGOTIATION', ownerId: 'u4' });
    expect(withMore[1]?.fields).toMatchObject({ renewalDate: new Date('2026-06-30T00:00:00Z'), ownerId: 'u4' });
    const opportunitiesOnly = pipeline.map(briefWith((p) => delete p.renewalForecast));
    expect(opportunitiesOnly.map((r) => r.model)).toEqual(['ExpansionOpportunity']);
  });

  it('reads a replayed dead letter (JSON: timestamps as text) the same way', () => {
    const replayed = JSON.parse(JSON.stringify(BRIEF)) as SalesPipelineSyncInput;
    expect(pipeline.map(replayed)).toEqual(pipeline.map(BRIEF));
    expect(pipeline.sourceTime(replayed)).toEqual(pipeline.sourceTime(BRIEF));
  });

  it('rejects malformed payloads naming the full payload path', () => {
    const cases: [string, (p: SalesPipelineSyncInput) => void][] = [
      ['customerId', (p) => delete p.customerId],
      ['customerId', (p) => (p.customerId = '12345')],
      ['expansionOpportunities.0.opportunityId', (p) => delete opportunity(p).opportunityId],
      ['expansionOpportunities.0.opportunityId', (p) => (opportunity(p).opportunityId = 'exp 67890')],
      ['expansionOpportunities.0.type', (p) => (opportunity(p).type = 'mega_deal')],
      ['expansionOpportunities.0.value', (p) => delete opportunity(p).value],
      ['expansionOpportunities.0.value', (p) => (opportunity(p).value = '-1')],
      ['expansionOpportunities.0.probability', (p) => (opportunity(p).probability = 1.2)],
      ['expansionOpportunities.0.timeline', (p) => (opportunity(p).timeline = '2026-Q1')],
      ['expansionOpportunities.0.stage', (p) => (opportunity(p).stage = 'won')],
      ['expansionOpportunities.0.successFactors[1]', (p) => (opportunity(p).successFactors = ['ok', 'Not A Tag'])],
      [
        'expansionOpportunities.0.csContribution.healthScore',
        (p) => (opportunity(p).csContribution = { healthScore: 101 }),
      ],
      ['expansionOpportunities.1.opportunityId', (p) => p.expansionOpportunities?.push({ ...opportunity(p) })],
      ['renewalForecast.renewalProbability', (p) => delete forecast(p).renewalProbability],
      ['renewalForecast.contractValue', (p) => delete forecast(p).contractValue],
      ['renewalForecast.expansionPotential', (p) => (forecast(p).expansionPotential = '-5')],
      ['renewalForecast.renewalDate', (p) => (forecast(p).renewalDate = '30/06/2026')],
      ['renewalForecast.riskFactors[0]', (p) => (forecast(p).riskFactors = ['Budget!'])],
    ];
    for (const [field, change] of cases) {
      expect(
        rejection(() => pipeline.map(briefWith(change)), field),
        field,
      ).toEqual({ field, code: 'BAD_USER_INPUT' });
    }
    expect(rejection(() => pipeline.sourceTime(briefWith((p) => delete p.syncTimestamp)), 'syncTimestamp')).toEqual({
      field: 'syncTimestamp',
      code: 'BAD_USER_INPUT',
    });
  });
});

describe('sales sync declaration: models, owners and quality rules', () => {
  it('keys opportunities by CRM id and forecasts by customer; the CRM, health engine and billing own their fields', () => {
    expect(sync.models).toEqual({
      ExpansionOpportunity: { key: ['id'], owners: { stage: [CRM], ownerId: [CRM], csHealthScore: [HEALTH_ENGINE] } },
      RenewalForecast: { key: ['customerId'], owners: { contractValue: [BILLING], ownerId: [CRM] } },
    });
    expect([CRM, HEALTH_ENGINE, BILLING]).toEqual(['crm', 'health-engine', 'billing']);
  });

  it('offers only sales_pipeline_sync to the sync API; every mutation has its own mutation-only kind', () => {
    expect(sync.kinds.filter((k) => !k.mutationOnly).map((k) => k.name)).toEqual(['sales_pipeline_sync']);
    expect(sync.kinds.filter((k) => k.mutationOnly).map((k) => [k.name, k.mode ?? 'upsert'])).toEqual([
      ['create_opportunity', 'insert'],
      ['update_opportunity', 'update'],
      ['upsert_renewal_forecast', 'upsert'],
    ]);
  });

  it('soft validity checks pass on the brief’s example and fail on implausible figures', () => {
    const validity = (p: SalesPipelineSyncInput) => pipeline.quality.validity?.(p) ?? [];
    expect(validity(BRIEF).length).toBe(4);
    expect(validity(BRIEF).every((c) => c.ok)).toBe(true);
    const failed = (p: SalesPipelineSyncInput) =>
      validity(p)
        .filter((c) => !c.ok)
        .map((c) => c.field);
    // q3_2025 ended before the snapshot of 2025-12-05, and the deal is still open.
    expect(failed(briefWith((p) => (opportunity(p).timeline = 'q3_2025')))).toEqual([
      'expansionOpportunities.0.timeline',
    ]);
    // A closed deal may lie in the past.
    expect(
      failed(briefWith((p) => Object.assign(opportunity(p), { timeline: 'q3_2025', stage: 'closed_won' }))),
    ).toEqual([]);
    expect(failed(briefWith((p) => (opportunity(p).csContribution = { healthScore: 55 })))).toEqual([
      'expansionOpportunities.0.csContribution.healthScore',
    ]);
    expect(failed(briefWith((p) => delete opportunity(p).csContribution))).toEqual([
      'expansionOpportunities.0.csContribution.healthScore',
      'expansionOpportunities.0.csContribution',
    ]);
    expect(failed(briefWith((p) => (forecast(p).expansionPotential = '400000')))).toEqual([
      'renewalForecast.expansionPotential',
    ]);
  });
});

const hub = useTestSubgraph(subgraph);

function sqlOf(client: unknown): SqlExecutor {
  const prisma = client as { $queryRawUnsafe<T>(sql: string, ...params: unknown[]): Promise<T[]> };
  return { query: (sql, ...params) => prisma.$queryRawUnsafe(sql, ...params) };
}

describe('sales sync declaration: consistency facts from the store', () => {
  it('loads the stored owners of every opportunity of a batch in one query, per tenant', async () => {
    const db = sqlOf(hub.store.client);
    const stored = await db.query<{ id: string; customerId: string }>(
      `SELECT "id", "customerId" FROM "ExpansionOpportunity" WHERE "tenantId" = 'acme' ORDER BY "id" LIMIT 2`,
    );
    const [a, b] = stored;
    if (!a || !b) throw new Error('the demo data has fewer than two opportunities');
    const same = briefWith((p) => {
      p.customerId = a.customerId;
      opportunity(p).opportunityId = a.id;
    });
    const moved = briefWith((p) => {
      p.customerId = b.customerId === a.customerId ? 'cust_99999' : b.customerId;
      opportunity(p).opportunityId = a.id;
    });
    const fresh = briefWith((p) => (opportunity(p).opportunityId = 'exp_not_stored'));
    let statements = 0;
    const counting: SqlExecutor = { query: (sql, ...params) => (statements++, db.query(sql, ...params)) };
    const facts = (await pipeline.quality.loadFacts?.(counting, 'acme', [same, moved, fresh])) as SalesFacts;
    expect(statements).toBe(1);
    expect(facts.opportunityCustomer).toEqual(new Map([[a.id, a.customerId]]));
    const consistency = (p: SalesPipelineSyncInput) => pipeline.quality.consistency?.(p, facts) ?? [];
    expect(consistency(same)).toEqual([{ field: 'expansionOpportunities.0.opportunityId', ok: true }]);
    // The same CRM id reported for another customer disagrees with the store.
    expect(consistency(moved)).toEqual([{ field: 'expansionOpportunities.0.opportunityId', ok: false }]);
    expect(consistency(fresh)).toEqual([]);
    const globex = (await pipeline.quality.loadFacts?.(db, 'globex', [same])) as SalesFacts;
    expect(globex.opportunityCustomer.size).toBe(0);
  });
});
