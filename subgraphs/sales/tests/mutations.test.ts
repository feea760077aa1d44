import { acme, expectError, globex, gql, useTestSubgraph } from '@hub/core/testing';
import { describe, expect, it } from 'vitest';
import { subgraph } from '../src/server.js';

const FIELDS =
  'id customer { id } ownerId type value probability weightedValue timeline stage successFactors csContribution { healthScore successEvidence riskMitigation } sourceSystem';
const CREATE = `mutation($input: CreateOpportunityInput!) { createOpportunity(input: $input) { ${FIELDS} } }`;
const UPDATE = `mutation($id: ID!, $input: UpdateOpportunityInput!) { updateOpportunity(id: $id, input: $input) { ${FIELDS} } }`;
const UPSERT = /* GraphQL */ `
  mutation ($input: UpsertRenewalForecastInput!) {
    upsertRenewalForecast(input: $input) {
      customer {
        id
      }
      renewalProbability
      contractValue
      expansionPotential
      renewalDate
      riskFactors
      successMitigation
      ownerId
    }
  }
`;

/** The brief's sales_pipeline_sync example, as a create input. */
const BRIEF_OPPORTUNITY = {
  id: 'exp_67890',
  customerId: 'cust_00010',
  ownerId: 'u4',
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
  csContribution: {
    healthScore: 88,
    successEvidence: ['achieved_roi_target', 'customer_testimonial', 'expansion_requested'],
    riskMitigation: ['proactive_success_planning', 'stakeholder_alignment', 'value_demonstration'],
  },
  sourceSystem: 'salesforce',
};

const hub = useTestSubgraph(subgraph);

describe('sales mutations: opportunities', () => {
  it('creates the brief’s opportunity and reads it back; the same one again replays, the same CRM id with other fields is a CONFLICT', async () => {
    const res = await gql(hub.url, CREATE, { input: BRIEF_OPPORTUNITY }, acme);
    expect(res.errors).toBeUndefined();
    const { customerId: _customerId, ...rest } = BRIEF_OPPORTUNITY;
    expect(res.data?.['createOpportunity']).toEqual({
      ...rest,
      customer: { id: 'cust_00010' },
      value: '75000.00',
      weightedValue: '56250.00',
      stage: 'IDENTIFIED',
    });
    const read = await gql(hub.url, '{ opportunity(id: "exp_67890") { value } }', {}, acme);
    expect(read.data).toEqual({ opportunity: { value: '75000.00' } });
    const replay = await gql(hub.url, CREATE, { input: BRIEF_OPPORTUNITY }, acme);
    expect(replay.errors).toBeUndefined();
    expect(replay.data).toEqual(res.data);
    expectError(await gql(hub.url, CREATE, { input: { ...BRIEF_OPPORTUNITY, value: '1' } }, acme), 'CONFLICT');
  });

  it('CRM ids are per tenant: globex may use the same id without seeing or touching acme’s', async () => {
    const res = await gql(
      hub.url,
      CREATE,
      { input: { ...BRIEF_OPPORTUNITY, customerId: 'cust_00301', value: '1000' } },
      globex,
    );
    expect(res.errors).toBeUndefined();
    const [a, g] = await Promise.all([
      gql(hub.url, '{ opportunity(id: "exp_67890") { value customer { id } } }', {}, acme),
      gql(hub.url, '{ opportunity(id: "exp_67890") { value customer { id } } }', {}, globex),
    ]);
    expect(a.data).toEqual({ opportunity: { value: '75000.00', customer: { id: 'cust_00010' } } });
    expect(g.data).toEqual({ opportunity: { value: '1000.00', customer: { id: 'cust_00301' } } });
  });

  it('generates an id when none is given', async () => {
    const { id: _id, ...input } = BRIEF_OPPORTUNITY;
    const res = await gql<{ createOpportunity: { id: string } }>(hub.url, CREATE, { input }, acme);
    expect(res.data?.createOpportunity.id).toMatch(/^exp_[0-9a-f]{12}$/);
  });

  it('rejects invalid opportunity input with BAD_USER_INPUT naming the field', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ probability: 1.2 }, 'input.probability'],
      [{ probability: -0.01 }, 'input.probability'],
      [{ value: '-1' }, 'input.value'],
      [{ timeline: 'Q1-2026' }, 'input.timeline'],
      [{ timeline: 'q5_2026' }, 'input.timeline'],
      [{ csContribution: { healthScore: 101 } }, 'input.csContribution.healthScore'],
      [{ successFactors: ['ok_tag', 'Not A Tag'] }, 'input.successFactors[1]'],
      [{ ownerId: '' }, 'input.ownerId'],
      [{ sourceUpdatedAt: '2999-01-01T00:00:00Z' }, 'input.sourceUpdatedAt'],
    ];
    for (const [change, field] of cases) {
      expectError(
        await gql(hub.url, CREATE, { input: { ...BRIEF_OPPORTUNITY, id: 'exp_bad', ...change } }, acme),
        'BAD_USER_INPUT',
        field,
      );
    }
    const nothing = await gql(hub.url, '{ opportunity(id: "exp_bad") { id } }', {}, acme);
    expect(nothing.data).toEqual({ opportunity: null });
  });

  it('updates stage and probability, keeping the fields it was not given', async () => {
    const res = await gql(
      hub.url,
      UPDATE,
      { id: 'exp_67890', input: { stage: 'NEGOTIATION', probability: 0.9, csContribution: { healthScore: 92 } } },
      acme,
    );
    expect(res.errors).toBeUndefined();
    expect(res.data?.['updateOpportunity']).toMatchObject({
      stage: 'NEGOTIATION',
      probability: 0.9,
      value: '75000.00',
      timeline: 'q1_2026',
      csContribution: { healthScore: 92, successEvidence: BRIEF_OPPORTUNITY.csContribution.successEvidence },
    });
  });

  it('rejects invalid updates naming the field', async () => {
    expectError(
      await gql(hub.url, UPDATE, { id: 'exp_67890', input: { probability: null } }, acme),
      'BAD_USER_INPUT',
      'input.probability',
    );
    expectError(
      await gql(hub.url, UPDATE, { id: 'exp_67890', input: { probability: 2 } }, acme),
      'BAD_USER_INPUT',
      'input.probability',
    );
    expectError(
      await gql(hub.url, UPDATE, { id: 'exp_67890', input: { value: '-5' } }, acme),
      'BAD_USER_INPUT',
      'input.value',
    );
    expectError(
      await gql(hub.url, UPDATE, { id: 'exp_67890', input: { timeline: '2026' } }, acme),
      'BAD_USER_INPUT',
      'input.timeline',
    );
  });

  it('answers NOT_FOUND for an unknown opportunity and for another tenant’s', async () => {
    expectError(await gql(hub.url, UPDATE, { id: 'exp_nope', input: { stage: 'QUALIFIED' } }, acme), 'NOT_FOUND');
    const read = '{ opportunity(id: "exp_000011") { stage probability ownerId } }';
    const before = await gql(hub.url, read, {}, acme);
    expect(before.data?.['opportunity']).not.toBeNull();
    const attack = { stage: 'QUALIFIED', probability: 0.01, ownerId: 'intruder' };
    expectError(await gql(hub.url, UPDATE, { id: 'exp_000011', input: attack }, globex), 'NOT_FOUND');
    expect(await gql(hub.url, read, {}, acme)).toEqual(before);
  });
});

