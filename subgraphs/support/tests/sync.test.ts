import { describe, expect, it } from 'vitest';
import { acme, globex, gql, useTestSubgraph } from '@hub/core/testing';
import { sqlOf, syncBatch, withPath } from '@hub/core/sync/testing';
import { subgraph } from '../src/server.js';
import { sync } from '../src/sync.js';
import { supportTicketSync, type TicketFacts } from '../src/sync/ticket.js';
import type { SupportTicketSyncInput } from '../src/generated/resolvers-types.js';

const hub = useTestSubgraph(subgraph);

/** The example of `SupportTicketSyncInput`'s description (schema.graphql), keys camelCased. */
const EXAMPLE = {
  ticketId: 'zd_48213',
  customerId: 'cust_00004',
  subject: 'Dashboard shows no data for last week',
  description: 'The analytics dashboard is empty.',
  status: 'solved',
  priority: 'high',
  channel: 'email',
  satisfactionScore: 4,
  timestamps: {
    openedAt: '2025-12-01T09:12:00Z',
    firstResponseAt: '2025-12-01T09:40:00Z',
    resolvedAt: '2025-12-02T16:05:00Z',
  },
  syncTimestamp: '2025-12-05T08:21:00Z',
};

const payload = (p: unknown) => p as SupportTicketSyncInput;

const syncEvents = async (events: Record<string, unknown>[], viewer = acme) =>
  (await syncBatch(hub.url, 'support', events, viewer)).results;

const TICKET = `query ($id: ID!) { ticket(id: $id) { id status priority subject satisfactionScore resolvedAt customer { id } } }`;
async function ticket(id: string, viewer = acme) {
  const res = await gql<{ ticket: Record<string, unknown> | null }>(hub.url, TICKET, { id }, viewer);
  return res.data?.ticket;
}
const minutesAgo = (n: number) => new Date(Date.now() - n * 60_000).toISOString();

describe('support sync declaration', () => {
  it('maps the documented support_ticket_sync example to one Ticket row keyed by the helpdesk id', () => {
    expect(supportTicketSync.sourceTime(payload(EXAMPLE))).toEqual(new Date('2025-12-05T08:21:00Z'));
    expect(supportTicketSync.map(payload(EXAMPLE))).toEqual([
      {
        model: 'Ticket',
        key: { id: 'zd_48213' },
        fields: {
          customerId: 'cust_00004',
          subject: 'Dashboard shows no data for last week',
          description: 'The analytics dashboard is empty.',
          status: 'SOLVED',
          priority: 'HIGH',
          channel: 'EMAIL',
          openedAt: new Date('2025-12-01T09:12:00Z'),
          firstResponseAt: new Date('2025-12-01T09:40:00Z'),
          resolvedAt: new Date('2025-12-02T16:05:00Z'),
          resolutionHours: 30.88,
          satisfactionScore: 4,
        },
      },
    ]);
    expect(supportTicketSync.quality.validity?.(payload(EXAMPLE)).every((check) => check.ok)).toBe(true);
    expect(Object.keys(sync.models)).toEqual(['Ticket', 'SupportDailyRollup']);
    expect(sync.models['Ticket']).toEqual({ key: ['id'] });
    // The support-consolidation job's rows, one per customer and day.
    expect(sync.models['SupportDailyRollup']).toEqual({ key: ['customerId', 'day'] });
  });

  it.each([
    ['ticketId', undefined, 'ticketId'],
    ['ticketId', 'has space', 'ticketId'],
    ['customerId', 'acme-1', 'customerId'],
    ['subject', '  ', 'subject'],
    ['description', undefined, 'description'],
    ['status', 'done', 'status'],
    ['priority', undefined, 'priority'],
    ['channel', 'fax', 'channel'],
    ['satisfactionScore', 6, 'satisfactionScore'],
    ['timestamps', undefined, 'timestamps'],
    ['timestamps.openedAt', undefined, 'timestamps.openedAt'],
    ['timestamps.openedAt', 'yesterday', 'timestamps.openedAt'],
    ['timestamps.resolvedAt', '2025-11-30T00:00:00Z', 'timestamps.resolvedAt'],
    ['timestamps.firstResponseAt', '2025-11-30T00:00:00Z', 'timestamps.firstResponseAt'],
  ])('rejects %s = %j naming %s', (path, value, field) => {
    expect(() => supportTicketSync.map(payload(withPath(EXAMPLE, path, value)))).toThrow(
      expect.objectContaining({ extensions: expect.objectContaining({ code: 'BAD_USER_INPUT', field }) }),
    );
  });

  it.each(['open', 'pending'])('refuses a rating or a resolution time on a %s ticket', (status) => {
    const open = withPath(EXAMPLE, 'status', status);
    expect(() => supportTicketSync.map(payload(open))).toThrow(
      expect.objectContaining({ extensions: expect.objectContaining({ field: 'timestamps.resolvedAt' }) }),
    );
    expect(() => supportTicketSync.map(payload(withPath(open, 'timestamps.resolvedAt', undefined)))).toThrow(
      expect.objectContaining({ extensions: expect.objectContaining({ field: 'satisfactionScore' }) }),
    );
  });

  it.each([
    ['timestamps.resolvedAt', undefined, 'timestamps.resolvedAt'],
    ['timestamps.firstResponseAt', undefined, 'timestamps.firstResponseAt'],
    ['timestamps.firstResponseAt', '2025-12-03T00:00:00Z', 'timestamps.firstResponseAt'],
    ['syncTimestamp', '2025-12-02T00:00:00Z', 'syncTimestamp'],
  ])('flags %s = %j as a failed validity check (accepted)', (path, value, field) => {
    const p = payload(withPath(EXAMPLE, path, value));
    expect(() => supportTicketSync.map(p)).not.toThrow();
    expect(
      supportTicketSync.quality
        .validity?.(p)
        .filter((c) => !c.ok)
        .map((c) => c.field),
    ).toEqual([field]);
  });

  it('loads the stored customers of a batch’s tickets in one query, within the tenant', async () => {
    const calls: string[] = [];
    const db = sqlOf(hub.store.client, calls);
    const [seeded] = await hub.store.client.$queryRawUnsafe<{ id: string; customerId: string }[]>(
      `SELECT id, "customerId" FROM "Ticket" WHERE "tenantId" = 'acme' ORDER BY id LIMIT 1`,
    );
    if (!seeded) throw new Error('no seeded ticket');
    const same = payload({ ...EXAMPLE, ticketId: seeded.id, customerId: seeded.customerId });
    const moved = payload({ ...EXAMPLE, ticketId: seeded.id, customerId: 'cust_00299' });
    const unknown = payload({ ...EXAMPLE, ticketId: 'zd_never_seen' });
    const facts = (await supportTicketSync.quality.loadFacts?.(db, 'acme', [same, moved, unknown])) as TicketFacts;
    expect(calls).toHaveLength(1);
    expect([same, moved, unknown].map((p) => supportTicketSync.quality.consistency?.(p, facts))).toEqual([
      [{ field: 'customerId', ok: true }],
      [{ field: 'customerId', ok: false }],
      [],
    ]);
    expect(((await supportTicketSync.quality.loadFacts?.(db, 'globex', [same])) as TicketFacts).size).toBe(0);
  });
});

