import { acme, expectError, globex, gql, useTestSubgraph } from '@hub/core/testing';
import { describe, expect, it } from 'vitest';
import { subgraph } from '../src/server.js';

const CREATE = /* GraphQL */ `
  mutation ($input: CreateCampaignInput!) {
    createCampaign(input: $input) {
      id
      name
      campaignType
      targetSegment
      startsAt
      endsAt
      sourceSystem
      results {
        customerCount
      }
    }
  }
`;
const UPDATE =
  'mutation($id: ID!, $input: UpdateCampaignInput!) { updateCampaign(id: $id, input: $input) { id name endsAt } }';
const PERFORMANCE = /* GraphQL */ `
  mutation ($input: RecordCampaignPerformanceInput!) {
    recordCampaignPerformance(input: $input) {
      id
      openRate
      clickRate
      conversionRate
      retentionImpact
      campaign {
        id
      }
      customer {
        id
      }
    }
  }
`;

const hub = useTestSubgraph(subgraph);

describe('marketing mutations: campaigns', () => {
  it('creates a campaign, finds it by id; the same campaign again replays, the same id with other fields is a CONFLICT', async () => {
    const input = {
      id: 'camp_spring_upsell',
      name: '  Spring Upsell  ',
      campaignType: 'EXPANSION',
      targetSegment: 'high_value_growth',
      startsAt: '2026-03-01T00:00:00Z',
      endsAt: '2026-04-01T00:00:00Z',
      sourceSystem: 'hubspot',
    };
    const res = await gql(hub.url, CREATE, { input }, acme);
    expect(res.errors).toBeUndefined();
    expect(res.data?.['createCampaign']).toEqual({
      ...input,
      name: 'Spring Upsell',
      startsAt: '2026-03-01T00:00:00.000Z',
      endsAt: '2026-04-01T00:00:00.000Z',
      results: { customerCount: 0 },
    });
    const found = await gql(hub.url, '{ campaign(id: "camp_spring_upsell") { name } }', {}, acme);
    expect(found.data).toEqual({ campaign: { name: 'Spring Upsell' } });
    const replay = await gql(hub.url, CREATE, { input }, acme);
    expect(replay.errors).toBeUndefined();
    expect(replay.data).toEqual(res.data);
    expectError(await gql(hub.url, CREATE, { input: { ...input, name: 'Another' } }, acme), 'CONFLICT');
    // A repeated idempotency key answers the first call's campaign, whatever the second call says.
    const keyed = { ...input, id: 'camp_keyed', idempotencyKey: 'create-camp-keyed' };
    const first = await gql(hub.url, CREATE, { input: keyed }, acme);
    expect(first.errors).toBeUndefined();
    const again = await gql(hub.url, CREATE, { input: { ...keyed, id: undefined, name: 'Renamed' } }, acme);
    expect(again.errors).toBeUndefined();
    expect(again.data).toEqual(first.data);
    const count = await gql(hub.url, '{ campaigns(filter: { search: "Spring Upsell" }) { totalCount } }', {}, acme);
    expect(count.data).toEqual({ campaigns: { totalCount: 2 } });
  });

  it('generates an id when none is given', async () => {
    const res = await gql<{ createCampaign: { id: string } }>(
      hub.url,
      CREATE,
      {
        input: { name: 'Ad hoc', campaignType: 'WINBACK', targetSegment: 'at_risk_customers' },
      },
      acme,
    );
    expect(res.data?.createCampaign.id).toMatch(/^camp_[0-9a-f]{12}$/);
  });

  it('rejects invalid campaign input with BAD_USER_INPUT naming the field', async () => {
    const base = { name: 'X', campaignType: 'RETENTION', targetSegment: 'at_risk_customers' };
    expectError(await gql(hub.url, CREATE, { input: { ...base, name: '   ' } }, acme), 'BAD_USER_INPUT', 'input.name');
    expectError(
      await gql(hub.url, CREATE, { input: { ...base, targetSegment: 'At Risk!' } }, acme),
      'BAD_USER_INPUT',
      'input.targetSegment',
    );
    expectError(
      await gql(hub.url, CREATE, { input: { ...base, id: 'has spaces' } }, acme),
      'BAD_USER_INPUT',
      'input.id',
    );
    expectError(
      await gql(
        hub.url,
        CREATE,
        { input: { ...base, startsAt: '2026-02-01T00:00:00Z', endsAt: '2026-01-01T00:00:00Z' } },
        acme,
      ),
      'BAD_USER_INPUT',
      'input.endsAt',
    );
  });

  it('updates a campaign, keeping omitted fields, and checks endsAt against the stored start', async () => {
    const res = await gql(hub.url, UPDATE, { id: 'camp_retention_q4', input: { name: 'Q4 Retention Push v2' } }, acme);
    expect(res.errors).toBeUndefined();
    expect(res.data?.['updateCampaign']).toMatchObject({ id: 'camp_retention_q4', name: 'Q4 Retention Push v2' });
    const early = await gql(
      hub.url,
      UPDATE,
      { id: 'camp_retention_q4', input: { endsAt: '2000-01-01T00:00:00Z' } },
      acme,
    );
    expectError(early, 'BAD_USER_INPUT', 'input.endsAt');
    expectError(
      await gql(hub.url, UPDATE, { id: 'camp_retention_q4', input: { campaignType: null } }, acme),
      'BAD_USER_INPUT',
      'input.campaignType',
    );
  });

  it('answers NOT_FOUND for an unknown campaign and for another tenant’s campaign', async () => {
    await gql(
      hub.url,
      CREATE,
      { input: { id: 'camp_acme_only', name: 'Acme only', campaignType: 'ADVOCACY', targetSegment: 'advocates' } },
      acme,
    );
    expectError(await gql(hub.url, UPDATE, { id: 'camp_nope', input: { name: 'x' } }, acme), 'NOT_FOUND');
    expectError(await gql(hub.url, UPDATE, { id: 'camp_acme_only', input: { name: 'stolen' } }, globex), 'NOT_FOUND');
    const read = await gql(
      hub.url,
      '{ campaign(id: "camp_acme_only") { id } campaigns(filter: { search: "acme only" }) { totalCount } }',
      {},
      globex,
    );
    expect(read.data).toEqual({ campaign: null, campaigns: { totalCount: 0 } });
    const perf = await gql(
      hub.url,
      PERFORMANCE,
      {
        input: {
          campaignId: 'camp_acme_only',
          customerId: 'cust_00301',
          openRate: 0.5,
          clickRate: 0.2,
          conversionRate: 0.1,
          retentionImpact: 0.1,
        },
      },
      globex,
    );
    expectError(perf, 'NOT_FOUND');
    const acmeView = await gql(hub.url, '{ campaign(id: "camp_acme_only") { name } }', {}, acme);
    expect(acmeView.data).toEqual({ campaign: { name: 'Acme only' } });
  });
});

