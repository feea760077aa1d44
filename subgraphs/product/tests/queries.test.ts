import { describe, expect, it } from 'vitest';
import { acme, globex, gql, type Page, useTestSubgraph, walkPages } from '@hub/core/testing';
import { subgraph } from '../src/server.js';
import { ENTITIES, USAGE_PAGE } from './fixtures.js';

const hub = useTestSubgraph(subgraph);

describe('product subgraph: reads', () => {
  it('walks every page of a filtered usage list without duplicates', async () => {
    const { nodes, totalCount: total } = await walkPages<{ id: string; customer: { id: string } }>(
      hub.url,
      USAGE_PAGE,
      'featureUsage',
      {
        first: 4,
        viewer: acme,
        variables: { filter: { customerId: 'cust_00001' } },
      },
    );
    for (const node of nodes) expect(node.customer.id).toBe('cust_00001');
    const seen = nodes.map((node) => node.id);
    // 3 monthly periods x 4-6 features.
    expect(total).toBeGreaterThanOrEqual(12);
    expect(total).toBeLessThanOrEqual(18);
    expect(seen).toHaveLength(total);
    expect(new Set(seen).size).toBe(total);
  });

  it('filters usage by category, feature and period, and adoption by maturity and minimum rate', async () => {
    const usage = await gql<{ featureUsage: Page<{ feature: string; category: string; periodStart: string }> }>(
      hub.url,
      USAGE_PAGE,
      { first: 50, filter: { category: 'CORE', feature: 'reporting', periodStart: '2025-10-01' } },
      acme,
    );
    const nodes = usage.data?.featureUsage.edges.map((e) => e.node) ?? [];
    expect(nodes.length).toBeGreaterThan(0);
    for (const node of nodes)
      expect(node).toMatchObject({ category: 'CORE', feature: 'reporting', periodStart: '2025-10-01' });

    const adoption = await gql<{ adoptionMetrics: Page<{ maturityLevel: string; overallAdoptionRate: number }> }>(
      hub.url,
      `query { adoptionMetrics(first: 100, filter: { maturityLevel: ADVANCED, minAdoptionRate: 0.7 }) {
        edges { node { maturityLevel overallAdoptionRate } } totalCount } }`,
      {},
      acme,
    );
    const rows = adoption.data?.adoptionMetrics.edges.map((e) => e.node) ?? [];
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) {
      expect(row.maturityLevel).toBe('ADVANCED');
      expect(row.overallAdoptionRate).toBeGreaterThanOrEqual(0.7);
    }
  });

  it('gives a customer its latest period by default and the asked period on request', async () => {
    const reps = [{ __typename: 'Customer', id: 'cust_00003' }];
    const latest = await gql<{ _entities: { usage: { periodStart: string }[]; adoption: { periodStart: string } }[] }>(
      hub.url,
      ENTITIES,
      { reps },
      acme,
    );
    const customer = latest.data?._entities[0];
    expect(customer?.usage.length).toBeGreaterThanOrEqual(4);
    expect(new Set(customer?.usage.map((u) => u.periodStart))).toEqual(new Set(['2025-11-01']));
    expect(customer?.adoption.periodStart).toBe('2025-11-01');

    const september = await gql<typeof latest.data>(hub.url, ENTITIES, { reps, period: '2025-09-01' }, acme);
    const old = september.data?._entities[0];
    expect(new Set(old?.usage.map((u) => u.periodStart))).toEqual(new Set(['2025-09-01']));
    expect(old?.adoption.periodStart).toBe('2025-09-01');
  });

  it('keeps acme rows from a globex viewer by list, by customer and by _entities', async () => {
    const list = await gql<{ featureUsage: Page<unknown> }>(
      hub.url,
      USAGE_PAGE,
      { filter: { customerId: 'cust_00001' } },
      globex,
    );
    expect(list.data?.featureUsage.totalCount).toBe(0);
    const entities = await gql<{ _entities: ({ usage?: unknown[]; adoption?: unknown } | null)[] }>(
      hub.url,
      ENTITIES,
      {
        reps: [
          { __typename: 'Customer', id: 'cust_00001' },
          { __typename: 'FeatureUsage', id: 'fu_cust_00001_202511_email_campaigns' },
        ],
      },
      globex,
    );
    expect(entities.data?._entities[0]).toMatchObject({ usage: [], adoption: null });
    expect(entities.data?._entities[1]).toBeNull();
    // The same id is visible to its own tenant.
    const own = await gql<{ _entities: ({ feature?: string } | null)[] }>(
      hub.url,
      ENTITIES,
      { reps: [{ __typename: 'FeatureUsage', id: 'fu_cust_00001_202511_email_campaigns' }] },
      acme,
    );
    expect(own.data?._entities[0]).toMatchObject({ feature: 'email_campaigns' });
  });

  it('refuses a request without the gateway signature', async () => {
    const res = await gql(hub.url, `{ featureUsage { totalCount } }`, {}, null);
    expect(res.status).toBe(401);
  });

  it('loads usage and adoption of 50 customers with one statement per table', async () => {
    const reps = Array.from({ length: 50 }, (_, i) => ({
      __typename: 'Customer',
      id: `cust_${String(i + 10).padStart(5, '0')}`,
    }));
    let rows: { usage: unknown[] }[] = [];
    const counts = await hub.countStatements(async () => {
      const res = await gql<{ _entities: { usage: unknown[] }[] }>(hub.url, ENTITIES, { reps }, acme);
      rows = res.data?._entities ?? [];
    });
    expect(rows).toHaveLength(50);
    for (const row of rows) expect(row.usage.length).toBeGreaterThanOrEqual(4);
    expect(counts).toEqual({ FeatureUsage: 1, AdoptionMetrics: 1 });
  });
});
