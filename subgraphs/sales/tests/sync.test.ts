import type { SyncKind } from '@hub/core/sync/types';
import { rejection, sqlOf, syncBatch } from '@hub/core/sync/testing';
import { acme, gql, useTestSubgraph } from '@hub/core/testing';
import { describe, expect, it } from 'vitest';
import type { ExpansionOpportunitySyncInput, SalesPipelineSyncInput } from '../src/generated/resolvers-types.js';
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
      // The health consumer's rows (src/healthSignals.ts), one per customer.
      HealthSignal: { key: ['customerId'] },
    });
    expect([CRM, HEALTH_ENGINE, BILLING]).toEqual(['crm', 'health-engine', 'billing']);
  });

  it('offers only sales_pipeline_sync to the sync API; every mutation has its own mutation-only kind', () => {
    expect(sync.kinds.filter((k) => !k.mutationOnly).map((k) => k.name)).toEqual(['sales_pipeline_sync']);
    expect(sync.kinds.filter((k) => k.mutationOnly).map((k) => [k.name, k.mode ?? 'upsert'])).toEqual([
      ['create_opportunity', 'insert'],
      ['update_opportunity', 'update'],
      ['upsert_renewal_forecast', 'upsert'],
      ['health_signal', 'upsert'],
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
    const statements: string[] = [];
    const counting = sqlOf(hub.store.client, statements);
    const facts = (await pipeline.quality.loadFacts?.(counting, 'acme', [same, moved, fresh])) as SalesFacts;
    expect(statements).toHaveLength(1);
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

const OPPORTUNITY =
  '{ opportunity(id: "exp_sync_1") { stage probability csContribution { healthScore } customer { id } } }';

const syncSales = async (events: Record<string, unknown>[]) => (await syncBatch(hub.url, 'sales', events)).results;

describe('sales sync API: the brief’s payload through the pipeline', () => {
  const payload = (changes: Partial<ExpansionOpportunitySyncInput>, at: Date) =>
    briefWith((p) => {
      p.customerId = 'cust_00010';
      Object.assign(opportunity(p), { opportunityId: 'exp_sync_1', timeline: 'q1_2030', ...changes });
      p.syncTimestamp = at;
    });

  it('applies the brief’s payload once; the same payload again is a DUPLICATE; a bad one is REJECTED with its path', async () => {
    const at = new Date(Date.now() - 60_000);
    const [applied, duplicate, rejected] = await syncSales([
      { source: CRM, salesPipelineSync: payload({ stage: 'qualified' }, at) },
      { source: CRM, salesPipelineSync: payload({ stage: 'qualified' }, at) },
      { source: CRM, salesPipelineSync: payload({ probability: 2 }, at) },
    ]);
    expect(applied).toMatchObject({ outcome: 'APPLIED', conflicts: [] });
    // Required present, 4 of 5 optional (the brief names no renewal date); every soft check passes.
    expect(applied?.quality).toMatchObject({ completeness: 0.92, validity: 1, consistency: 1 });
    expect(duplicate).toMatchObject({ outcome: 'DUPLICATE', firstOutcome: 'APPLIED' });
    expect(rejected).toMatchObject({
      outcome: 'REJECTED',
      code: 'BAD_USER_INPUT',
      field: 'expansionOpportunities.0.probability',
    });
    const read = await gql(hub.url, OPPORTUNITY, {}, acme);
    expect(read.data).toEqual({
      opportunity: {
        stage: 'QUALIFIED',
        probability: 0.75,
        csContribution: { healthScore: 88 },
        customer: { id: 'cust_00010' },
      },
    });
  });

  it('the CRM owns the stage and the health engine the health score, whatever the time; other fields go to the latest', async () => {
    const later = new Date(Date.now() - 30_000);
    // A later push from another tool: its probability wins (latest time), its stage does not (the CRM's).
    const [merged] = await syncSales([
      { source: 'cs_platform', salesPipelineSync: payload({ stage: 'identified', probability: 0.6 }, later) },
    ]);
    expect(merged?.outcome).toBe('MERGED');
    expect(merged?.conflicts).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          model: 'ExpansionOpportunity',
          field: 'stage',
          rule: 'SYSTEM_OF_RECORD',
          winner: 'STORED',
        }),
        expect.objectContaining({
          model: 'ExpansionOpportunity',
          field: 'probability',
          rule: 'LATEST_SOURCE_TIME',
          winner: 'INCOMING',
        }),
      ]),
    );
    // The health engine's score wins over the earlier value even though it is older than it.
    const older = new Date(Date.now() - 120_000);
    const [health] = await syncSales([
      {
        source: HEALTH_ENGINE,
        salesPipelineSync: briefWith((p) => {
          p.customerId = 'cust_00010';
          delete p.renewalForecast;
          Object.assign(opportunity(p), {
            opportunityId: 'exp_sync_1',
            probability: 0.6,
            csContribution: { healthScore: 71 },
          });
          p.syncTimestamp = older;
        }),
      },
    ]);
    expect(health?.conflicts).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          model: 'ExpansionOpportunity',
          field: 'csHealthScore',
          rule: 'SYSTEM_OF_RECORD',
          winner: 'INCOMING',
        }),
      ]),
    );
    const read = await gql(hub.url, OPPORTUNITY, {}, acme);
    expect(read.data).toMatchObject({
      opportunity: { stage: 'QUALIFIED', probability: 0.6, csContribution: { healthScore: 71 } },
    });
  });

  it('scores a sparse payload lower, and an opportunity reported for another customer as inconsistent', async () => {
    const at = new Date(Date.now() - 10_000);
    const [sparse, moved] = await syncSales([
      {
        salesPipelineSync: {
          customerId: 'cust_00010',
          expansionOpportunities: [
            { opportunityId: 'exp_sync_2', type: 'add_on', value: '1000', probability: 0.5, timeline: 'q4_2030' },
          ],
          syncTimestamp: at,
        },
      },
      { salesPipelineSync: { ...payload({}, at), customerId: 'cust_00011' } },
    ]);
    // Required present (0.6) + 1 of 5 optional paths (0.4 x 0.2); the close quarter is ahead, but no
    // customer-success evidence: half the soft checks pass.
    expect(sparse?.quality).toMatchObject({ completeness: 0.68, validity: 0.5, consistency: 1 });
    expect(moved?.quality?.consistency).toBe(0);
  });
});