describe('support sync through the pipeline (syncSupport)', () => {
  it('applies the example, answers a DUPLICATE for it again, and serves the ticket', async () => {
    const [first] = await syncEvents([{ supportTicketSync: EXAMPLE }]);
    expect(first).toMatchObject({ outcome: 'APPLIED', code: null });
    expect(first?.quality).toMatchObject({ completeness: 1, validity: 1, consistency: 1 });
    expect(await ticket('zd_48213')).toMatchObject({
      status: 'SOLVED',
      priority: 'HIGH',
      satisfactionScore: 4,
      resolvedAt: '2025-12-02T16:05:00.000Z',
      customer: { id: 'cust_00004' },
    });
    const [again] = await syncEvents([{ supportTicketSync: EXAMPLE }]);
    expect(again).toMatchObject({ outcome: 'DUPLICATE', firstOutcome: 'APPLIED' });
  });

  it('keeps two tenants’ tickets with the same helpdesk id apart', async () => {
    const id = 'zd_shared_1';
    const acmeEvent = { ...EXAMPLE, ticketId: id, subject: 'Acme ticket', syncTimestamp: minutesAgo(1) };
    const globexEvent = { ...acmeEvent, customerId: 'cust_00301', subject: 'Globex ticket' };
    expect((await syncEvents([{ supportTicketSync: acmeEvent }]))[0]?.outcome).toBe('APPLIED');
    expect((await syncEvents([{ supportTicketSync: globexEvent }], globex))[0]?.outcome).toBe('APPLIED');
    expect(await ticket(id)).toMatchObject({ subject: 'Acme ticket', customer: { id: 'cust_00004' } });
    expect(await ticket(id, globex)).toMatchObject({ subject: 'Globex ticket', customer: { id: 'cust_00301' } });
  });

  it('orders a ticket’s snapshots by source time, whatever order they arrive in', async () => {
    const base = { ...EXAMPLE, ticketId: 'zd_order_1', satisfactionScore: null };
    const opened = {
      ...base,
      status: 'open',
      timestamps: { openedAt: minutesAgo(60) },
      syncTimestamp: minutesAgo(50),
    };
    const solved = {
      ...base,
      status: 'solved',
      satisfactionScore: 5,
      timestamps: { openedAt: minutesAgo(60), firstResponseAt: minutesAgo(45), resolvedAt: minutesAgo(20) },
      syncTimestamp: minutesAgo(10),
    };
    // The later snapshot arrives first; the older one then changes nothing.
    expect((await syncEvents([{ supportTicketSync: solved }]))[0]?.outcome).toBe('APPLIED');
    expect((await syncEvents([{ supportTicketSync: opened }]))[0]?.outcome).toBe('STALE');
    expect(await ticket('zd_order_1')).toMatchObject({ status: 'SOLVED', satisfactionScore: 5 });
  });

  it('scores a complete ticket above a sparse one, and rejects a bad one with its field', async () => {
    const complete = { ...EXAMPLE, ticketId: 'zd_q_1', syncTimestamp: minutesAgo(1) };
    const sparse = {
      ...EXAMPLE,
      ticketId: 'zd_q_2',
      status: 'pending',
      satisfactionScore: null,
      timestamps: { openedAt: minutesAgo(30) },
      syncTimestamp: minutesAgo(1),
    };
    const bad = { ...EXAMPLE, ticketId: 'zd_q_3', priority: 'whenever' };
    const [a, b, c] = await syncEvents([
      { supportTicketSync: complete },
      { supportTicketSync: sparse },
      { supportTicketSync: bad },
    ]);
    expect(a?.quality).toMatchObject({ completeness: 1, validity: 1, timeliness: 1 });
    // Required all present (0.6), no optional field (0): a pending ticket without a first response fails one of its two checks.
    expect(b?.quality).toMatchObject({ completeness: 0.6, validity: 0.5 });
    expect(b?.quality?.score ?? 1).toBeLessThan(a?.quality?.score ?? 0);
    expect(c).toMatchObject({ outcome: 'REJECTED', code: 'BAD_USER_INPUT', field: 'priority' });
    expect(await ticket('zd_q_3')).toBeNull();
  });
});
