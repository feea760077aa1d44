import { acme, globex, gql, type Page, useTestSubgraph, walkPages } from '@hub/core/testing';
import { describe, expect, it } from 'vitest';
import { subgraph } from '../src/server.js';

interface Entry {
  stage: string;
  entryDate: string;
  exitDate: string | null;
  current: boolean;
  successMetrics: { completionRate: number } | null;
  progressIndicators: { featureAdoption: number } | null;
}

interface Journey {
  customer: { id: string };
  currentStage: string;
  stageSince: string;
  stageHistory: Entry[];
  nextStagePrediction: { targetStage: string; readinessScore: number } | null;
}

const ids = (from: number, count: number) =>
  Array.from({ length: count }, (_, i) => `cust_${String(from + i).padStart(5, '0')}`);
const ENTITIES = /* GraphQL */ `
  query ($r: [_Any!]!) {
    _entities(representations: $r) {
      ... on Customer {
        id
        segment
        journey {
          currentStage
          stageHistory {
            stage
            entryDate
            current
          }
          nextStagePrediction {
            targetStage
          }
        }
        attribution {
          campaignContribution
          crossChannelImpact
          successCorrelation
        }
        campaigns(first: 20) {
          totalCount
          edges {
            node {
              openRate
              campaign {
                id
                name
              }
              customer {
                id
              }
            }
          }
        }
      }
    }
  }
`;

const hub = useTestSubgraph(subgraph);

async function data<T>(query: string, variables: Record<string, unknown>, viewer = acme): Promise<T> {
  const res = await gql<T>(hub.url, query, variables, viewer);
  expect(res.errors).toBeUndefined();
  if (!res.data) throw new Error('no data');
  return res.data;
}

/** A campaign (id) or a journey (customer id), as the list walk selects them. */
type ListNode = { id?: string; customer?: { id: string } };

async function walk(
  field: 'campaigns' | 'journeys',
  first: number,
  filter: Record<string, unknown> | null = null,
  viewer = acme,
) {
  const query = `query($first: Int, $after: String, $filter: ${field === 'campaigns' ? 'CampaignFilter' : 'JourneyFilter'}) {
      ${field}(first: $first, after: $after, filter: $filter) {
        edges { cursor node { ${field === 'campaigns' ? 'id' : 'customer { id }'} } }
        pageInfo { hasNextPage hasPreviousPage endCursor } totalCount } }`;
  const { nodes, totalCount } = await walkPages<ListNode>(hub.url, query, field, {
    first,
    viewer,
    variables: { filter },
  });
  return { seen: nodes.map((node) => node.id ?? node.customer?.id ?? ''), totalCount };
}

