/**
 * The health event in the brief's own JSON. A health event (`health.customer_health_sync`) carries
 * in `payload.data` the `customer_health_sync` payload the engine received, camelCased as GraphQL
 * inputs are (`_30DayChange` for `30_day_change`); the key mapping is the NDJSON import's, inverted,
 * so the brief's snake_case JSON comes back 1:1.
 */
import type { EventEnvelope, SyncEventPayload } from '@hub/core/events/types';
import { snakeKeys } from '@hub/core/sync/keys';

export const HEALTH_EVENT_TYPE = 'health.customer_health_sync';

/** `{ "customer_health_sync": { "customer_id": …, "health_metrics": {…}, … } }` of a health event. */
export function briefHealthJson(envelope: EventEnvelope): { customer_health_sync: Record<string, unknown> } {
  if (envelope.type !== HEALTH_EVENT_TYPE) throw new Error(`not a health event: ${envelope.type}`);
  const data = (envelope.payload as unknown as SyncEventPayload).data;
  const json = snakeKeys(data) as Record<string, unknown>;
  // The brief writes times to the second (`2025-12-05T08:21:00Z`); the engine stores them to the ms.
  const at = json['sync_timestamp'];
  if (typeof at === 'string') json['sync_timestamp'] = new Date(at).toISOString().replace(/\.000Z$/, 'Z');
  return { customer_health_sync: json };
}
