import { mapPrismaError, notFound } from '@hub/core/errors';
import type { Prisma } from '@hub/store/customers';
import { randomBytes } from 'node:crypto';
import type { Context } from '../context.js';
import type { Resolvers } from '../generated/resolvers-types.js';
import * as check from '../validation.js';
import { existingCustomer } from './customer.js';

function newContactId(): string {
  return `cont_${randomBytes(8).toString('hex')}`;
}

/**
 * Writes a contact; when it becomes primary, the customer's other contacts stop being primary in
 * the same transaction, so a customer never has two primary contacts.
 */
async function writeContact(
  ctx: Context,
  customerId: string,
  isPrimary: boolean | null | undefined,
  write: Prisma.PrismaPromise<Prisma.ContactGetPayload<object>>,
  keepId?: string,
) {
  try {
    if (isPrimary !== true) return await write;
    const demote = ctx.db.contact.updateMany({
      where: { customerId, isPrimary: true, ...(keepId ? { id: { not: keepId } } : {}) },
      data: { isPrimary: false },
    });
    const [, contact] = await ctx.db.$transaction([demote, write]);
    return contact;
  } catch (error) {
    throw mapPrismaError(error, 'Contact');
  }
}

export const contactResolvers: Resolvers = {
  Query: {
    contact: (_parent, { id }, ctx) => ctx.loaders.contactById.load(id),
  },

  Contact: {
    customer: (contact, _args, ctx) => ctx.loaders.customerById.load(contact.customerId),
  },

  Mutation: {
    createContact: async (_parent, { input }, ctx) => {
      const tenantId = check.requireTenant(ctx.viewer);
      const data = {
        id: newContactId(),
        tenantId,
        customerId: input.customerId,
        firstName: check.requiredText('input.firstName', input.firstName, 100),
        lastName: check.requiredText('input.lastName', input.lastName, 100),
        email: check.email('input.email', input.email),
        phone: check.phone('input.phone', input.phone) ?? null,
        title: check.optionalText('input.title', input.title, 200) ?? null,
        isPrimary: input.isPrimary ?? false,
        ...check.provenance(input),
      } satisfies Prisma.ContactUncheckedCreateInput;
      await existingCustomer(ctx, input.customerId);
      return writeContact(ctx, input.customerId, input.isPrimary, ctx.db.contact.create({ data }));
    },

    updateContact: async (_parent, { id, input }, ctx) => {
      const data: Prisma.ContactUpdateInput = {
        firstName:
          input.firstName === undefined ? undefined : check.requiredText('input.firstName', input.firstName, 100),
        lastName: input.lastName === undefined ? undefined : check.requiredText('input.lastName', input.lastName, 100),
        email:
          input.email === undefined
            ? undefined
            : check.email('input.email', check.notNull('input.email', input.email) ?? ''),
        phone: check.phone('input.phone', input.phone),
        title: check.optionalText('input.title', input.title, 200),
        isPrimary: check.notNull('input.isPrimary', input.isPrimary),
        ...check.provenanceChange(input),
      };
      const existing = await ctx.loaders.contactById.load(id);
      if (!existing) throw notFound('Contact', id);
      return writeContact(
        ctx,
        existing.customerId,
        input.isPrimary,
        ctx.db.contact.update({ where: { id }, data }),
        id,
      );
    },
  },
};