describe('marketing subgraph: lists', () => {
  it('walks every journey of a tenant page by page without duplicates or gaps', async () => {
    const { seen, totalCount } = await walk('journeys', 70);
    expect(totalCount).toBe(300);
    expect(seen).toHaveLength(300);
    expect(new Set(seen)).toEqual(new Set(ids(1, 300)));
  });

  it('walks the campaigns of a tenant (6–10 seeded) with first/after', async () => {
    const { seen, totalCount } = await walk('campaigns', 3);
    expect(totalCount).toBeGreaterThanOrEqual(6);
    expect(totalCount).toBeLessThanOrEqual(10);
    expect(seen).toHaveLength(totalCount);
    expect(new Set(seen).size).toBe(totalCount);
  });

  it('filters journeys by current stage; the stages partition the tenant', async () => {
    let sum = 0;
    for (const stage of ['ONBOARDING', 'ADOPTION', 'EXPANSION', 'ADVOCACY', 'RENEWAL', 'AT_RISK']) {
      const res = await data<{ journeys: Page<{ currentStage: string }> }>(
        'query($s: JourneyStage) { journeys(first: 500, filter: { stage: $s }) { totalCount edges { node { currentStage } } } }',
        { s: stage },
      );
      expect(res.journeys.edges.every(({ node }) => node.currentStage === stage)).toBe(true);
      expect(res.journeys.totalCount).toBe(res.journeys.edges.length);
      sum += res.journeys.totalCount;
    }
    expect(sum).toBe(300);
  });

  it('filters campaigns by type, target segment and case-insensitive search', async () => {
    const query =
      'query($f: CampaignFilter) { campaigns(first: 50, filter: $f) { totalCount edges { node { id name campaignType targetSegment } } } }';
    type C = { id: string; name: string; campaignType: string; targetSegment: string };
    const byType = await data<{ campaigns: Page<C> }>(query, { f: { campaignType: 'RETENTION' } });
    expect(byType.campaigns.totalCount).toBeGreaterThan(0);
    expect(byType.campaigns.edges.every(({ node }) => node.campaignType === 'RETENTION')).toBe(true);
    const bySegment = await data<{ campaigns: Page<C> }>(query, { f: { targetSegment: 'at_risk_customers' } });
    expect(bySegment.campaigns.edges.map(({ node }) => node.id)).toContain('camp_retention_q4');
    expect(bySegment.campaigns.edges.every(({ node }) => node.targetSegment === 'at_risk_customers')).toBe(true);
    const bySearch = await data<{ campaigns: Page<C> }>(query, { f: { search: 'q4 RETENTION' } });
    expect(bySearch.campaigns.edges.map(({ node }) => node.name)).toEqual(['Q4 Retention Push']);
    const none = await data<{ campaigns: Page<C> }>(query, {
      f: { campaignType: 'WINBACK', search: 'no such campaign' },
    });
    expect(none.campaigns).toMatchObject({ totalCount: 0, edges: [] });
  });

  it('rejects a page size above 500 as BAD_USER_INPUT naming `first`', async () => {
    const res = await gql(hub.url, '{ campaigns(first: 501) { totalCount } }', {}, acme);
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'first' });
  });

  it('aggregates a campaign’s results over the customers it reached', async () => {
    const res = await data<{ campaign: { results: { customerCount: number; openRate: number | null } } | null }>(
      '{ campaign(id: "camp_retention_q4") { results { customerCount openRate clickRate conversionRate retentionImpact } } }',
      {},
    );
    expect(res.campaign?.results.customerCount).toBeGreaterThan(0);
    expect(res.campaign?.results.openRate).toBeGreaterThan(0);
    expect(res.campaign?.results.openRate).toBeLessThanOrEqual(1);
  });
});

