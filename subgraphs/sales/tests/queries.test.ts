import { demoCustomers } from '@hub/core/demo';
import { acme, globex, gql, type Page, useTestSubgraph, walkPages } from '@hub/core/testing';
import { describe, expect, it } from 'vitest';
import { subgraph } from '../src/server.js';

interface Opp {
  id: string;
  customer: { id: string };
  ownerId: string;
  type: string;
  stage: string;
  value: string;
  probability: number;
  weightedValue: string;
  timeline: string;
}
interface Renewal {
  customer: { id: string };
  renewalProbability: number;
  renewalDate: string;
  contractValue: string;
  ownerId: string | null;
}

const roster = new Map(demoCustomers().map((customer) => [customer.id, customer]));
const ids = (from: number, count: number) =>
  Array.from({ length: count }, (_, i) => `cust_${String(from + i).padStart(5, '0')}`);

const OPPS = /* GraphQL */ `
  query ($first: Int, $after: String, $filter: OpportunityFilter) {
    opportunities(first: $first, after: $after, filter: $filter) {
      edges {
        cursor
        node {
          id
          customer {
            id
          }
          ownerId
          type
          stage
          value
          probability
          weightedValue
          timeline
        }
      }
      pageInfo {
        hasNextPage
        hasPreviousPage
        endCursor
      }
      totalCount
    }
  }
`;
const RENEWALS = /* GraphQL */ `
  query ($first: Int, $after: String, $filter: RenewalFilter) {
    renewals(first: $first, after: $after, filter: $filter) {
      edges {
        cursor
        node {
          customer {
            id
          }
          renewalProbability
          renewalDate
          contractValue
          ownerId
        }
      }
      pageInfo {
        hasNextPage
        hasPreviousPage
        endCursor
      }
      totalCount
    }
  }
`;
const ENTITIES = /* GraphQL */ `
  query ($r: [_Any!]!, $filter: OpportunityFilter) {
    _entities(representations: $r) {
      ... on Customer {
        id
        opportunities(first: 10, filter: $filter) {
          totalCount
          edges {
            node {
              id
              ownerId
              value
              csContribution {
                healthScore
                successEvidence
              }
            }
          }
        }
        renewal {
          renewalProbability
          contractValue
          expansionPotential
          renewalDate
          riskFactors
          successMitigation
        }
      }
    }
  }
`;

const hub = useTestSubgraph(subgraph);

async function walk<N>(
  query: string,
  field: string,
  first: number,
  filter: Record<string, unknown> | null = null,
  viewer = acme,
) {
  const { nodes, totalCount } = await walkPages<N>(hub.url, query, field, { first, viewer, variables: { filter } });
  expect(nodes).toHaveLength(totalCount);
  return nodes;
}

describe('sales subgraph: opportunities', () => {
  it('walks every opportunity of a tenant page by page, each owned by its customer’s roster owner', async () => {
    const opps = await walk<Opp>(OPPS, 'opportunities', 40);
    expect(new Set(opps.map((opp) => opp.id)).size).toBe(opps.length);
    expect(opps.length).toBeGreaterThan(200);
    const perCustomer = new Map<string, number>();
    for (const opp of opps) {
      const customer = roster.get(opp.customer.id);
      expect(customer?.tenantId).toBe('acme');
      expect(opp.ownerId).toBe(customer?.ownerId);
      expect(opp.timeline).toMatch(/^q[1-4]_\d{4}$/);
      perCustomer.set(opp.customer.id, (perCustomer.get(opp.customer.id) ?? 0) + 1);
    }
    expect(Math.max(...perCustomer.values())).toBeLessThanOrEqual(3);
  });

  it('filters by type, stage, owner, minimum value and minimum probability', async () => {
    const filter = { type: 'UPSELL', ownerId: 'u2', minValue: '50000', minProbability: 0.3 };
    const opps = await walk<Opp>(OPPS, 'opportunities', 100, filter);
    expect(opps.length).toBeGreaterThan(0);
    for (const opp of opps) {
      expect(opp).toMatchObject({ type: 'UPSELL', ownerId: 'u2' });
      expect(Number(opp.value)).toBeGreaterThanOrEqual(50000);
      expect(opp.probability).toBeGreaterThanOrEqual(0.3);
    }
    const won = await walk<Opp>(OPPS, 'opportunities', 500, { stage: 'CLOSED_WON' });
    expect(won.every((opp) => opp.stage === 'CLOSED_WON' && opp.probability === 1)).toBe(true);
  });

  it('weights the value by the probability', async () => {
    const [opp] = await walk<Opp>(OPPS, 'opportunities', 500, { minProbability: 0.5, stage: 'PROPOSAL' });
    if (!opp) throw new Error('no proposal');
    expect(Number(opp.weightedValue)).toBeCloseTo(Number(opp.value) * opp.probability, 2);
  });

  it('a customer’s nested opportunities apply the same filter as the root list', async () => {
    const filter = { minValue: '30000', minProbability: 0.4 };
    const root = await walk<Opp>(OPPS, 'opportunities', 500, filter);
    const res = await gql<{ _entities: { id: string; opportunities: Page<{ id: string }> }[] }>(
      hub.url,
      ENTITIES,
      { r: ids(1, 300).map((id) => ({ __typename: 'Customer', id })), filter },
      acme,
    );
    expect(res.errors).toBeUndefined();
    const nested =
      res.data?._entities.flatMap((customer) => customer.opportunities.edges.map(({ node }) => node.id)) ?? [];
    expect(new Set(nested)).toEqual(new Set(root.map((opp) => opp.id)));
  });

  it('rejects out-of-range filters as BAD_USER_INPUT naming the filter field', async () => {
    const probability = await gql(hub.url, OPPS, { filter: { minProbability: 1.5 } }, acme);
    expect(probability.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'filter.minProbability',
    });
    const value = await gql(hub.url, OPPS, { filter: { minValue: '-1' } }, acme);
    expect(value.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'filter.minValue' });
    const renewal = await gql(hub.url, RENEWALS, { filter: { maxProbability: -0.5 } }, acme);
    expect(renewal.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'filter.maxProbability' });
  });
});

