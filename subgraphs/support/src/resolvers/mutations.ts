import { badUserInput, notFound } from '@hub/core/errors';
import type { Prisma } from '@hub/store/support';
import type { Resolvers } from '../generated/resolvers-types.js';
import {
  inRange,
  notBefore,
  optionalText,
  provenance,
  requiredText,
  requireTenant,
  sourceUpdatedAt,
} from '@hub/core/validate';
import { resolutionHours, RESOLVED, TICKET_TRANSITIONS } from '../tickets.js';

/** Support writes. Every one goes through the tenant-scoped client, so it cannot leave the tenant. */
export const mutationResolvers: Resolvers = {
  Mutation: {
    createTicket: async (_parent, { input }, ctx) => {
      return ctx.db.ticket.create({
        data: {
          tenantId: requireTenant(ctx.viewer),
          customerId: requiredText('input.customerId', input.customerId),
          subject: requiredText('input.subject', input.subject),
          description: input.description.trim(),
          priority: input.priority ?? 'NORMAL',
          status: 'OPEN',
          channel: input.channel,
          openedAt: input.openedAt ?? new Date(),
          ...provenance(input),
        },
      });
    },
    updateTicket: async (_parent, { input }, ctx) => {
      const ticket = await ctx.db.ticket.findFirst({ where: { id: input.id } });
      if (!ticket) throw notFound('Ticket', input.id);
      const status = input.status ?? ticket.status;
      if (status !== ticket.status && !TICKET_TRANSITIONS[ticket.status].includes(status)) {
        throw badUserInput('input.status', `a ticket cannot move from ${ticket.status} to ${status}`);
      }
      if (ticket.status === 'CLOSED') {
        // A closed ticket is history: only the customer's late rating and sync provenance may change.
        for (const field of ['subject', 'description', 'priority', 'firstResponseAt'] as const) {
          if (input[field] != null) throw badUserInput(`input.${field}`, 'cannot change on a CLOSED ticket');
        }
      }
      const data: Prisma.TicketUpdateInput = { status };
      if (input.subject != null) data.subject = requiredText('input.subject', input.subject);
      if (input.description != null) data.description = input.description;
      if (input.priority != null) data.priority = input.priority;
      if (input.firstResponseAt != null) {
        notBefore('input.firstResponseAt', input.firstResponseAt, ticket.openedAt, 'openedAt');
        data.firstResponseAt = input.firstResponseAt;
      }
      if (status !== ticket.status) {
        const resolvedAt = RESOLVED.includes(status) ? (ticket.resolvedAt ?? new Date()) : null;
        data.resolvedAt = resolvedAt;
        data.resolutionHours = resolutionHours(ticket.openedAt, resolvedAt);
        // A reopened ticket's old rating no longer describes how it ends.
        if (resolvedAt === null) data.satisfactionScore = null;
      }
      if (input.satisfactionScore != null) {
        if (!RESOLVED.includes(status)) {
          throw badUserInput('input.satisfactionScore', 'can only be given on a SOLVED or CLOSED ticket');
        }
        data.satisfactionScore = inRange('input.satisfactionScore', input.satisfactionScore, 1, 5, true);
      }
      if (input.sourceSystem != null) data.sourceSystem = optionalText('input.sourceSystem', input.sourceSystem, 100);
      if (input.sourceUpdatedAt != null)
        data.sourceUpdatedAt = sourceUpdatedAt('input.sourceUpdatedAt', input.sourceUpdatedAt);
      return ctx.db.ticket.update({ where: { id: ticket.id }, data });
    },
  },
};
