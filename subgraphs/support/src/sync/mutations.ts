/**
 * Kinds of the support mutations (mutation-only). The payload is the mutation's arguments (`{ input }`),
 * so a rejection names the field the mutation always named (`input.subject`); an update also carries what
 * the resolver read of the stored ticket and the arrival time, so `map` stays a pure function. Their
 * instants are Dates: mutation-only kinds are never dead-lettered, so never replayed from JSON.
 */
import { badUserInput } from '@hub/core/errors';
import { mutationSourceTime } from '@hub/core/sync/payload';
import type { SyncKind } from '@hub/core/sync/types';
import { inRange, notBefore, requiredText } from '@hub/core/validate';
import type { TicketStatus } from '@hub/store/support';
import type { CreateTicketInput, UpdateTicketInput } from '../generated/resolvers-types.js';
import { RESOLVED, TICKET_TRANSITIONS, resolutionHours } from '../tickets.js';

export interface CreateTicketPayload {
  input: CreateTicketInput;
  /** The new ticket's id, chosen by the resolver (a replay answers the first call's ticket, not this one). */
  id: string;
  /** Arrival time: `openedAt` when the input names none. */
  now: Date;
}

export const createTicketKind: SyncKind<CreateTicketPayload> = {
  name: 'create_ticket',
  mutationOnly: true,
  mode: 'insert',
  sourceTime: ({ input, now }) => mutationSourceTime(input, now),
  sourceTimeField: 'input.sourceUpdatedAt',
  map({ input, id, now }) {
    return [
      {
        model: 'Ticket',
        key: { id },
        fields: {
          customerId: requiredText('input.customerId', input.customerId),
          subject: requiredText('input.subject', input.subject),
          description: input.description.trim(),
          priority: input.priority ?? 'NORMAL',
          status: 'OPEN',
          channel: input.channel,
          openedAt: input.openedAt ?? now,
          firstResponseAt: null,
          resolvedAt: null,
          resolutionHours: null,
          satisfactionScore: null,
        },
      },
    ];
  },
  quality: {
    required: ['input.customerId', 'input.subject', 'input.description', 'input.channel'],
    optional: ['input.priority', 'input.openedAt', 'input.sourceSystem', 'input.sourceUpdatedAt'],
  },
};

export interface UpdateTicketPayload {
  input: UpdateTicketInput;
  /**
   * The ticket as the resolver read it: its customer (so the pipeline checks the viewer's row scope
   * against it) and what the life-cycle rules need.
   */
  current: { customerId: string; status: TicketStatus; openedAt: Date; resolvedAt: Date | null };
  /** Arrival time: `resolvedAt` of a move to SOLVED or CLOSED. */
  now: Date;
}

export const updateTicketKind: SyncKind<UpdateTicketPayload> = {
  name: 'update_ticket',
  mutationOnly: true,
  mode: 'update',
  sourceTime: ({ input, now }) => mutationSourceTime(input, now),
  sourceTimeField: 'input.sourceUpdatedAt',
  map({ input, current, now }) {
    const status = input.status ?? current.status;
    if (status !== current.status && !TICKET_TRANSITIONS[current.status].includes(status)) {
      throw badUserInput('input.status', `a ticket cannot move from ${current.status} to ${status}`);
    }
    if (current.status === 'CLOSED') {
      // A closed ticket is history: only the customer's late rating and sync provenance may change.
      for (const field of ['subject', 'description', 'priority', 'firstResponseAt'] as const) {
        if (input[field] != null) throw badUserInput(`input.${field}`, 'cannot change on a CLOSED ticket');
      }
    }
    const { openedAt } = current;
    const fields: Record<string, unknown> = { customerId: current.customerId, status };
    if (input.subject != null) fields['subject'] = requiredText('input.subject', input.subject);
    if (input.description != null) fields['description'] = input.description;
    if (input.priority != null) fields['priority'] = input.priority;
    if (input.firstResponseAt != null) {
      const firstResponseAt = input.firstResponseAt;
      notBefore('input.firstResponseAt', firstResponseAt, openedAt, 'openedAt');
      fields['firstResponseAt'] = firstResponseAt;
    }
    if (status !== current.status) {
      const resolvedAt = RESOLVED.includes(status) ? (current.resolvedAt ?? now) : null;
      fields['resolvedAt'] = resolvedAt;
      fields['resolutionHours'] = resolutionHours(openedAt, resolvedAt);
      // A reopened ticket's old rating no longer describes how it ends.
      if (resolvedAt === null) fields['satisfactionScore'] = null;
    }
    if (input.satisfactionScore != null) {
      if (!RESOLVED.includes(status)) {
        throw badUserInput('input.satisfactionScore', 'can only be given on a SOLVED or CLOSED ticket');
      }
      fields['satisfactionScore'] = inRange('input.satisfactionScore', input.satisfactionScore, 1, 5, true);
    }
    return [{ model: 'Ticket', key: { id: input.id }, fields }];
  },
  quality: {
    required: ['input.id'],
    optional: [
      'input.subject',
      'input.description',
      'input.priority',
      'input.status',
      'input.firstResponseAt',
      'input.satisfactionScore',
      'input.sourceSystem',
      'input.sourceUpdatedAt',
    ],
  },
};