describe('sales subgraph: renewals', () => {
  it('has one forecast per customer, owned by the roster owner, walkable page by page', async () => {
    const renewals = await walk<Renewal>(RENEWALS, 'renewals', 70);
    expect(new Set(renewals.map((r) => r.customer.id))).toEqual(new Set(ids(1, 300)));
    for (const renewal of renewals) expect(renewal.ownerId).toBe(roster.get(renewal.customer.id)?.ownerId);
  });

  it('filters renewals at risk that are due before a date', async () => {
    const renewals = await walk<Renewal>(RENEWALS, 'renewals', 500, {
      maxProbability: 0.7,
      renewalBefore: '2026-06-30',
    });
    expect(renewals.length).toBeGreaterThan(0);
    for (const renewal of renewals) {
      expect(renewal.renewalProbability).toBeLessThanOrEqual(0.7);
      expect(renewal.renewalDate <= '2026-06-30').toBe(true);
    }
  });
});

describe('sales subgraph: tenant isolation', () => {
  it('a globex viewer cannot read acme opportunities by id, via lists, or via _entities', async () => {
    const byId = await gql(hub.url, '{ opportunity(id: "exp_000011") { id } }', {}, acme);
    expect(byId.data).toEqual({ opportunity: { id: 'exp_000011' } });
    const stolen = await gql(hub.url, '{ opportunity(id: "exp_000011") { id } }', {}, globex);
    expect(stolen.data).toEqual({ opportunity: null });

    const opps = await walk<Opp>(OPPS, 'opportunities', 500, null, globex);
    expect(opps.every((opp) => roster.get(opp.customer.id)?.tenantId === 'globex')).toBe(true);
    const renewals = await walk<Renewal>(RENEWALS, 'renewals', 500, null, globex);
    expect(new Set(renewals.map((r) => r.customer.id))).toEqual(new Set(ids(301, 200)));

    const entities = await gql(hub.url, ENTITIES, { r: [{ __typename: 'Customer', id: 'cust_00001' }] }, globex);
    expect(entities.data).toEqual({
      _entities: [{ id: 'cust_00001', opportunities: { totalCount: 0, edges: [] }, renewal: null }],
    });
  });

  it('refuses a request without the gateway signature', async () => {
    const res = await gql(hub.url, '{ opportunities { totalCount } }', {}, null);
    expect(res.status).toBe(401);
    expect(res.errors?.[0]?.extensions?.['code']).toBe('UNAUTHENTICATED');
  });
});

describe('sales subgraph: batching', () => {
  it('resolves 50 _entities with opportunities and renewals in one statement per table', async () => {
    let res: Awaited<ReturnType<typeof gql<{ _entities: { renewal: unknown }[] }>>> | undefined;
    const counts = await hub.countStatements(async () => {
      res = await gql(hub.url, ENTITIES, { r: ids(1, 50).map((id) => ({ __typename: 'Customer', id })) }, acme);
    });
    expect(res?.errors).toBeUndefined();
    expect(res?.data?._entities.filter((customer) => customer.renewal !== null)).toHaveLength(50);
    expect(counts).toEqual({ ExpansionOpportunity: 1, RenewalForecast: 1 });
  });
});
