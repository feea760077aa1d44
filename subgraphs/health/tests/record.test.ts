import { acme, errorOf, expectError, globex, gql, useTestSubgraph } from '@hub/core/testing';
import { describe, expect, it } from 'vitest';
import { subgraph } from '../src/server.js';

const RECORD = /* GraphQL */ `
  mutation ($input: RecordHealthScoreInput!) {
    recordHealthScore(input: $input) {
      customerId
      score
      syncTimestamp
      dataQualityScore
      metrics {
        usageScore
        engagementScore
        supportSatisfaction
        paymentStatus
      }
      trend {
        thirtyDayChange
        riskIndicators
        improvementAreas
      }
      domainImpacts {
        marketing {
          campaignTriggers
          segment
        }
        sales {
          expansionOpportunities
          renewalConfidence
        }
        product {
          featureAdoptionFocus
          betaInterests
        }
      }
    }
  }
`;
const READ = /* GraphQL */ `
  query ($r: [_Any!]!) {
    _entities(representations: $r) {
      ... on Customer {
        health {
          score
        }
        healthHistory(first: 50) {
          totalCount
          edges {
            node {
              score
              recordedAt
            }
          }
        }
      }
    }
  }
`;

/** The brief's customer_health_sync example, as a mutation input. */
const BRIEF_PAYLOAD = {
  customerId: 'cust_00010',
  score: 88,
  usageScore: 85,
  engagementScore: 78,
  supportSatisfaction: 92,
  paymentStatus: 'CURRENT',
  thirtyDayChange: 5,
  riskIndicators: [],
  improvementAreas: ['feature_adoption'],
  campaignTriggers: ['expansion_ready'],
  segment: 'high_value_growth',
  expansionOpportunities: ['premium_upgrade'],
  renewalConfidence: 0.95,
  featureAdoptionFocus: ['advanced_analytics'],
  betaInterests: ['ai_insights'],
  syncTimestamp: '2025-12-05T08:21:00.000Z',
  dataQualityScore: 0.98,
  // An external CS platform: health-engine is the computed fields' owner, and no caller may claim it.
  sourceSystem: 'gainsight',
};

const hub = useTestSubgraph(subgraph);

type Entity = {
  health: { score: number } | null;
  healthHistory: { totalCount: number; edges: { node: { score: number; recordedAt: string } }[] };
};

async function read(viewer: typeof acme, id: string): Promise<Entity | undefined> {
  const res = await gql<{ _entities: Entity[] }>(hub.url, READ, { r: [{ __typename: 'Customer', id }] }, viewer);
  return res.data?._entities[0];
}

describe('health subgraph: recordHealthScore', () => {
  it('stores the brief’s payload as the current score of a customer the engine never computed, and appends one snapshot', async () => {
    const customerId = await hub.createCustomer(acme, 'Uncomputed Ltd');
    const before = await read(acme, customerId);
    const res = await gql(hub.url, RECORD, { input: { ...BRIEF_PAYLOAD, customerId } }, acme);
    expect(res.errors).toBeUndefined();
    expect(res.data).toEqual({
      recordHealthScore: {
        customerId,
        score: 88,
        syncTimestamp: '2025-12-05T08:21:00.000Z',
        dataQualityScore: 0.98,
        metrics: { usageScore: 85, engagementScore: 78, supportSatisfaction: 92, paymentStatus: 'CURRENT' },
        trend: { thirtyDayChange: 5, riskIndicators: [], improvementAreas: ['feature_adoption'] },
        domainImpacts: {
          marketing: { campaignTriggers: ['expansion_ready'], segment: 'high_value_growth' },
          sales: { expansionOpportunities: ['premium_upgrade'], renewalConfidence: 0.95 },
          product: { featureAdoptionFocus: ['advanced_analytics'], betaInterests: ['ai_insights'] },
        },
      },
    });
    const after = await read(acme, customerId);
    expect(after?.health?.score).toBe(88);
    expect(after?.healthHistory.totalCount).toBe((before?.healthHistory.totalCount ?? 0) + 1);
    expect(after?.healthHistory.edges.at(-1)?.node).toEqual({ score: 88, recordedAt: '2025-12-05T08:21:00.000Z' });
  });

  it('never replaces what health-engine computed: its owned fields keep the engine’s values', async () => {
    // cust_00010's seeded score was written by health-engine (seed.ts): the recorded one loses every field.
    const before = await read(acme, 'cust_00010');
    const res = await gql<{ recordHealthScore: { score: number } }>(
      hub.url,
      RECORD,
      { input: { ...BRIEF_PAYLOAD, score: 3, usageScore: 3 } },
      acme,
    );
    expect(res.errors).toBeUndefined();
    expect(res.data?.recordHealthScore.score).toBe(before?.health?.score);
    expect((await read(acme, 'cust_00010'))?.health).toEqual(before?.health);
  });

  it('is refused to a cs_manager: health is computed, people do not type it in', async () => {
    const manager = { ...acme, roles: ['cs_manager' as const], book: ['u5'] }; // u5 owns cust_00011
    const res = await gql(hub.url, RECORD, { input: { ...BRIEF_PAYLOAD, customerId: 'cust_00011' } }, manager);
    expect(res.errors?.[0]?.extensions?.['code']).toBe('FORBIDDEN');
  });

  it('creates the first score of a customer that had none', async () => {
    const customerId = await hub.createCustomer(acme, 'Brand New Ltd');
    const res = await gql(hub.url, RECORD, { input: { ...BRIEF_PAYLOAD, customerId, score: 40 } }, acme);
    expect(res.errors).toBeUndefined();
    expect(await read(acme, customerId)).toMatchObject({
      health: { score: 40 },
      healthHistory: { totalCount: 1 },
    });
  });

  it.each([
    ['score', { score: 101 }],
    ['usageScore', { usageScore: -1 }],
    ['supportSatisfaction', { supportSatisfaction: 120 }],
    ['thirtyDayChange', { thirtyDayChange: 150 }],
    ['renewalConfidence', { renewalConfidence: 1.5 }],
    ['dataQualityScore', { dataQualityScore: -0.1 }],
    ['riskIndicators.1', { riskIndicators: ['declining_usage', '  '] }],
    ['customerId', { customerId: 'acme-42' }],
    ['syncTimestamp', { syncTimestamp: '2999-01-01T00:00:00Z' }],
  ])('rejects an out-of-range input.%s as BAD_USER_INPUT and writes nothing', async (field, patch) => {
    const res = await gql(hub.url, RECORD, { input: { ...BRIEF_PAYLOAD, customerId: 'cust_00011', ...patch } }, acme);
    expect(errorOf(res)).toMatchObject({ code: 'BAD_USER_INPUT', field: `input.${field}` });
    const entity = await read(acme, 'cust_00011');
    expect(entity?.healthHistory.totalCount).toBe(6);
  });

  it('a globex viewer writing an acme customer id never touches acme’s score', async () => {
    const before = await read(acme, 'cust_00012');
    const res = await gql(hub.url, RECORD, { input: { ...BRIEF_PAYLOAD, customerId: 'cust_00012', score: 1 } }, globex);
    expectError(res, 'NOT_FOUND');
    expect(await read(acme, 'cust_00012')).toEqual(before);
    expect((await read(globex, 'cust_00012'))?.health ?? null).toBeNull();
  });
});
