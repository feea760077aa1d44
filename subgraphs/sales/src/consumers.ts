/**
 * Sales' consumers (issue 8). `sales.health-signals`: each computed health
 * (`health.customer_health_sync`) sets the customer's expansion signals and renewal confidence, and
 * the health score of its open opportunities, through sales' own pipeline under the key
 * `sales.health-signals:<health event id>` — a redelivered event is a DUPLICATE.
 */
import { healthEventOf, HEALTH_EVENT_TYPE } from '@hub/core/events/health';
import { defineConsumer, PermanentEventError, type ConsumerDefinition } from '@hub/core/events/types';
import { healthSignalPayload } from './healthSignals.js';

const NAME = 'sales.health-signals';

export const healthSignals = defineConsumer({
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
    // In the consumer's transaction, so the ids and the write agree (an opportunity created after
    // this read gets the next health's score).
    const open = await ctx.tx.query<{ id: string }>(
      `SELECT id FROM "ExpansionOpportunity"
        WHERE "tenantId" = $1 AND "customerId" = $2 AND stage NOT IN ('CLOSED_WON', 'CLOSED_LOST') ORDER BY id`,
      [ctx.event.tenantId, health.customerId],
    );
    const [result] = await ctx.sync.apply([
      {
        kind: 'health_signal',
        source: 'health-engine',
        idempotencyKey: `${NAME}:${ctx.event.id}`,
        payload: healthSignalPayload(
          ctx.event.id,
          health,
          open.map((row) => row.id),
        ),
      },
    ]);
    if (result?.outcome === 'REJECTED') throw new PermanentEventError(`${result.code}: ${result.reason}`);
  },
});

export const consumers: readonly ConsumerDefinition[] = [healthSignals];
