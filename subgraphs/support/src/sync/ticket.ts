/** `support_ticket_sync`: a ticket as the helpdesk holds it (designed for the hub in the brief's style). */
import { badUserInput } from '@hub/core/errors';
import { instant } from '@hub/core/sync/payload';
import type { QualityCheck, SqlExecutor, SyncKind } from '@hub/core/sync/types';
import { customerId, enumMember, externalId, inRange, notBefore, required, requiredText } from '@hub/core/validate';
import type { TicketChannel, TicketPriority, TicketStatus } from '@hub/store/support';
import type { SupportTicketSyncInput } from '../generated/resolvers-types.js';
import { RESOLVED, resolutionHours } from '../tickets.js';

export const TICKET_STATUSES: readonly TicketStatus[] = ['OPEN', 'PENDING', 'SOLVED', 'CLOSED'];
export const TICKET_PRIORITIES: readonly TicketPriority[] = ['LOW', 'NORMAL', 'HIGH', 'URGENT'];
export const TICKET_CHANNELS: readonly TicketChannel[] = ['EMAIL', 'CHAT', 'PHONE', 'PORTAL'];

type Payload = SupportTicketSyncInput;

const optionalInstant = (field: string, value: Date | string | null | undefined): Date | null =>
  value == null ? null : instant(field, value);

/** The stored customer of each ticket of the batch that the store already holds. */
export type TicketFacts = ReadonlyMap<string, string>;

async function loadTicketCustomers(
  db: SqlExecutor,
  tenantId: string,
  payloads: readonly Payload[],
): Promise<TicketFacts> {
  const ids = [...new Set(payloads.flatMap((p) => (p.ticketId ? [p.ticketId] : [])))];
  if (ids.length === 0) return new Map();
  const rows = await db.query<{ id: string; customerId: string }>(
    `SELECT id, "customerId" FROM "Ticket" WHERE "tenantId" = $1 AND id IN (SELECT jsonb_array_elements_text($2::jsonb))`,
    tenantId,
    JSON.stringify(ids),
  );
  return new Map(rows.map((row) => [row.id, row.customerId]));
}

function plausibility(p: Payload): QualityCheck[] {
  const status = p.status?.toUpperCase() as TicketStatus | undefined;
  const { openedAt, firstResponseAt, resolvedAt } = p.timestamps ?? {};
  const checks: QualityCheck[] = [];
  if (status) {
    // A resolved ticket without its resolution time, or an answered one without its first response, is incomplete history.
    if (RESOLVED.includes(status)) checks.push({ field: 'timestamps.resolvedAt', ok: resolvedAt != null });
    if (status !== 'OPEN') checks.push({ field: 'timestamps.firstResponseAt', ok: firstResponseAt != null });
  }
  if (firstResponseAt != null && resolvedAt != null)
    checks.push({ field: 'timestamps.firstResponseAt', ok: instant('f', firstResponseAt) <= instant('r', resolvedAt) });
  if (p.syncTimestamp != null && openedAt != null) {
    // A snapshot cannot be older than the last change it reports.
    const latest = Math.max(
      ...[openedAt, firstResponseAt, resolvedAt].flatMap((t) => (t == null ? [] : [instant('t', t).getTime()])),
    );
    checks.push({ field: 'syncTimestamp', ok: instant('syncTimestamp', p.syncTimestamp).getTime() >= latest });
  }
  return checks;
}

/** A ticket the hub holds under another customer than the helpdesk now says is suspect (a merge or a typo). */
function customerConsistency(p: Payload, facts: unknown): QualityCheck[] {
  const stored = p.ticketId ? (facts as TicketFacts | undefined)?.get(p.ticketId) : undefined;
  return stored === undefined ? [] : [{ field: 'customerId', ok: stored === p.customerId }];
}

export const supportTicketSync: SyncKind<Payload> = {
  name: 'support_ticket_sync',
  sourceTime: (p) => instant('syncTimestamp', required('syncTimestamp', p.syncTimestamp) as Date | string),
  map(p) {
    const status = enumMember('status', required('status', p.status), TICKET_STATUSES);
    const timestamps = required('timestamps', p.timestamps);
    const openedAt = instant('timestamps.openedAt', required('timestamps.openedAt', timestamps.openedAt));
    const firstResponseAt = optionalInstant('timestamps.firstResponseAt', timestamps.firstResponseAt);
    const resolvedAt = optionalInstant('timestamps.resolvedAt', timestamps.resolvedAt);
    notBefore('timestamps.firstResponseAt', firstResponseAt, openedAt, 'timestamps.openedAt');
    notBefore('timestamps.resolvedAt', resolvedAt, openedAt, 'timestamps.openedAt');
    const resolved = RESOLVED.includes(status);
    if (resolvedAt !== null && !resolved)
      throw badUserInput('timestamps.resolvedAt', 'may only be given on a solved or closed ticket');
    if (p.satisfactionScore != null && !resolved)
      throw badUserInput('satisfactionScore', 'may only be given on a solved or closed ticket');
    return [
      {
        model: 'Ticket',
        key: { id: externalId('ticketId', required('ticketId', p.ticketId)) },
        fields: {
          customerId: customerId('customerId', required('customerId', p.customerId)),
          subject: requiredText('subject', p.subject),
          description: required('description', p.description).trim(),
          status,
          priority: enumMember('priority', required('priority', p.priority), TICKET_PRIORITIES),
          channel: enumMember('channel', required('channel', p.channel), TICKET_CHANNELS),
          openedAt,
          firstResponseAt,
          resolvedAt,
          resolutionHours: resolutionHours(openedAt, resolvedAt),
          satisfactionScore:
            p.satisfactionScore == null ? null : inRange('satisfactionScore', p.satisfactionScore, 1, 5, true),
        },
      },
    ];
  },
  quality: {
    required: [
      'ticketId',
      'customerId',
      'subject',
      'description',
      'status',
      'priority',
      'channel',
      'timestamps.openedAt',
      'syncTimestamp',
    ],
    optional: ['timestamps.firstResponseAt', 'timestamps.resolvedAt', 'satisfactionScore'],
    validity: plausibility,
    consistency: customerConsistency,
    loadFacts: loadTicketCustomers,
  },
};
