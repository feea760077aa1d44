import { notFound } from '@hub/core/errors';
import { randomBytes } from 'node:crypto';
import type { Resolvers } from '../generated/resolvers-types.js';
import { existingCustomer } from './customer.js';

function newContactId(): string {
  return `cont_${randomBytes(8).toString('hex')}`;
}

export const contactResolvers: Resolvers = {
  Query: {
    contact: (_parent, { id }, ctx, info) => ctx.loaders.contactById.load(id, info),
  },

  Contact: {
    customer: (contact, _args, ctx, info) => ctx.loaders.customerById.load(contact.customerId, info),
  },

  // Through the one sync pipeline, like every write (src/sync.ts); a contact made primary demotes the
  // customer's other contacts in the same transaction (the kinds' afterApply).
  Mutation: {
    createContact: async (_parent, { input }, ctx) => {
      await existingCustomer(ctx, input.customerId);
      const { idempotencyKey, ...fields } = input;
      const id = newContactId();
      const result = await ctx.sync.applyOne({
        kind: 'create_contact',
        payload: { ...fields, id, sourceUpdatedAt: input.sourceUpdatedAt ?? new Date() },
        idempotencyKey: idempotencyKey ?? null,
        source: input.sourceSystem ?? null,
      });
      // A replayed key answers the contact its first call created, not the id drawn this time.
      return ctx.db.contact.findUniqueOrThrow({ where: { id: result.rows[0]?.id ?? id } });
    },

    updateContact: async (_parent, { id, input }, ctx) => {
      const existing = await ctx.loaders.contactById.load(id);
      if (!existing) throw notFound('Contact', id);
      const { idempotencyKey, ...fields } = input;
      await ctx.sync.applyOne({
        kind: 'update_contact',
        payload: { ...fields, id, sourceUpdatedAt: input.sourceUpdatedAt ?? new Date() },
        idempotencyKey: idempotencyKey ?? null,
        source: input.sourceSystem ?? null,
      });
      return ctx.db.contact.findUniqueOrThrow({ where: { id } });
    },
  },
};
