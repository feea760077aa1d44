import { randomUUID } from 'node:crypto';
import { notFound } from '@hub/core/errors';
import { optionalText } from '@hub/core/validate';
import type { Resolvers } from '../generated/resolvers-types.js';
import type { Context } from '../context.js';
import {
  createTicketKind,
  updateTicketKind,
  type CreateTicketPayload,
  type UpdateTicketPayload,
} from '../sync/mutations.js';

/** Id of the ticket a write touched (a DUPLICATE answers the first call's ticket). */
async function writtenTicket(
  ctx: Context,
  kind: string,
  payload: CreateTicketPayload | UpdateTicketPayload,
  input: { idempotencyKey?: string | null; sourceSystem?: string | null },
): Promise<string> {
  const result = await ctx.sync.applyOne({
    kind,
    payload: payload as unknown as Record<string, unknown>,
    // Without a client key every call is new: a key derived from the payload would make
    // PENDING -> OPEN -> PENDING drop the third call as a duplicate of the first.
    idempotencyKey: input.idempotencyKey ?? `${kind}:${randomUUID()}`,
    source: optionalText('input.sourceSystem', input.sourceSystem, 100) ?? null,
  });
  const row = result.rows[0];
  if (!row) throw new Error(`${kind}: the pipeline answered no row`);
  return row.id;
}

/**
 * Support writes, each one event through the sync pipeline (`ctx.sync.applyOne`), with the life-cycle
 * rules in the kinds (src/sync/mutations.ts).
 */
export const mutationResolvers: Resolvers = {
  Mutation: {
    createTicket: async (_parent, { input }, ctx) => {
      const payload: CreateTicketPayload = { input, id: `tkt_${randomUUID()}`, now: new Date() };
      const id = await writtenTicket(ctx, createTicketKind.name, payload, input);
      return ctx.db.ticket.findFirstOrThrow({ where: { id } });
    },
    updateTicket: async (_parent, { input }, ctx) => {
      const ticket = await ctx.db.ticket.findFirst({ where: { id: input.id } });
      if (!ticket) throw notFound('Ticket', input.id);
      const payload: UpdateTicketPayload = {
        input,
        current: {
          customerId: ticket.customerId,
          status: ticket.status,
          openedAt: ticket.openedAt,
          resolvedAt: ticket.resolvedAt,
        },
        now: new Date(),
      };
      const id = await writtenTicket(ctx, updateTicketKind.name, payload, input);
      return ctx.db.ticket.findFirstOrThrow({ where: { id } });
    },
  },
};