describe('sales mutations: renewal forecasts', () => {
  const input = {
    customerId: 'cust_00020',
    renewalProbability: 0.95,
    contractValue: '150000',
    expansionPotential: '50000',
    renewalDate: '2026-09-30',
    riskFactors: ['budget_cycle_timing', 'competitive_landscape'],
    successMitigation: ['value_demonstration_portfolio', 'executive_sponsorship', 'success_plan_execution'],
    ownerId: 'u2',
  };

  it('replaces a customer’s forecast, leaving one forecast per customer', async () => {
    const res = await gql(hub.url, UPSERT, { input }, acme);
    expect(res.errors).toBeUndefined();
    expect(res.data?.['upsertRenewalForecast']).toEqual({
      ...input,
      customerId: undefined,
      customer: { id: 'cust_00020' },
      contractValue: '150000.00',
      expansionPotential: '50000.00',
    });
    const count = await gql<{ renewals: { totalCount: number } }>(hub.url, '{ renewals { totalCount } }', {}, acme);
    expect(count.data?.renewals.totalCount).toBe(300);
  });

  it('refuses a forecast for a customer the tenant does not have, writing nothing', async () => {
    const res = await gql(hub.url, UPSERT, { input: { ...input, customerId: 'cust_new_9' } }, acme);
    expectError(res, 'NOT_FOUND');
    const count = await gql<{ renewals: { totalCount: number } }>(hub.url, '{ renewals { totalCount } }', {}, acme);
    expect(count.data?.renewals.totalCount).toBe(300);
  });

  it('rejects invalid forecasts naming the field', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ renewalProbability: 1.01 }, 'input.renewalProbability'],
      [{ contractValue: '-100' }, 'input.contractValue'],
      [{ expansionPotential: '-0.01' }, 'input.expansionPotential'],
      [{ riskFactors: ['Budget'] }, 'input.riskFactors[0]'],
    ];
    for (const [change, field] of cases) {
      expectError(await gql(hub.url, UPSERT, { input: { ...input, ...change } }, acme), 'BAD_USER_INPUT', field);
    }
  });

  it('a globex upsert for an acme customer id never changes acme’s forecast', async () => {
    const read =
      '{ _entities(representations: [{ __typename: "Customer", id: "cust_00030" }]) { ... on Customer { renewal { contractValue } } } }';
    const before = await gql(hub.url, read, {}, acme);
    const res = await gql(
      hub.url,
      UPSERT,
      { input: { ...input, customerId: 'cust_00030', contractValue: '1' } },
      globex,
    );
    expectError(res, 'NOT_FOUND');
    expect(await gql(hub.url, read, {}, acme)).toEqual(before);
  });
});
