import {
  chunked,
  daysBefore,
  demoCustomers,
  demoRandom,
  DEMO_TENANTS,
  SEED_TRANSACTION,
  type SeedContext,
} from '@hub/core/demo';
import type { Prisma, PrismaClient, TicketChannel, TicketPriority, TicketStatus } from '@hub/store/support';
import { resolutionHours } from './tickets.js';

const CHUNK = 1000;
const HOUR = 3_600_000;

const SUBJECTS: readonly [string, string][] = [
  [
    'Email campaign stuck in sending',
    'A scheduled campaign has been in "sending" for hours and recipients report nothing arrived.',
  ],
  ['Dashboard shows no data for last week', 'The analytics dashboard is empty for the previous seven days.'],
  ['API integration returns 429', 'Our nightly sync hits rate limits on the contacts endpoint.'],
  ['How do I set up an automation workflow?', 'We want to trigger a follow-up email when a trial ends.'],
  ['Invoice address needs updating', 'Please change the billing address on future invoices.'],
  ['SSO login fails for new users', 'Newly provisioned users get an error after the identity provider redirect.'],
  ['Report export times out', 'Exporting the quarterly report to CSV never finishes.'],
  ['Request: custom fields on contacts', 'We need two extra fields on the contact record for our segments.'],
  ['Webhook deliveries delayed', 'Webhook events arrive up to 30 minutes late.'],
  ['Training session for new team members', 'Could we book an onboarding session for three new colleagues?'],
];
const PRIORITIES: readonly TicketPriority[] = ['LOW', 'NORMAL', 'NORMAL', 'NORMAL', 'HIGH', 'HIGH', 'URGENT'];
const CHANNELS: readonly TicketChannel[] = ['EMAIL', 'EMAIL', 'CHAT', 'PHONE', 'PORTAL'];
/** Typical hours to resolve, by priority: [min, max]. */
const RESOLUTION_HOURS: Record<TicketPriority, [number, number]> = {
  URGENT: [1, 12],
  HIGH: [4, 48],
  NORMAL: [8, 96],
  LOW: [24, 240],
};

/**
 * Demo tickets for every demo customer: 0-8 each over the last 180 days; older tickets are
 * mostly solved or closed and most of those are rated, leaning positive for happier customers.
 * Skips a tenant that already has tickets.
 */
export async function seedDemo(client: PrismaClient, seed: SeedContext): Promise<void> {
  for (const tenant of DEMO_TENANTS) {
    if ((await client.ticket.count({ where: { tenantId: tenant.id } })) > 0) continue;
    const tickets: Prisma.TicketCreateManyInput[] = [];
    for (const customer of demoCustomers().filter((c) => c.tenantId === tenant.id)) {
      const rng = demoRandom(`support:${customer.id}`);
      const mood = rng.float(0, 1);
      const count = rng.int(0, 8);
      for (let n = 1; n <= count; n++) {
        const [subject, description] = rng.pick(SUBJECTS);
        const priority = rng.pick(PRIORITIES);
        const openedAt = new Date(daysBefore(rng.float(0, 180, 3)).getTime());
        const ageDays = (daysBefore(0).getTime() - openedAt.getTime()) / (24 * HOUR);
        const roll = rng.next();
        let status: TicketStatus;
        if (ageDays > 14) status = roll < 0.6 ? 'CLOSED' : roll < 0.95 ? 'SOLVED' : 'PENDING';
        else status = roll < 0.3 ? 'OPEN' : roll < 0.5 ? 'PENDING' : 'SOLVED';
        const [minHours, maxHours] = RESOLUTION_HOURS[priority];
        const resolvedAt =
          status === 'SOLVED' || status === 'CLOSED'
            ? new Date(Math.min(openedAt.getTime() + rng.float(minHours, maxHours) * HOUR, daysBefore(0).getTime()))
            : null;
        const firstResponseAt =
          status === 'OPEN'
            ? null
            : new Date(
                Math.min(
                  openedAt.getTime() + rng.float(0.1, Math.min(8, minHours)) * HOUR,
                  resolvedAt?.getTime() ?? daysBefore(0).getTime(),
                ),
              );
        const rated = resolvedAt !== null && rng.next() < 0.8;
        const score = Math.max(1, Math.min(5, Math.round(2.5 + mood * 2.5 + rng.float(-1, 1))));
        tickets.push({
          id: `tkt_${customer.id}_${n}`,
          tenantId: tenant.id,
          customerId: customer.id,
          subject,
          description,
          priority,
          status,
          channel: rng.pick(CHANNELS),
          openedAt,
          firstResponseAt,
          resolvedAt,
          resolutionHours: resolutionHours(openedAt, resolvedAt),
          satisfactionScore: rated ? score : null,
          sourceSystem: 'helpdesk',
          sourceUpdatedAt: resolvedAt ?? firstResponseAt ?? openedAt,
        });
      }
    }
    // One transaction per tenant: an interrupted seed leaves no half-seeded tenant behind.
    await client.$transaction(async (tx) => {
      for (const data of chunked(tickets, CHUNK)) await seed.insertRows(tx, 'Ticket', data);
    }, SEED_TRANSACTION);
  }
}