describe('marketing subgraph: Customer fields', () => {
  it('every seeded customer has a journey whose history ends in exactly one current stage', async () => {
    const res = await data<{ _entities: ({ id: string; segment: string | null; journey: Journey | null } | null)[] }>(
      ENTITIES.replace(
        'journey {',
        'journey { customer { id } currentStage stageSince nextStagePrediction { readinessScore } stageHistory { exitDate successMetrics { completionRate } progressIndicators { featureAdoption } } ',
      ),
      { r: ids(1, 100).map((id) => ({ __typename: 'Customer', id })) },
    );
    for (const customer of res._entities) {
      const journey = customer?.journey;
      if (!journey) throw new Error(`no journey for ${customer?.id}`);
      expect(customer.segment).toMatch(/^[a-z_]+$/);
      const history = journey.stageHistory;
      expect(history.filter((entry) => entry.current)).toHaveLength(1);
      const last = history[history.length - 1];
      expect(last).toMatchObject({
        current: true,
        exitDate: null,
        stage: journey.currentStage,
        entryDate: journey.stageSince,
      });
      expect(last?.progressIndicators).not.toBeNull();
      for (let i = 1; i < history.length; i++) {
        expect(history[i - 1]?.exitDate).toBe(history[i]?.entryDate);
        expect(history[i - 1]?.successMetrics).not.toBeNull();
      }
      expect(journey.nextStagePrediction?.readinessScore).toBeGreaterThanOrEqual(0);
    }
  });

  it('pages a customer’s campaign results one at a time', async () => {
    const all = await data<{ _entities: { id: string; campaigns: { totalCount: number } }[] }>(ENTITIES, {
      r: ids(1, 60).map((id) => ({ __typename: 'Customer', id })),
    });
    const busy = all._entities.find((customer) => customer.campaigns.totalCount >= 2);
    if (!busy) throw new Error('seed gave no customer two campaigns');
    const query =
      'query($r: [_Any!]!, $after: String) { _entities(representations: $r) { ... on Customer { campaigns(first: 1, after: $after) { edges { node { id } } pageInfo { hasNextPage endCursor } } } } }';
    const seen: string[] = [];
    let after: string | null = null;
    for (;;) {
      const res: { _entities: { campaigns: Page<{ id: string }> }[] } = await data(query, {
        r: [{ __typename: 'Customer', id: busy.id }],
        after,
      });
      const page = res._entities[0]?.campaigns;
      if (!page) throw new Error('no page');
      seen.push(...page.edges.map(({ node }) => node.id));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(seen).toHaveLength(busy.campaigns.totalCount);
    expect(new Set(seen).size).toBe(seen.length);
  });
});

describe('marketing subgraph: tenant isolation', () => {
  it('a globex viewer gets nothing of acme customers through _entities, and only its own journeys in lists', async () => {
    const res = await data<{ _entities: unknown[] }>(
      ENTITIES,
      { r: [{ __typename: 'Customer', id: 'cust_00001' }] },
      globex,
    );
    expect(res._entities).toEqual([
      { id: 'cust_00001', segment: null, journey: null, attribution: null, campaigns: { totalCount: 0, edges: [] } },
    ]);
    const { seen } = await walk('journeys', 500, null, globex);
    expect(new Set(seen)).toEqual(new Set(ids(301, 200)));
  });

  it('the same campaign id in two tenants is two campaigns, each reporting only its own customers', async () => {
    const query = '{ campaign(id: "camp_retention_q4") { id results { customerCount } } }';
    type R = { campaign: { results: { customerCount: number } } | null };
    const [a, g] = [await data<R>(query, {}, acme), await data<R>(query, {}, globex)];
    const perTenant = async (viewer: typeof acme, from: number, count: number) => {
      const res = await data<{ _entities: { campaigns: { edges: { node: { campaign: { id: string } } }[] } }[] }>(
        ENTITIES,
        {
          r: ids(from, count).map((id) => ({ __typename: 'Customer', id })),
        },
        viewer,
      );
      return res._entities
        .flatMap((c) => c.campaigns.edges)
        .filter(({ node }) => node.campaign.id === 'camp_retention_q4').length;
    };
    expect(a.campaign?.results.customerCount).toBe(await perTenant(acme, 1, 300));
    expect(g.campaign?.results.customerCount).toBe(await perTenant(globex, 301, 200));
  });

  it('refuses a request without the gateway signature', async () => {
    const res = await gql(hub.url, '{ campaigns { totalCount } }', {}, null);
    expect(res.status).toBe(401);
    expect(res.errors?.[0]?.extensions?.['code']).toBe('UNAUTHENTICATED');
  });
});

describe('marketing subgraph: batching', () => {
  it('resolves 50 _entities with journey, history, segment, attribution and campaigns in one statement per table', async () => {
    let res: Awaited<ReturnType<typeof gql<{ _entities: ({ id: string } | null)[] }>>> | undefined;
    const counts = await hub.countStatements(async () => {
      res = await gql(hub.url, ENTITIES, { r: ids(1, 50).map((id) => ({ __typename: 'Customer', id })) }, acme);
    });
    expect(res?.errors).toBeUndefined();
    expect(res?.data?._entities.filter(Boolean)).toHaveLength(50);
    expect(counts).toEqual({
      CustomerJourney: 1,
      JourneyStageEntry: 1,
      CustomerSegment: 1,
      AttributionAnalysis: 1,
      CampaignPerformance: 1,
      Campaign: 1,
    });
  });

  it('lists campaigns with their results in one statement for the page and one for all results', async () => {
    const counts = await hub.countStatements(() =>
      gql(hub.url, '{ campaigns(first: 10) { edges { node { id results { customerCount openRate } } } } }', {}, acme),
    );
    expect(counts).toEqual({ Campaign: 1, CampaignPerformance: 1 });
  });
});
