import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '@hub/store';
import { PrismaClient, type TicketPriority, type TicketStatus } from '@hub/store/support';
import { openJobTestStore, runJobOnce } from '@hub/core/events/testing';
import { supportConsolidationJob } from '../src/jobs.js';
import { subgraph } from '../src/server.js';
import { sync } from '../src/sync.js';

const HOUR = 3_600_000;
const now = Date.now();
const today = new Date(new Date(now).toISOString().slice(0, 10));

interface T {
  customerId: string;
  subject: string;
  status: TicketStatus;
  priority: TicketPriority;
  openedHoursAgo: number;
  firstResponseHours?: number;
  resolvedHoursAgo?: number;
  satisfaction?: number;
}

const TICKETS: T[] = [
  { customerId: 'c1', subject: 'Login fails', status: 'OPEN', priority: 'URGENT', openedHoursAgo: 1 },
  {
    customerId: 'c1',
    subject: '  login   FAILS ',
    status: 'PENDING',
    priority: 'HIGH',
    openedHoursAgo: 30,
    firstResponseHours: 2,
  },
  {
    customerId: 'c1',
    subject: 'Invoice question',
    status: 'SOLVED',
    priority: 'LOW',
    openedHoursAgo: 80,
    firstResponseHours: 1,
    resolvedHoursAgo: 0.5,
    satisfaction: 4,
  },
  {
    customerId: 'c1',
    subject: 'Login fails',
    status: 'CLOSED',
    priority: 'NORMAL',
    openedHoursAgo: 200,
    firstResponseHours: 3,
    resolvedHoursAgo: 150,
    satisfaction: 2,
  },
  { customerId: 'c2', subject: 'Export broken', status: 'OPEN', priority: 'NORMAL', openedHoursAgo: 5 },
];

/** The consolidation computed in JS from the fixture. */
function expected(customerId: string) {
  const own = TICKETS.filter((t) => t.customerId === customerId);
  const open = own.filter((t) => t.status === 'OPEN' || t.status === 'PENDING');
  const subjects = new Map<string, number>();
  for (const t of open) {
    const key = t.subject.trim().replace(/\s+/g, ' ').toLowerCase();
    subjects.set(key, (subjects.get(key) ?? 0) + 1);
  }
  const rated = own.filter((t) => t.satisfaction !== undefined);
  const responded = own.filter((t) => t.firstResponseHours !== undefined);
  const startOfDay = today.getTime();
  const avg = (values: number[]) =>
    values.length === 0 ? null : Math.round((values.reduce((a, b) => a + b, 0) / values.length) * 100) / 100;
  return {
    totalTickets: own.length,
    openTickets: open.length,
    urgentOpenTickets: open.filter((t) => t.priority === 'URGENT').length,
    openedOnDay: own.filter((t) => now - t.openedHoursAgo * HOUR >= startOfDay).length,
    resolvedOnDay: own.filter((t) => t.resolvedHoursAgo !== undefined && now - t.resolvedHoursAgo * HOUR >= startOfDay)
      .length,
    duplicateOpenTickets: [...subjects.values()].filter((n) => n > 1).reduce((a, b) => a + b, 0),
    averageSatisfaction: avg(rated.map((t) => t.satisfaction ?? 0)),
    satisfactionResponses: rated.length,
    averageFirstResponseHours: avg(responded.map((t) => t.firstResponseHours ?? 0)),
  };
}

describe.each(['postgres', 'pglite'] as const)('support-consolidation on %s', (kind) => {
  let handle: { store: Store<PrismaClient>; close(): Promise<void> };
  beforeAll(async () => {
    handle = await openJobTestStore<PrismaClient>('support', PrismaClient, kind);
    const data = (tenantId: string) =>
      TICKETS.map((t, i) => ({
        id: `tk_${i}`,
        tenantId,
        customerId: t.customerId,
        subject: t.subject,
        description: 'fixture',
        priority: t.priority,
        status: t.status,
        channel: 'EMAIL' as const,
        openedAt: new Date(now - t.openedHoursAgo * HOUR),
        firstResponseAt:
          t.firstResponseHours === undefined
            ? null
            : new Date(now - t.openedHoursAgo * HOUR + t.firstResponseHours * HOUR),
        resolvedAt: t.resolvedHoursAgo === undefined ? null : new Date(now - t.resolvedHoursAgo * HOUR),
        resolutionHours: t.resolvedHoursAgo === undefined ? null : t.openedHoursAgo - t.resolvedHoursAgo,
        satisfactionScore: t.satisfaction ?? null,
      }));
    await handle.store.client.ticket.createMany({ data: [...data('t1'), ...data('t2')] });
  }, 120_000);
  afterAll(async () => handle?.close());

  it('consolidates each customer’s tickets: open counts, duplicates, satisfaction and response times', async () => {
    const run = await runJobOnce({
      store: handle.store as Store<unknown>,
      sync,
      customerKeys: subgraph.customerKeys,
      job: supportConsolidationJob({ chunkSize: 1 }),
      tenantId: 't1',
    });
    expect(run).toMatchObject({ status: 'succeeded', processed: 2, total: 2, failed: 0 });
    const rows = await handle.store.client.supportDailyRollup.findMany({
      where: { tenantId: 't1' },
      orderBy: { customerId: 'asc' },
    });
    expect(rows.map((r) => r.customerId)).toEqual(['c1', 'c2']);
    for (const row of rows) {
      expect(row.day).toEqual(today);
      expect({
        totalTickets: row.totalTickets,
        openTickets: row.openTickets,
        urgentOpenTickets: row.urgentOpenTickets,
        openedOnDay: row.openedOnDay,
        resolvedOnDay: row.resolvedOnDay,
        duplicateOpenTickets: row.duplicateOpenTickets,
        averageSatisfaction: row.averageSatisfaction,
        satisfactionResponses: row.satisfactionResponses,
        averageFirstResponseHours: row.averageFirstResponseHours,
      }).toEqual(expected(row.customerId));
    }
    // Tickets are left as they were: consolidation flags, it does not merge.
    expect(await handle.store.client.ticket.count({ where: { tenantId: 't1' } })).toBe(TICKETS.length);
    expect(await handle.store.client.supportDailyRollup.count({ where: { tenantId: 't2' } })).toBe(0);
  }, 120_000);
});
