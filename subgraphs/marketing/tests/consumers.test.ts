/**
 * marketing.health-triggers against a real marketing store: health events (the envelope the health
 * domain emits) run through the handler in a real transaction (events/harness.ts), read back by SQL.
 */
import { driverOf, handlerStoreOf, healthEnvelope, runHandler } from '@hub/core/events/harness';
import { PermanentEventError, type EventEnvelope } from '@hub/core/events/types';
import { useTestSubgraph } from '@hub/core/testing';
import { describe, expect, it } from 'vitest';
import { healthTriggers } from '../src/consumers.js';
import { subgraph } from '../src/server.js';

const hub = useTestSubgraph(subgraph, { seed: false });
const TENANT = 'acme';
const store = () => handlerStoreOf(subgraph, hub.store.client);
const handle = (event: EventEnvelope) => runHandler(healthTriggers, store(), event);
const hoursAgo = (h: number) => new Date(Date.now() - h * 3_600_000);
let n = 0;
const newCustomer = () => `cust_m${process.pid}${++n}`;

async function triggersOf(customerId: string) {
  const sql = driverOf(hub.store.client);
  const [row] = await sql.query<Record<string, unknown>>(
    `SELECT segment, "campaignTriggers", "riskIndicators", "healthScore", "healthEventId", "sourceSystem"
       FROM "HealthCampaignTrigger" WHERE "tenantId" = $1 AND "customerId" = $2`,
    [TENANT, customerId],
  );
  const [{ outbox } = { outbox: 0 }] = await sql.query<{ outbox: number }>(
    `SELECT count(*)::int AS outbox FROM hub_sync_outbox WHERE tenant_id = $1 AND customer_id = $2`,
    [TENANT, customerId],
  );
  return { row, outbox };
}

describe('marketing.health-triggers', () => {
  it('a customer’s risk (from its health event) sets the retention trigger and the at-risk segment', async () => {
    const customerId = newCustomer();
    const event = healthEnvelope({
      tenantId: TENANT,
      customerId,
      at: hoursAgo(1),
      metrics: { usageScore: 20, engagementScore: 30, supportSatisfaction: 40 },
      riskIndicators: ['low_usage', 'low_engagement'],
      campaignTriggers: ['retention_outreach'],
      segment: 'at_risk_customers',
    });
    await handle(event);
    // score = round(0.4 x 20 + 0.3 x 30 + 0.3 x 40) = 29
    expect(await triggersOf(customerId)).toEqual({
      row: {
        segment: 'at_risk_customers',
        campaignTriggers: ['retention_outreach'],
        riskIndicators: ['low_usage', 'low_engagement'],
        healthScore: 29,
        healthEventId: event.id,
        sourceSystem: 'health-engine',
      },
      outbox: 1,
    });
  });

  it('redelivery changes nothing, and an older health never overwrites a newer one', async () => {
    const customerId = newCustomer();
    const newer = healthEnvelope({ tenantId: TENANT, customerId, at: hoursAgo(1) });
    const older = healthEnvelope({
      tenantId: TENANT,
      customerId,
      at: hoursAgo(3),
      campaignTriggers: ['retention_outreach'],
      segment: 'at_risk_customers',
    });
    await handle(newer);
    const first = await triggersOf(customerId);
    await handle(newer);
    await handle(older);
    await handle(older);
    expect(await triggersOf(customerId)).toEqual(first);
    expect(first.row).toMatchObject({ segment: 'high_value_growth', campaignTriggers: ['expansion_ready'] });
  });

  it('a health event of another type or without metrics is refused for good', async () => {
    const customerId = newCustomer();
    const event = healthEnvelope({ tenantId: TENANT, customerId, at: hoursAgo(1) });
    await expect(handle({ ...event, type: 'health.record_health_score' })).rejects.toBeInstanceOf(PermanentEventError);
    await expect(handle({ ...event, payload: { ...event.payload, data: {} } })).rejects.toBeInstanceOf(
      PermanentEventError,
    );
    expect((await triggersOf(customerId)).row).toBeUndefined();
  });
});
