/**
 * The health domain's consumers (issue 8): one per producing domain whose events feed the formula.
 * Each keeps the event's input rows (inputs.ts) and, when an input changed, recomputes that
 * customer's health and writes it through `ctx.sync` (the health pipeline bound to the consumer's
 * transaction) as `health-engine`, under the idempotency key `health-engine:<event id>`: the inbox
 * row, the inputs, the score, the snapshot and the health outbox event commit together, and a
 * redelivered event is a DUPLICATE that changes nothing.
 *
 * They fold batches (`handleBatch`, issue 8 item 8): the inputs of all the batch's events are kept
 * in their order (two statements), then each customer whose input changed is recomputed once, from
 * its latest inputs, under the key of the last event that changed it, in one pipeline apply. The
 * health a batch leaves is the health its last event alone would have left after the others.
 */
import {
  defineConsumer,
  PermanentEventError,
  type ConsumerBatchContext,
  type ConsumerContext,
  type ConsumerDefinition,
} from '@hub/core/events/types';
import type { Domain } from '@hub/core/subgraph';
import { keepInputsOf } from './inputs.js';
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
 * Takes the per-customer locks of the health consumers, in sorted order (no deadlock between two
 * batches). The four consumers run side by side, and two of them recomputing one customer at once
 * would each miss the other's input.
 */
async function lockCustomers(tx: ConsumerContext['tx'], tenantId: string, customerIds: readonly string[]) {
  const keys = [...new Set(customerIds)].map((id) => `health:${tenantId}:${id}`).sort();
  if (keys.length === 0) return;
  await tx.query(
    `SELECT count(pg_advisory_xact_lock(hashtextextended(k, 0)))
       FROM (SELECT k FROM unnest($1::text[]) WITH ORDINALITY AS t(k, n) ORDER BY n OFFSET 0) s`,
    [keys],
  );
}

/** Handles a batch of one tenant's input events (one event: the same path). */
export async function handleInputEvents(ctx: ConsumerBatchContext, now: () => Date = () => new Date()): Promise<void> {
  const { tenantId, events, tx } = ctx;
  const customers = events.flatMap((event) => (event.customerId === null ? [] : [event.customerId]));
  // Tenant-wide rows (a campaign's definition) feed no customer's health.
  if (customers.length === 0) return;
  await lockCustomers(tx, tenantId, customers);
  const { changed, rows } = await keepInputsOf(tx, tenantId, events);
  if (changed.size === 0) return;
  const ids = [...changed.keys()];
  const results = await recomputeHealth(
    { sql: tx, sync: ctx.sync },
    tenantId,
    ids,
    (customerId) => healthKeyOf(changed.get(customerId) ?? ''),
    now(),
    rows,
  );
  // A computed health the pipeline refuses will be refused again: dead-letter it at once (in a
  // batch, the runtime splits it until the event that leads to it is alone).
  const refused = results.find((result) => result.outcome === 'REJECTED');
  if (refused)
    throw new PermanentEventError(
      `health of ${ids[results.indexOf(refused)] ?? '?'} refused: ${refused.code}: ${refused.reason}`,
    );
}

/** Handles one input event (`handle`: what `handleBatch` does for a batch of one). */
export function handleInputEvent(ctx: ConsumerContext, now?: () => Date): Promise<void> {
  return handleInputEvents({ tenantId: ctx.event.tenantId, events: [ctx.event], tx: ctx.tx, sync: ctx.sync }, now);
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
      handleBatch: (ctx) => handleInputEvents(ctx, now),
    }),
  );
}

export const consumers: readonly ConsumerDefinition[] = healthConsumers();
