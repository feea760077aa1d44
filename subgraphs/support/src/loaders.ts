import DataLoader from 'dataloader';
import { rowSpec } from '@hub/core/columns';
import { distinct, keyedLoader, selectingLoader } from '@hub/core/loaders';
import type { Viewer } from '@hub/core/viewer';
import { Prisma, type PrismaClient, type Ticket, type TicketPriority, type TicketStatus } from '@hub/store/support';
import type { SupportSatisfaction } from './generated/resolvers-types.js';

/** A customer's tickets, optionally narrowed by status and priority. */
export interface TicketKey {
  customerId: string;
  status: TicketStatus | null;
  priority: TicketPriority | null;
}

const UNRESOLVED: readonly TicketStatus[] = ['OPEN', 'PENDING'];

/** What `Ticket` reads of its row (@hub/core/columns): `customer` reads only the customer key. */
const TICKET = { type: 'Ticket', columns: Prisma.TicketScalarFieldEnum, computed: { customer: [] } };
const TICKET_ROW = rowSpec(TICKET);
/** `Customer.tickets`: a connection narrowed in memory by status and priority. */
const TICKET_PAGE = rowSpec({ ...TICKET, path: ['edges', 'node'], always: ['status', 'priority'] });

/**
 * All tickets of the batch's customers in one statement, narrowed per key here. A customer has a
 * bounded number of tickets, so this beats one LIMIT query per customer.
 */
function ticketsLoader(db: PrismaClient) {
  return selectingLoader<TicketKey, Ticket[]>(TICKET_PAGE, async (keys, select) => {
    // The rows carry the selected columns only; their type says the whole row.
    const rows = (await db.ticket.findMany({
      where: { customerId: { in: distinct(keys.map((key) => key.customerId)) } },
      select,
    })) as Ticket[];
    return keys.map((key) =>
      rows.filter(
        (row) =>
          row.customerId === key.customerId &&
          (key.status === null || row.status === key.status) &&
          (key.priority === null || row.priority === key.priority),
      ),
    );
  });
}

/**
 * Satisfaction of N customers from ONE groupBy over (customer, status): sums and counts per
 * group are combined here into exact per-customer averages.
 */
function satisfactionLoader(db: PrismaClient) {
  return new DataLoader<string, SupportSatisfaction>(async (customerIds) => {
    const groups = await db.ticket.groupBy({
      by: ['customerId', 'status'],
      where: { customerId: { in: distinct(customerIds) } },
      _count: { _all: true, satisfactionScore: true, resolutionHours: true },
      _sum: { satisfactionScore: true, resolutionHours: true },
    });
    const totals = new Map<
      string,
      { tickets: number; open: number; rated: number; score: number; resolved: number; hours: number }
    >();
    for (const group of groups) {
      const t = totals.get(group.customerId) ?? { tickets: 0, open: 0, rated: 0, score: 0, resolved: 0, hours: 0 };
      t.tickets += group._count._all;
      if (UNRESOLVED.includes(group.status)) t.open += group._count._all;
      t.rated += group._count.satisfactionScore;
      t.score += group._sum.satisfactionScore ?? 0;
      t.resolved += group._count.resolutionHours;
      t.hours += group._sum.resolutionHours ?? 0;
      totals.set(group.customerId, t);
    }
    return customerIds.map((id) => {
      const t = totals.get(id);
      return {
        averageScore: t && t.rated > 0 ? Math.round((t.score / t.rated) * 100) / 100 : null,
        responses: t?.rated ?? 0,
        openTickets: t?.open ?? 0,
        totalTickets: t?.tickets ?? 0,
        averageResolutionHours: t && t.resolved > 0 ? Math.round((t.hours / t.resolved) * 10) / 10 : null,
      };
    });
  });
}

/** DataLoaders of one request. `db` is tenant-scoped, so every batch stays inside the tenant. */
export function createLoaders(db: PrismaClient, _viewer: Viewer) {
  return {
    ticketById: keyedLoader<string, Ticket>(
      (ids, select) => db.ticket.findMany({ where: { id: { in: distinct(ids) } }, select }) as Promise<Ticket[]>,
      (row) => row.id,
      TICKET_ROW,
    ),
    ticketsByCustomer: ticketsLoader(db),
    satisfactionByCustomer: satisfactionLoader(db),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
