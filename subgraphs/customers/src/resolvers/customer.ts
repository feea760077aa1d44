import { afterIdWhere, connectionFromRows, paginate, pageWindow } from '@hub/core/pagination';
import { badUserInput, mapPrismaError, notFound } from '@hub/core/errors';
import type { Prisma } from '@hub/store/customers';
import { randomBytes } from 'node:crypto';
import type { Context } from '../context.js';
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

export function newAssignmentId(): string {
  return `own_${randomBytes(8).toString('hex')}`;
}

/** Loads a customer of the viewer's tenant or throws NOT_FOUND (also for other tenants' ids). */
export async function existingCustomer(ctx: Context, id: string) {
  const customer = await ctx.loaders.customerById.load(id);
  if (!customer) throw notFound('Customer', id);
  return customer;
}

export const customerResolvers: Resolvers = {
  Query: {
    customers: (_parent, args, ctx) => {
      const where = customerWhere(args.filter);
      return paginate(
        args,
        ({ take, afterId }) =>
          ctx.db.customer.findMany({ where: { ...where, ...afterIdWhere(afterId) }, orderBy: { id: 'asc' }, take }),
        () => ctx.db.customer.count({ where }),
      );
    },
    customer: (_parent, { id }, ctx) => ctx.loaders.customerById.load(id),
    tenant: (_parent, _args, ctx) => ctx.db.tenant.findUnique({ where: { id: check.requireTenant(ctx.viewer) } }),
  },

  Customer: {
    // Same loader as Query.customer, so `_entities` obeys exactly the rules of the root field.
    __resolveReference: (reference, ctx) => ctx.loaders.customerById.load(reference.id),
    contacts: async (customer, args, ctx) => {
      const { take, afterId } = pageWindow(args);
      const all = await ctx.loaders.contactsByCustomer.load(customer.id);
      const rest = afterId === undefined ? all : all.filter((contact) => contact.id > afterId);
      return connectionFromRows(rest.slice(0, take), take - 1, afterId !== undefined, async () => all.length);
    },
    owners: (customer, _args, ctx) => ctx.loaders.ownersByCustomer.load(customer.id),
  },

  Mutation: {
    createCustomer: async (_parent, { input }, ctx) => {
      const tenantId = check.requireTenant(ctx.viewer);
      const id = input.id ? check.customerId('input.id', input.id) : newCustomerId();
      const ownerId = check.requiredText('input.ownerId', input.ownerId, 100);
      const data = {
        id,
        tenantId,
        name: check.requiredText('input.name', input.name, 200),
        domain: check.domain('input.domain', input.domain) ?? null,
        industry: check.optionalText('input.industry', input.industry, 100) ?? null,
        tier: input.tier ?? 'SMB',
        lifecycleStatus: input.lifecycleStatus ?? 'ONBOARDING',
        country: check.country('input.country', input.country) ?? null,
        employeeCount: check.employeeCount('input.employeeCount', input.employeeCount) ?? null,
        ownerId,
        ...check.provenance(input),
      } satisfies Prisma.CustomerUncheckedCreateInput;
      try {
        // The CSM assignment is created with the customer so the book of business is never half-written.
        return await ctx.db.customer.create({
          data: { ...data, owners: { create: { id: newAssignmentId(), ownerId, role: 'CSM' } } },
        });
      } catch (error) {
        throw mapPrismaError(error, 'Customer');
      }
    },

    updateCustomer: async (_parent, { id, input }, ctx) => {
      const data: Prisma.CustomerUpdateInput = {
        name: input.name === undefined ? undefined : check.requiredText('input.name', input.name, 200),
        domain: check.domain('input.domain', input.domain),
        industry: check.optionalText('input.industry', input.industry, 100),
        tier: check.notNull('input.tier', input.tier),
        lifecycleStatus: check.notNull('input.lifecycleStatus', input.lifecycleStatus),
        country: check.country('input.country', input.country),
        employeeCount: check.employeeCount('input.employeeCount', input.employeeCount),
        ...check.provenanceChange(input),
      };
      await existingCustomer(ctx, id);
      try {
        return await ctx.db.customer.update({ where: { id }, data });
      } catch (error) {
        throw mapPrismaError(error, 'Customer');
      }
    },

    assignOwner: async (_parent, { input }, ctx) => {
      const tenantId = check.requireTenant(ctx.viewer);
      const ownerId = check.requiredText('input.ownerId', input.ownerId, 100);
      await existingCustomer(ctx, input.customerId);
      const key = { tenantId, customerId: input.customerId, role: input.role };
      const upsert = ctx.db.ownerAssignment.upsert({
        where: { tenantId_customerId_role: key },
        create: { ...key, id: newAssignmentId(), ownerId },
        update: { ownerId, assignedAt: new Date() },
      });
      if (input.role !== 'CSM') return upsert;
      // The CSM's book of business holds the customer: keep Customer.ownerId in step, atomically.
      const [assignment] = await ctx.db.$transaction([
        upsert,
        ctx.db.customer.update({ where: { id: input.customerId }, data: { ownerId } }),
      ]);
      return assignment;
    },
  },
};
