import { acme, globex, gql, type Page, useTestSubgraph, walkPages } from '@hub/core/testing';
import { describe, expect, it } from 'vitest';
import { subgraph } from '../src/server.js';

interface HealthNode {
  customerId: string;
  score: number;
  metrics: { paymentStatus: string };
  trend: { riskIndicators: string[] };
}

const SCORES = /* GraphQL */ `
  query ($first: Int, $after: String, $filter: HealthScoreFilter) {
    healthScores(first: $first, after: $after, filter: $filter) {
      edges {
        cursor
        node {
          customerId
          score
          metrics {
            paymentStatus
          }
          trend {
            riskIndicators
          }
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
      totalCount
    }
  }
`;
const AT_RISK = /* GraphQL */ `
  query ($first: Int, $after: String, $threshold: Int) {
    atRiskCustomers(first: $first, after: $after, threshold: $threshold) {
      edges {
        node {
          customerId
          score
          customer {
            id
          }
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
      totalCount
    }
  }
`;
const ENTITIES = /* GraphQL */ `
  query ($r: [_Any!]!, $since: DateTime) {
    _entities(representations: $r) {
      ... on Customer {
        id
        health {
          score
          domainImpacts {
            sales {
              renewalConfidence
            }
            marketing {
              segment
            }
          }
        }
        healthHistory(first: 10, since: $since) {
          edges {
            node {
              id
              score
              recordedAt
            }
          }
          totalCount
        }
      }
    }
  }
`;

const hub = useTestSubgraph(subgraph);

function walk<T>(query: string, field: string, variables: Record<string, unknown>, first: number) {
  return walkPages<T>(hub.url, query, field, { first, variables, viewer: acme });
}

describe('health subgraph: reads', () => {
  it('walks every health score of the tenant by customer id without duplicates', async () => {
    const { nodes, totals } = await walk<HealthNode>(SCORES, 'healthScores', {}, 120);
    const ids = nodes.map((node) => node.customerId);
    expect(ids).toHaveLength(300);
    expect(new Set(ids).size).toBe(300);
    expect([...ids].sort()).toEqual(ids);
    expect(totals.every((total) => total === 300)).toBe(true);
  });

  it('filters by score range, payment status and risk indicator', async () => {
    const res = await gql<{ healthScores: Page<HealthNode> }>(
      hub.url,
      SCORES,
      {
        first: 500,
        filter: { minScore: 20, maxScore: 60, paymentStatus: 'LATE', riskIndicator: 'payment_delays' },
      },
      acme,
    );
    const nodes = res.data?.healthScores.edges.map((edge) => edge.node) ?? [];
    expect(nodes.length).toBeGreaterThan(0);
    expect(res.data?.healthScores.totalCount).toBe(nodes.length);
    for (const node of nodes) {
      expect(node.score).toBeGreaterThanOrEqual(20);
      expect(node.score).toBeLessThanOrEqual(60);
      expect(node.metrics.paymentStatus).toBe('LATE');
      expect(node.trend.riskIndicators).toContain('payment_delays');
    }
  });

  it('lists at-risk customers lowest score first across pages', async () => {
    const { nodes, totals } = await walk<{ customerId: string; score: number; customer: { id: string } }>(
      AT_RISK,
      'atRiskCustomers',
      { threshold: 60 },
      25,
    );
    expect(nodes.length).toBeGreaterThan(25);
    expect(totals[0]).toBe(nodes.length);
    expect(new Set(nodes.map((node) => node.customerId)).size).toBe(nodes.length);
    const scores = nodes.map((node) => node.score);
    expect(scores.every((score) => score < 60)).toBe(true);
    expect([...scores].sort((a, b) => a - b)).toEqual(scores);
    expect(nodes[0]?.customer.id).toBe(nodes[0]?.customerId);
  });

  it.each([
    ['filter.maxScore', SCORES, { filter: { minScore: 70, maxScore: 10 } }],
    ['filter.minScore', SCORES, { filter: { minScore: -1 } }],
    ['threshold', AT_RISK, { threshold: 101 }],
    ['after', AT_RISK, { after: 'bm90LWEtY3Vyc29y' }],
  ])('rejects a bad %s as BAD_USER_INPUT naming it', async (field, query, variables) => {
    const res = await gql(hub.url, query, variables, acme);
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
  });

  it('extends Customer with its health and monthly history, filtered by since', async () => {
    const res = await gql<{
      _entities: {
        health: { score: number };
        healthHistory: Page<{ id: string; score: number; recordedAt: string }>;
      }[];
    }>(hub.url, ENTITIES, { r: [{ __typename: 'Customer', id: 'cust_00007' }] }, acme);
    const entity = res.data?._entities[0];
    const history = entity?.healthHistory.edges.map((edge) => edge.node) ?? [];
    expect(entity?.healthHistory.totalCount).toBe(6);
    expect(history.map((node) => node.recordedAt)).toEqual([...history.map((node) => node.recordedAt)].sort());
    expect(history.at(-1)?.score).toBe(entity?.health.score);

    const since = history[3]?.recordedAt;
    const recent = await gql<{ _entities: { healthHistory: Page<{ recordedAt: string }> }[] }>(
      hub.url,
      ENTITIES,
      { r: [{ __typename: 'Customer', id: 'cust_00007' }], since },
      acme,
    );
    expect(recent.data?._entities[0]?.healthHistory.totalCount).toBe(3);
  });
});

describe('health subgraph: tenant isolation and batching', () => {
  it('a globex viewer sees no health of an acme customer, by list or by _entities', async () => {
    const res = await gql<{ _entities: { health: unknown; healthHistory: { totalCount: number } }[] }>(
      hub.url,
      ENTITIES,
      { r: [{ __typename: 'Customer', id: 'cust_00001' }] },
      globex,
    );
    expect(res.data?._entities[0]).toMatchObject({ health: null, healthHistory: { totalCount: 0 } });
    const list = await gql<{ healthScores: Page<HealthNode> }>(hub.url, SCORES, { first: 500 }, globex);
    expect(list.data?.healthScores.totalCount).toBe(200);
    expect(list.data?.healthScores.edges.some(({ node }) => node.customerId === 'cust_00001')).toBe(false);
  });

  it('resolves health and history of 50 customers in one statement per table', async () => {
    const r = Array.from({ length: 50 }, (_, i) => ({
      __typename: 'Customer',
      id: `cust_${String(i + 1).padStart(5, '0')}`,
    }));
    let entities: unknown[] = [];
    const counts = await hub.countStatements(async () => {
      const res = await gql<{ _entities: unknown[] }>(hub.url, ENTITIES, { r }, acme);
      expect(res.errors).toBeUndefined();
      entities = res.data?._entities ?? [];
    });
    expect(entities).toHaveLength(50);
    // The score reads the customers' overrides (CustomerHealth.score shows one while it applies): one statement too.
    expect(counts).toEqual({ HealthScore: 1, HealthSnapshot: 1, HealthOverride: 1 });
  });
});