describe('marketing mutations: campaign performance', () => {
  const input = {
    campaignId: 'camp_spring_upsell',
    customerId: 'cust_00002',
    openRate: 0.45,
    clickRate: 0.23,
    conversionRate: 0.15,
    retentionImpact: 0.18,
  };

  it('records performance and replaces it when the same pair is reported again', async () => {
    const first = await gql<{ recordCampaignPerformance: { id: string } }>(hub.url, PERFORMANCE, { input }, acme);
    expect(first.errors).toBeUndefined();
    expect(first.data?.recordCampaignPerformance).toMatchObject({
      openRate: 0.45,
      clickRate: 0.23,
      conversionRate: 0.15,
      retentionImpact: 0.18,
      campaign: { id: 'camp_spring_upsell' },
      customer: { id: 'cust_00002' },
    });
    const second = await gql<{ recordCampaignPerformance: { id: string; openRate: number } }>(
      hub.url,
      PERFORMANCE,
      { input: { ...input, openRate: 0.6 } },
      acme,
    );
    expect(second.data?.recordCampaignPerformance).toMatchObject({
      id: first.data?.recordCampaignPerformance.id,
      openRate: 0.6,
    });
    const results = await gql(
      hub.url,
      '{ campaign(id: "camp_spring_upsell") { results { customerCount openRate } } }',
      {},
      acme,
    );
    expect(results.data).toEqual({ campaign: { results: { customerCount: 1, openRate: 0.6 } } });
  });

  it.each(['openRate', 'clickRate', 'conversionRate', 'retentionImpact'])(
    'rejects %s outside [0, 1] naming the field',
    async (field) => {
      expectError(
        await gql(hub.url, PERFORMANCE, { input: { ...input, [field]: 1.5 } }, acme),
        'BAD_USER_INPUT',
        `input.${field}`,
      );
      expectError(
        await gql(hub.url, PERFORMANCE, { input: { ...input, [field]: -0.1 } }, acme),
        'BAD_USER_INPUT',
        `input.${field}`,
      );
    },
  );

  it('answers NOT_FOUND for an unknown campaign', async () => {
    expectError(
      await gql(hub.url, PERFORMANCE, { input: { ...input, campaignId: 'camp_missing' } }, acme),
      'NOT_FOUND',
    );
  });
});
