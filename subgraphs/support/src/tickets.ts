/** Ticket life-cycle rules shared by the mutations and the demo seed. */
import type { TicketStatus } from '@hub/store/support';

/** Status moves a ticket may make. CLOSED is final; SOLVED may be reopened. */
export const TICKET_TRANSITIONS: Readonly<Record<TicketStatus, readonly TicketStatus[]>> = {
  OPEN: ['PENDING', 'SOLVED', 'CLOSED'],
  PENDING: ['OPEN', 'SOLVED', 'CLOSED'],
  SOLVED: ['OPEN', 'CLOSED'],
  CLOSED: [],
};

export const RESOLVED: readonly TicketStatus[] = ['SOLVED', 'CLOSED'];

/** Hours from opening to resolution, rounded to two decimals (kept on the row for aggregates). */
export function resolutionHours(openedAt: Date, resolvedAt: Date | null): number | null {
  if (resolvedAt === null) return null;
  return Math.round(((resolvedAt.getTime() - openedAt.getTime()) / 3_600_000) * 100) / 100;
}
