/**
 * Marketing's consumers (issue 8). `marketing.health-triggers`: each computed health
 * (`health.customer_health_sync`) sets the customer's campaign triggers and segment through
 * marketing's own pipeline, under the key `marketing.health-triggers:<health event id>` — a
 * redelivered event is a DUPLICATE, and the inbox row commits with the write.
 */
import { healthEventOf, HEALTH_EVENT_TYPE } from '@hub/core/events/health';
import { defineConsumer, PermanentEventError, type ConsumerDefinition } from '@hub/core/events/types';
import { healthTriggerPayload } from './healthTriggers.js';

const NAME = 'marketing.health-triggers';

export const healthTriggers = defineConsumer({
  name: NAME,
  from: 'health',
  types: [HEALTH_EVENT_TYPE],
  source: 'health-engine',
  async handle(ctx) {
    let health;
    try {
      health = healthEventOf(ctx.event);
    } catch (error) {
      throw new PermanentEventError((error as Error).message);
    }
    const [result] = await ctx.sync.apply([
      {
        kind: 'health_campaign_trigger',
        source: 'health-engine',
        idempotencyKey: `${NAME}:${ctx.event.id}`,
        payload: healthTriggerPayload(ctx.event.id, health),
      },
    ]);
    if (result?.outcome === 'REJECTED') throw new PermanentEventError(`${result.code}: ${result.reason}`);
  },
});

export const consumers: readonly ConsumerDefinition[] = [healthTriggers];
