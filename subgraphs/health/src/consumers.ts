/**
 * The health domain's consumers (issue 8): one per producing domain whose events feed the formula.
 * Each keeps the event's input rows (inputs.ts) and, when an input changed, recomputes that
 * customer's health and writes it through `ctx.sync` (the health pipeline bound to the consumer's
 * transaction) as `health-engine`, under the idempotency key `health-engine:<event id>`: the inbox
 * row, the inputs, the score, the snapshot and the health outbox event commit together, and a
 * redelivered event is a DUPLICATE that changes nothing.
 */
import {
  defineConsumer,
  PermanentEventError,
  type ConsumerContext,
  type ConsumerDefinition,
} from '@hub/core/events/types';
import type { Domain } from '@hub/core/subgraph';
import { keepInputs } from './inputs.js';
import { HEALTH_ENGINE, recomputeHealth } from './recompute.js';

/** Idempotency key of the health written because of `eventId`. */
export const healthKeyOf = (eventId: string) => `${HEALTH_ENGINE}:${eventId}`;

/** What each consumer reads: the kinds of its domain whose rows carry health inputs. */
const FEEDS: readonly { name: string; from: Domain; kinds: readonly string[] }[] = [
  {
    name: 'usage',
    from: 'product',
    kinds: ['usage_analytics_sync', 'record_feature_usage', 'record_adoption_metrics'],
  },
  { name: 'support', from: 'support', kinds: ['support_ticket_sync', 'create_ticket', 'update_ticket'] },
  {
    name: 'finance',
    from: 'finance',
    kinds: ['financial_performance_sync', 'create_invoice', 'update_invoice_status'],
  },
  {
    name: 'marketing',
    from: 'marketing',
    kinds: ['marketing_data_sync', 'record_journey_stage', 'record_campaign_performance'],
  },
];

/**
 * Handles one input event. The transaction first takes a lock per customer: the four consumers run
 * side by side, and two of them recomputing one customer at once would each miss the other's input.
 */
export async function handleInputEvent(ctx: ConsumerContext, now: () => Date = () => new Date()): Promise<void> {
  const { event, tx } = ctx;
  const customerId = event.customerId;
  if (customerId === null) return; // tenant-wide rows (a campaign's definition) feed no customer's health
  await tx.query(`SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, [`health:${event.tenantId}:${customerId}`]);
  if (!(await keepInputs(tx, event))) return;
  const [result] = await recomputeHealth(
    { sql: tx, sync: ctx.sync },
    event.tenantId,
    [customerId],
    () => healthKeyOf(event.id),
    now(),
  );
  // A computed health the pipeline refuses will be refused again: dead-letter it at once.
  if (result?.outcome === 'REJECTED')
    throw new PermanentEventError(`health of ${customerId} refused: ${result.code}: ${result.reason}`);
}

/** The consumers; `now` is injectable for tests (the formula's freshness and the health's sync time). */
export function healthConsumers(now?: () => Date): ConsumerDefinition[] {
  return FEEDS.map((feed) =>
    defineConsumer({
      name: `health.${feed.name}`,
      from: feed.from,
      types: feed.kinds.map((kind) => `${feed.from}.${kind}`),
      source: HEALTH_ENGINE,
      handle: (ctx) => handleInputEvent(ctx, now),
    }),
  );
}

export const consumers: readonly ConsumerDefinition[] = healthConsumers();
