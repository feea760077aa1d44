import { describe, expect, it } from 'vitest';
import { acme, globex, gql, type Page, useTestSubgraph } from '@hub/core/testing';
import { subgraph } from '../src/server.js';
import { CUSTOMERS, type Satisfaction, UPDATE, allTickets, firstTicketId } from './fixtures.js';

const hub = useTestSubgraph(subgraph);

describe('support subgraph: reads', () => {
  it('walks every page of a filtered ticket list without duplicates', async () => {
    const { nodes, total } = await allTickets(hub.url, acme, { priority: 'URGENT' }, 25);
    expect(total).toBeGreaterThan(25);
    expect(nodes).toHaveLength(total);
    expect(new Set(nodes.map((n) => n.id)).size).toBe(total);
    for (const node of nodes) expect(node.priority).toBe('URGENT');
  });

  it('filters tickets by status, priority, customer and opening time', async () => {
    const since = '2025-11-01T00:00:00.000Z';
    const { nodes } = await allTickets(hub.url, acme, { status: 'SOLVED', priority: 'HIGH', openedAfter: since }, 100);
    expect(nodes.length).toBeGreaterThan(0);
    for (const node of nodes) {
      expect(node).toMatchObject({ status: 'SOLVED', priority: 'HIGH' });
      expect(Date.parse(node.openedAt)).toBeGreaterThanOrEqual(Date.parse(since));
    }
    const { nodes: own } = await allTickets(hub.url, acme, { customerId: 'cust_00007' }, 3);
    for (const node of own) expect(node.customer.id).toBe('cust_00007');
  });

  it("computes a customer's satisfaction from its tickets", async () => {
    const res = await gql<{ _entities: { tickets: Page<unknown>; supportSatisfaction: Satisfaction }[] }>(
      hub.url,
      CUSTOMERS,
      {
        reps: Array.from({ length: 30 }, (_, i) => ({
          __typename: 'Customer',
          id: `cust_${String(i + 1).padStart(5, '0')}`,
        })),
      },
      acme,
    );
    let checked = 0;
    for (const [i, customer] of (res.data?._entities ?? []).entries()) {
      const id = `cust_${String(i + 1).padStart(5, '0')}`;
      const { nodes } = await allTickets(hub.url, acme, { customerId: id }, 100);
      const scores = nodes.flatMap((n) => (n.satisfactionScore === null ? [] : [n.satisfactionScore]));
      const s = customer.supportSatisfaction;
      expect(s.totalTickets).toBe(nodes.length);
      expect(customer.tickets.totalCount).toBe(nodes.length);
      expect(s.responses).toBe(scores.length);
      expect(s.openTickets).toBe(nodes.filter((n) => n.status === 'OPEN' || n.status === 'PENDING').length);
      if (scores.length > 0) {
        expect(s.averageScore).toBeCloseTo(scores.reduce((a, b) => a + b, 0) / scores.length, 2);
        checked++;
      } else {
        expect(s.averageScore).toBeNull();
      }
      const resolved = nodes.filter((n) => n.resolvedAt !== null);
      if (resolved.length === 0) expect(s.averageResolutionHours).toBeNull();
      else expect(s.averageResolutionHours).toBeGreaterThan(0);
    }
    expect(checked).toBeGreaterThan(10);
  });

  it('keeps acme tickets from a globex viewer by id, list, _entities and mutation', async () => {
    const acmeTicket = await firstTicketId(hub.url, {});
    const byId = await gql<{ ticket: unknown }>(
      hub.url,
      `query ($id: ID!) { ticket(id: $id) { id } }`,
      { id: acmeTicket },
      globex,
    );
    expect(byId.data?.ticket).toBeNull();
    const list = await allTickets(hub.url, globex, { customerId: 'cust_00001' }, 10);
    expect(list.total).toBe(0);
    const entities = await gql<{ _entities: unknown[] }>(
      hub.url,
      CUSTOMERS,
      {
        reps: [
          { __typename: 'Customer', id: 'cust_00001' },
          { __typename: 'Ticket', id: acmeTicket },
        ],
      },
      globex,
    );
    expect(entities.data?._entities[0]).toMatchObject({
      tickets: { totalCount: 0, edges: [] },
      supportSatisfaction: { responses: 0, totalTickets: 0, averageScore: null },
    });
    expect(entities.data?._entities[1]).toBeNull();
    const write = await gql(hub.url, UPDATE, { input: { id: acmeTicket, priority: 'LOW' } }, globex);
    expect(write.errors?.[0]?.extensions).toMatchObject({ code: 'NOT_FOUND' });
  });

  it('loads tickets and satisfaction of 50 customers with one statement each', async () => {
    const reps = Array.from({ length: 50 }, (_, i) => ({
      __typename: 'Customer',
      id: `cust_${String(i + 100).padStart(5, '0')}`,
    }));
    let rows: { tickets: Page<unknown>; supportSatisfaction: Satisfaction }[] = [];
    const counts = await hub.countStatements(async () => {
      const res = await gql<{ _entities: typeof rows }>(
        hub.url,
        CUSTOMERS,
        { reps, filter: { status: 'CLOSED' } },
        acme,
      );
      rows = res.data?._entities ?? [];
    });
    expect(rows).toHaveLength(50);
    expect(rows.some((r) => r.tickets.totalCount > 0)).toBe(true);
    // One findMany for the ticket pages and one groupBy for the satisfaction aggregate.
    expect(counts).toEqual({ Ticket: 2 });
  });
});
