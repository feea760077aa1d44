import { afterIdWhere, connectionFromList, paginate } from '@hub/core/pagination';
import type { Prisma } from '@hub/store/support';
import type { Resolvers, TicketFilter } from '../generated/resolvers-types.js';

/** Largest page a ticket list returns. */
export const MAX_PAGE = 100;

function ticketWhere(filter: TicketFilter | null | undefined): Prisma.TicketWhereInput {
  return {
    ...(filter?.status ? { status: filter.status } : {}),
    ...(filter?.priority ? { priority: filter.priority } : {}),
    ...(filter?.customerId ? { customerId: filter.customerId } : {}),
    ...(filter?.openedAfter ? { openedAt: { gte: filter.openedAfter } } : {}),
  };
}

/** Reads: root lists, the `Customer` extension, and entity references. */
export const queryResolvers: Resolvers = {
  Query: {
    tickets: (_parent, args, ctx) => {
      const where = ticketWhere(args.filter);
      return paginate(
        args,
        ({ take, afterId }) =>
          ctx.db.ticket.findMany({ where: { ...where, ...afterIdWhere(afterId) }, orderBy: { id: 'asc' }, take }),
        () => ctx.db.ticket.count({ where }),
        MAX_PAGE,
      );
    },
    ticket: (_parent, { id }, ctx, info) => ctx.loaders.ticketById.load(id, info),
  },
  Customer: {
    tickets: async (customer, args, ctx, info) => {
      const rows = await ctx.loaders.ticketsByCustomer.load(
        { customerId: customer.id, status: args.filter?.status ?? null, priority: args.filter?.priority ?? null },
        info,
      );
      return connectionFromList(rows, args, MAX_PAGE);
    },
    supportSatisfaction: (customer, _args, ctx) => ctx.loaders.satisfactionByCustomer.load(customer.id),
  },
  Ticket: {
    __resolveReference: (ref, ctx, info) => ctx.loaders.ticketById.load(ref.id, info),
    customer: (row) => ({ id: row.customerId }),
  },
};
