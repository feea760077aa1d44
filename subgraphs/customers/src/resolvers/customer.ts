import { appendAuditRaw, viewerActor } from '@hub/core/audit';
import { afterIdWhere, connectionFromRows, paginate, pageWindow } from '@hub/core/pagination';
import { badUserInput, notFound } from '@hub/core/errors';
import { appendOutbox } from '@hub/core/sync/outbox';
import { columnsFor, selectOf } from '@hub/core/columns';
import type { Customer, Prisma } from '@hub/store/customers';
import { randomBytes } from 'node:crypto';
import type { Context } from '../context.js';
import { CUSTOMER_PAGE } from '../loaders.js';
import type { CustomerFilter, Resolvers } from '../generated/resolvers-types.js';
import * as check from '../validation.js';

const MAX_SEARCH = 200;

/** Prisma `where` for a customer filter; validated here so errors name the filter field. */
export function customerWhere(filter: CustomerFilter | null | undefined): Prisma.CustomerWhereInput {
  if (!filter) return {};
  const where: Prisma.CustomerWhereInput = {};
  const search = filter.search?.trim();
  if (search) {
    if (search.length > MAX_SEARCH) throw badUserInput('filter.search', `must be at most ${MAX_SEARCH} characters`);
    where.OR = [
      { name: { contains: search, mode: 'insensitive' } },
      { domain: { contains: search, mode: 'insensitive' } },
    ];
  }
  if (filter.ownerId) where.ownerId = filter.ownerId;
  if (filter.industry) where.industry = filter.industry;
  if (filter.tier) where.tier = filter.tier;
  if (filter.lifecycleStatus) where.lifecycleStatus = filter.lifecycleStatus;
  return where;
}

function newCustomerId(): string {
  return `cust_${randomBytes(6).toString('hex')}`;
}

/** Loads a customer of the viewer's tenant or throws NOT_FOUND (also for other tenants' ids). */
export async function existingCustomer(ctx: Context, id: string) {
  const customer = await ctx.loaders.customerById.load(id);
  if (!customer) throw notFound('Customer', id);
  return customer;
}

export const customerResolvers: Resolvers = {
  Query: {
    customerErasure: async (_parent, { customerId }, ctx) => {
      check.requireTenant(ctx.viewer);
      return (await ctx.sync.erasure.erased(customerId)) ? { customerId } : null;
    },
    customers: (_parent, args, ctx, info) => {
      const where = customerWhere(args.filter);
      const select = selectOf(columnsFor(info, CUSTOMER_PAGE));
      return paginate(
        args,
        ({ take, afterId }) =>
          ctx.db.customer.findMany({
            where: { ...where, ...afterIdWhere(afterId) },
            orderBy: { id: 'asc' },
            take,
            select,
          }) as Promise<Customer[]>,
        () => ctx.db.customer.count({ where }),
      );
    },
    customer: (_parent, { id }, ctx, info) => ctx.loaders.customerById.load(id, info),
    tenant: (_parent, _args, ctx) => ctx.db.tenant.findUnique({ where: { id: check.requireTenant(ctx.viewer) } }),
  },

  Customer: {
    // Same loader as Query.customer, so `_entities` obeys exactly the rules of the root field.
    __resolveReference: (reference, ctx, info) => ctx.loaders.customerById.load(reference.id, info),
    contacts: async (customer, args, ctx, info) => {
      const { take, afterId } = pageWindow(args);
      const all = await ctx.loaders.contactsByCustomer.load(customer.id, info);
      const rest = afterId === undefined ? all : all.filter((contact) => contact.id > afterId);
      return connectionFromRows(rest.slice(0, take), take - 1, afterId !== undefined, async () => all.length);
    },
    owners: (customer, _args, ctx, info) => ctx.loaders.ownersByCustomer.load(customer.id, info),
  },

  // Every write goes through the one sync pipeline (`ctx.sync.applyOne`) as an event of the
  // declaration's mutation kinds (src/sync.ts). The existence checks read this store's own rows first,
  // so an unknown id keeps answering NOT_FOUND naming the type and id, as before.
  Mutation: {
    createCustomer: async (_parent, { input }, ctx) => {
      const { idempotencyKey, ...fields } = input;
      const id = input.id ? check.customerId('input.id', input.id) : newCustomerId();
      await ctx.sync.applyOne({
        kind: 'create_customer',
        payload: { ...fields, id, sourceUpdatedAt: input.sourceUpdatedAt ?? new Date() },
        // A client-chosen id is its own idempotency key: creating it again answers the first customer.
        idempotencyKey: idempotencyKey ?? (input.id ? `create_customer:${id}` : null),
        source: input.sourceSystem ?? null,
      });
      return ctx.db.customer.findUniqueOrThrow({ where: { id } });
    },

    updateCustomer: async (_parent, { id, input }, ctx) => {
      await existingCustomer(ctx, id);
      const { idempotencyKey, ...fields } = input;
      await ctx.sync.applyOne({
        kind: 'update_customer',
        payload: { ...fields, id, sourceUpdatedAt: input.sourceUpdatedAt ?? new Date() },
        idempotencyKey: idempotencyKey ?? null,
        source: input.sourceSystem ?? null,
      });
      return ctx.db.customer.findUniqueOrThrow({ where: { id } });
    },

    assignOwner: async (_parent, { input }, ctx) => {
      await existingCustomer(ctx, input.customerId);
      const { idempotencyKey, ...fields } = input;
      const result = await ctx.sync.applyOne({
        kind: 'assign_owner',
        payload: { ...fields, sourceUpdatedAt: new Date() },
        idempotencyKey: idempotencyKey ?? null,
      });
      const assignment = result.rows.find((row) => row.model === 'OwnerAssignment');
      return ctx.db.ownerAssignment.findUniqueOrThrow({ where: { id: assignment?.id ?? '' } });
    },

    // A deletion is no field change the sync pipeline knows: the row goes (contacts and account team
    // with it, by foreign key) and a `customers.customer_deleted` event takes it out of every
    // domain's replica, so it leaves every book and grant and no domain accepts writes for it.
    // Right to erasure (packages/core/src/erasure.ts): erased here in one transaction with its
    // tombstone and the `customers.customer_erased` event; every other domain erases on that event.
    // The answer's per-domain fields are each domain's own report (CustomerErasure entity).
    eraseCustomer: async (_parent, { id }, ctx) => {
      check.requireTenant(ctx.viewer);
      await ctx.sync.erasure.erase(id);
      return { customerId: id };
    },

    deleteCustomer: async (_parent, { id }, ctx) => {
      const tenantId = check.requireTenant(ctx.viewer);
      await existingCustomer(ctx, id);
      await ctx.db.$transaction(async (tx) => {
        await tx.customer.delete({ where: { id } });
        const source = `${ctx.viewer.roles[0] ?? 'viewer'}:${ctx.viewer.userId}`;
        await appendOutbox(tx, {
          tenantId,
          customerId: id,
          type: 'customers.customer_deleted',
          source,
          payload: { customerId: id },
        });
        // Its contacts and account team go with it (foreign keys): one entry for the deletion.
        await appendAuditRaw(tx, tenantId, 'customers', [
          {
            action: 'delete',
            actor: viewerActor(ctx.viewer),
            source,
            operation: 'delete_customer',
            customerIds: [id],
            model: 'Customer',
            rowId: id,
            changes: {},
          },
        ]);
      });
      ctx.events.wake();
      return { id };
    },
  },
};
