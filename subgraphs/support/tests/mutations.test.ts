import { describe, expect, it } from 'vitest';
import { acme, gql, useTestSubgraph } from '@hub/core/testing';
import { subgraph } from '../src/server.js';
import { CREATE, CUSTOMERS, type Satisfaction, UPDATE, firstTicketId } from './fixtures.js';

const hub = useTestSubgraph(subgraph);

describe('support subgraph: writes', () => {
  it('opens a ticket, moves it through valid statuses and records a rating', async () => {
    const created = await gql<{ createTicket: { id: string } }>(
      hub.url,
      CREATE,
      {
        input: {
          customerId: 'cust_00011',
          subject: 'Export fails',
          description: 'CSV export errors',
          channel: 'PORTAL',
        },
      },
      acme,
    );
    expect(created.errors).toBeUndefined();
    expect(created.data?.createTicket).toMatchObject({
      status: 'OPEN',
      priority: 'NORMAL',
      customer: { id: 'cust_00011' },
    });
    const id = created.data?.createTicket.id;
    const before = await gql<{ _entities: { supportSatisfaction: Satisfaction }[] }>(
      hub.url,
      CUSTOMERS,
      { reps: [{ __typename: 'Customer', id: 'cust_00011' }] },
      acme,
    );

    const pending = await gql<{ updateTicket: { status: string } }>(
      hub.url,
      UPDATE,
      { input: { id, status: 'PENDING', firstResponseAt: new Date().toISOString() } },
      acme,
    );
    expect(pending.data?.updateTicket.status).toBe('PENDING');
    const early = await gql(hub.url, UPDATE, { input: { id, satisfactionScore: 5 } }, acme);
    expect(early.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.satisfactionScore' });

    const solved = await gql<{
      updateTicket: { status: string; resolvedAt: string | null; satisfactionScore: number };
    }>(hub.url, UPDATE, { input: { id, status: 'SOLVED', satisfactionScore: 5 } }, acme);
    expect(solved.data?.updateTicket).toMatchObject({ status: 'SOLVED', satisfactionScore: 5 });
    expect(solved.data?.updateTicket.resolvedAt).not.toBeNull();

    const after = await gql<typeof before.data>(
      hub.url,
      CUSTOMERS,
      { reps: [{ __typename: 'Customer', id: 'cust_00011' }] },
      acme,
    );
    const b = before.data?._entities[0]?.supportSatisfaction;
    const a = after.data?._entities[0]?.supportSatisfaction;
    expect(a?.responses).toBe((b?.responses ?? 0) + 1);
    expect(a?.openTickets).toBe((b?.openTickets ?? 0) - 1);

    const closed = await gql<{ updateTicket: { status: string } }>(
      hub.url,
      UPDATE,
      { input: { id, status: 'CLOSED' } },
      acme,
    );
    expect(closed.data?.updateTicket.status).toBe('CLOSED');
    const reopen = await gql(hub.url, UPDATE, { input: { id, status: 'OPEN' } }, acme);
    expect(reopen.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.status' });
    expect(reopen.errors?.[0]?.message).toContain('CLOSED to OPEN');
  });

  it.each([
    [{ satisfactionScore: 6 }, 'input.satisfactionScore'],
    [{ satisfactionScore: 0 }, 'input.satisfactionScore'],
    [{ subject: ' ' }, 'input.subject'],
    [{ firstResponseAt: '2020-01-01T00:00:00.000Z' }, 'input.firstResponseAt'],
  ])('rejects ticket update %j with BAD_USER_INPUT naming %s', async (change, field) => {
    const id = await firstTicketId(hub.url, { status: 'SOLVED' });
    const res = await gql(hub.url, UPDATE, { input: { id, ...change } }, acme);
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
  });

  it('replays a create or an update whose idempotency key was seen', async () => {
    const input = {
      customerId: 'cust_00011',
      subject: 'Login loop',
      description: 'x',
      channel: 'CHAT',
      idempotencyKey: 'tkt-key-1',
    };
    const first = await gql<{ createTicket: { id: string } }>(hub.url, CREATE, { input }, acme);
    const again = await gql<{ createTicket: { id: string } }>(hub.url, CREATE, { input }, acme);
    expect(again.errors).toBeUndefined();
    expect(again.data?.createTicket.id).toBe(first.data?.createTicket.id);
    const id = first.data?.createTicket.id;
    const count = await gql<{ tickets: { totalCount: number } }>(
      hub.url,
      'query { tickets(filter: { customerId: "cust_00011" }) { totalCount } }',
      {},
      acme,
    );
    // Without a key, the same input opens a new ticket each time.
    const other = await gql<{ createTicket: { id: string } }>(
      hub.url,
      CREATE,
      { input: { ...input, idempotencyKey: null } },
      acme,
    );
    expect(other.data?.createTicket.id).not.toBe(id);
    const after = await gql<{ tickets: { totalCount: number } }>(
      hub.url,
      'query { tickets(filter: { customerId: "cust_00011" }) { totalCount } }',
      {},
      acme,
    );
    expect(after.data?.tickets.totalCount).toBe((count.data?.tickets.totalCount ?? 0) + 1);

    const solve = { id, status: 'SOLVED', satisfactionScore: 4, idempotencyKey: 'solve-key-1' };
    const solved = await gql<{ updateTicket: { status: string; resolvedAt: string } }>(
      hub.url,
      UPDATE,
      { input: solve },
      acme,
    );
    expect(solved.data?.updateTicket.status).toBe('SOLVED');
    const resolved = await gql<{ updateTicket: { status: string; resolvedAt: string } }>(
      hub.url,
      UPDATE,
      { input: solve },
      acme,
    );
    expect(resolved.errors).toBeUndefined();
    expect(resolved.data?.updateTicket).toEqual(solved.data?.updateTicket);
    // Without a key, PENDING -> OPEN -> PENDING is three moves, not a duplicate third.
    for (const status of ['OPEN', 'PENDING', 'OPEN', 'PENDING']) {
      const moved = await gql<{ updateTicket: { status: string } }>(hub.url, UPDATE, { input: { id, status } }, acme);
      expect(moved.data?.updateTicket.status).toBe(status);
    }
  });

  it('rejects a blank subject on create and answers NOT_FOUND for an unknown ticket', async () => {
    const blank = await gql(
      hub.url,
      CREATE,
      { input: { customerId: 'cust_00011', subject: '', description: 'x', channel: 'CHAT' } },
      acme,
    );
    expect(blank.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.subject' });
    const missing = await gql(hub.url, UPDATE, { input: { id: 'tkt_nope', status: 'SOLVED' } }, acme);
    expect(missing.errors?.[0]?.extensions).toMatchObject({ code: 'NOT_FOUND' });
  });
});
