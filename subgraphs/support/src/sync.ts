/**
 * The support domain's sync declaration for the one write pipeline (packages/core/src/sync): the
 * helpdesk's `support_ticket_sync` and the two ticket mutations all write through it.
 */
import { defineSync } from '@hub/core/sync/types';
import { createTicketKind, updateTicketKind } from './sync/mutations.js';
import { supportRollupKind } from './sync/rollup.js';
import { supportTicketSync } from './sync/ticket.js';

export const sync = defineSync({
  domain: 'support',
  kinds: [supportTicketSync, createTicketKind, updateTicketKind, supportRollupKind],
  models: {
    // Keyed by the helpdesk's ticket id within the tenant (the Ticket primary key is (tenantId, id)).
    // No system of record: tickets are edited both in the helpdesk and in the hub (`updateTicket` by CS
    // managers), so an owner would make one side's edits silently lose; the later source time wins.
    Ticket: { key: ['id'] },
    // Derived by the support-consolidation job alone: the latest run wins.
    SupportDailyRollup: { key: ['customerId', 'day'] },
  },
});
