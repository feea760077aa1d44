import { describe, expect, it } from 'vitest';
import { acme, globex, gql, type Page, useTestSubgraph, walkPages } from '@hub/core/testing';
import { subgraph } from '../src/server.js';
import { FINANCE, INVOICES, type InvoiceNode, UPDATE_STATUS } from './fixtures.js';

const hub = useTestSubgraph(subgraph);

describe('finance subgraph: reads', () => {
  it("walks every page of a customer's invoices without duplicates", async () => {
    const { nodes, totalCount: total } = await walkPages<InvoiceNode>(hub.url, INVOICES, 'invoices', {
      first: 2,
      viewer: acme,
      variables: { filter: { customerId: 'cust_00001' } },
    });
    for (const node of nodes) expect(node.customer.id).toBe('cust_00001');
    const seen = nodes.map((node) => node.id);
    expect(total).toBeGreaterThanOrEqual(3);
    expect(total).toBeLessThanOrEqual(12);
    expect(seen).toHaveLength(total);
    expect(new Set(seen).size).toBe(total);
  });

  it('filters invoices by status and due date, and revenue by minimum ARR', async () => {
    const overdue = await gql<{ invoices: Page<InvoiceNode> }>(
      hub.url,
      INVOICES,
      { first: 100, filter: { status: 'OVERDUE', dueBefore: '2025-12-01T00:00:00Z' } },
      acme,
    );
    const nodes = overdue.data?.invoices.edges.map((e) => e.node) ?? [];
    expect(nodes.length).toBeGreaterThan(0);
    for (const node of nodes) {
      expect(node.status).toBe('OVERDUE');
      expect(node.paidAt).toBeNull();
      expect(Date.parse(node.dueAt)).toBeLessThan(Date.parse('2025-12-01T00:00:00Z'));
    }
    const revenue = await gql<{ revenue: Page<{ currentArr: string }> }>(
      hub.url,
      `query { revenue(first: 100, filter: { minArr: "300000" }) { edges { node { currentArr } } totalCount } }`,
      {},
      acme,
    );
    const arrs = revenue.data?.revenue.edges.map((e) => Number(e.node.currentArr)) ?? [];
    expect(arrs.length).toBeGreaterThan(0);
    for (const arr of arrs) expect(arr).toBeGreaterThanOrEqual(300000);
  });

  it('extends a customer with attribution, value realization, health and paged invoices', async () => {
    const all = await gql<{ _entities: { finance: { invoices: Page<{ id: string; status: string }> } }[] }>(
      hub.url,
      FINANCE,
      { reps: [{ __typename: 'Customer', id: 'cust_00001' }], first: 100 },
      acme,
    );
    const finance = all.data?._entities[0]?.finance as unknown as Record<string, Record<string, unknown>> & {
      invoices: Page<{ id: string; status: string }>;
    };
    expect(finance['customerId']).toBe('cust_00001');
    expect(finance['revenueAttribution']?.['currentArr']).toMatch(/^\d+\.\d{2}$/);
    expect(finance['valueRealization']?.['milestoneAchievement']).toMatch(/^(ON_TRACK|AHEAD|BEHIND|AT_RISK)$/);
    expect(finance['financialHealth']?.['paymentStatus']).toMatch(/^(CURRENT|LATE|OVERDUE|DELINQUENT)$/);
    const total = finance.invoices.totalCount;
    expect(finance.invoices.edges).toHaveLength(total);

    const firstPage = await gql<typeof all.data>(
      hub.url,
      FINANCE,
      { reps: [{ __typename: 'Customer', id: 'cust_00001' }], first: 2 },
      acme,
    );
    const page = firstPage.data?._entities[0]?.finance.invoices;
    expect(page?.edges).toHaveLength(2);
    expect(page?.pageInfo.hasNextPage).toBe(total > 2);
    expect(page?.totalCount).toBe(total);

    const paid = await gql<typeof all.data>(
      hub.url,
      FINANCE,
      { reps: [{ __typename: 'Customer', id: 'cust_00001' }], first: 100, status: 'PAID' },
      acme,
    );
    for (const edge of paid.data?._entities[0]?.finance.invoices.edges ?? []) expect(edge.node.status).toBe('PAID');
  });

  it('keeps acme finance from a globex viewer by id, list, _entities and mutation', async () => {
    const byId = await gql<{ invoice: unknown }>(hub.url, `{ invoice(id: "inv_cust_00001_01") { id } }`, {}, globex);
    expect(byId.data?.invoice).toBeNull();
    const list = await gql<{ invoices: Page<unknown> }>(
      hub.url,
      INVOICES,
      { filter: { customerId: 'cust_00001' } },
      globex,
    );
    expect(list.data?.invoices.totalCount).toBe(0);
    const entities = await gql<{ _entities: unknown[] }>(
      hub.url,
      FINANCE,
      {
        reps: [
          { __typename: 'Customer', id: 'cust_00001' },
          { __typename: 'Invoice', id: 'inv_cust_00001_01' },
        ],
      },
      globex,
    );
    expect(entities.data?._entities[0]).toMatchObject({
      finance: {
        revenueAttribution: null,
        valueRealization: null,
        financialHealth: null,
        invoices: { totalCount: 0, edges: [] },
      },
    });
    expect(entities.data?._entities[1]).toBeNull();
    const write = await gql(hub.url, UPDATE_STATUS, { input: { id: 'inv_cust_00001_01', status: 'VOID' } }, globex);
    expect(write.errors?.[0]?.extensions).toMatchObject({ code: 'NOT_FOUND' });
    const own = await gql<{ invoice: { id: string } | null }>(
      hub.url,
      `{ invoice(id: "inv_cust_00001_01") { id } }`,
      {},
      acme,
    );
    expect(own.data?.invoice?.id).toBe('inv_cust_00001_01');
  });

  it('loads the finance of 50 customers with one statement per table', async () => {
    const reps = Array.from({ length: 50 }, (_, i) => ({
      __typename: 'Customer',
      id: `cust_${String(i + 20).padStart(5, '0')}`,
    }));
    let rows: { finance: { financialHealth: unknown; invoices: { totalCount: number } } }[] = [];
    const counts = await hub.countStatements(async () => {
      const res = await gql<{ _entities: typeof rows }>(hub.url, FINANCE, { reps, first: 3 }, acme);
      rows = res.data?._entities ?? [];
    });
    expect(rows).toHaveLength(50);
    for (const row of rows) {
      expect(row.finance.financialHealth).not.toBeNull();
      expect(row.finance.invoices.totalCount).toBeGreaterThanOrEqual(3);
    }
    expect(counts).toEqual({ RevenueAttribution: 1, ValueRealization: 1, FinancialHealth: 1, Invoice: 1 });
  });
});
