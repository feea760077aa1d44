import { afterIdWhere, connectionFromList, paginate } from '@hub/core/pagination';
import type { Prisma } from '@hub/store/finance';
import type { InvoiceFilter, Resolvers, RevenueFilter } from '../generated/resolvers-types.js';

/** Largest page a finance list returns. */
export const MAX_PAGE = 100;

function invoiceWhere(filter: InvoiceFilter | null | undefined): Prisma.InvoiceWhereInput {
  return {
    ...(filter?.status ? { status: filter.status } : {}),
    ...(filter?.customerId ? { customerId: filter.customerId } : {}),
    ...(filter?.dueBefore ? { dueAt: { lt: filter.dueBefore } } : {}),
  };
}

function revenueWhere(filter: RevenueFilter | null | undefined): Prisma.RevenueAttributionWhereInput {
  return filter?.minArr != null ? { currentArr: { gte: filter.minArr } } : {};
}

/** Reads: root lists, the `Customer.finance` extension, and entity references. */
export const queryResolvers: Resolvers = {
  Query: {
    invoices: (_parent, args, ctx) => {
      const where = invoiceWhere(args.filter);
      return paginate(
        args,
        ({ take, afterId }) =>
          ctx.db.invoice.findMany({ where: { ...where, ...afterIdWhere(afterId) }, orderBy: { id: 'asc' }, take }),
        () => ctx.db.invoice.count({ where }),
        MAX_PAGE,
      );
    },
    invoice: (_parent, { id }, ctx) => ctx.loaders.invoiceById.load(id),
    revenue: (_parent, args, ctx) => {
      const where = revenueWhere(args.filter);
      return paginate(
        args,
        ({ take, afterId }) =>
          ctx.db.revenueAttribution.findMany({
            where: { ...where, ...afterIdWhere(afterId) },
            orderBy: { id: 'asc' },
            take,
          }),
        () => ctx.db.revenueAttribution.count({ where }),
        MAX_PAGE,
      );
    },
  },
  Customer: {
    // Always an object: its parts resolve to null on their own when finance holds no record.
    finance: (customer) => ({ id: customer.id }),
  },
  CustomerFinance: {
    customerId: (parent) => parent.id,
    revenueAttribution: (parent, _args, ctx, info) => ctx.loaders.revenueByCustomer.load(parent.id, info),
    valueRealization: (parent, _args, ctx, info) => ctx.loaders.valueByCustomer.load(parent.id, info),
    financialHealth: (parent, _args, ctx, info) => ctx.loaders.healthByCustomer.load(parent.id, info),
    invoices: async (parent, args, ctx) => {
      const rows = await ctx.loaders.invoicesByCustomer.load({ customerId: parent.id, status: args.status ?? null });
      return connectionFromList(rows, args, MAX_PAGE);
    },
  },
  RevenueAttribution: {
    __resolveReference: (ref, ctx, info) => ctx.loaders.revenueById.load(ref.id, info),
    customer: (row) => ({ id: row.customerId }),
  },
  Invoice: {
    __resolveReference: (ref, ctx) => ctx.loaders.invoiceById.load(ref.id),
    customer: (row) => ({ id: row.customerId }),
  },
};
