import { describe, expect, it } from 'vitest';
import { acme, gql, useTestSubgraph } from '@hub/core/testing';
import { subgraph } from '../src/server.js';
import { ENTITIES, RECORD, usageInput } from './fixtures.js';

const hub = useTestSubgraph(subgraph);

describe('product subgraph: writes', () => {
  it('records usage as an upsert on customer, period and feature', async () => {
    const first = await gql<{ recordFeatureUsage: { id: string; usageCount: number } }>(
      hub.url,
      RECORD,
      { input: usageInput },
      acme,
    );
    expect(first.errors).toBeUndefined();
    expect(first.data?.recordFeatureUsage).toMatchObject({
      usageCount: 45,
      adoptionScore: 0.85,
      periodStart: '2025-12-01',
      periodEnd: '2025-12-31',
    });
    const again = await gql<{ recordFeatureUsage: { id: string; usageCount: number } }>(
      hub.url,
      RECORD,
      { input: { ...usageInput, usageCount: 50 } },
      acme,
    );
    expect(again.data?.recordFeatureUsage.id).toBe(first.data?.recordFeatureUsage.id);
    expect(again.data?.recordFeatureUsage.usageCount).toBe(50);
    // The new period is now the customer's latest.
    const latest = await gql<{ _entities: { usage: { feature: string; periodStart: string }[] }[] }>(
      hub.url,
      ENTITIES,
      { reps: [{ __typename: 'Customer', id: 'cust_00002' }] },
      acme,
    );
    expect(latest.data?._entities[0]?.usage).toEqual([
      expect.objectContaining({ feature: 'email_campaigns', periodStart: '2025-12-01' }),
    ]);
  });

  it.each([
    [{ adoptionScore: 1.5 }, 'input.adoptionScore'],
    [{ successCorrelation: -0.1 }, 'input.successCorrelation'],
    [{ usageCount: -1 }, 'input.usageCount'],
    [{ periodEnd: '2025-11-30' }, 'input.periodEnd'],
    [{ feature: '  ' }, 'input.feature'],
  ])('rejects invalid usage %j with BAD_USER_INPUT naming %s', async (change, field) => {
    const res = await gql(hub.url, RECORD, { input: { ...usageInput, ...change } }, acme);
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
    expect(res.errors?.[0]?.message).toContain(field);
  });

  it('rejects invalid adoption metrics and filters naming the field', async () => {
    const res = await gql(
      hub.url,
      `mutation { recordAdoptionMetrics(input: { customerId: "cust_00002", periodStart: "2025-12-01", periodEnd: "2025-12-31",
        overallAdoptionRate: 0.7, featureDiscoveryRate: 0.4, activationTimeDays: 14, maturityLevel: INTERMEDIATE,
        highUsageHealth: 0.88, featureCompleteness: 1.65, roiAchievement: 0.92 }) { id } }`,
      {},
      acme,
    );
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.featureCompleteness' });
    const filter = await gql(
      hub.url,
      `query { adoptionMetrics(filter: { minAdoptionRate: 2 }) { totalCount } }`,
      {},
      acme,
    );
    expect(filter.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'filter.minAdoptionRate' });
  });
});
