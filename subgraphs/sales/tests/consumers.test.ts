/**
 * sales.health-signals against a real sales store: health events (the envelope the health domain
 * emits) run through the handler in a real transaction (events/harness.ts), writes read back by SQL.
 */
import { driverOf, handlerStoreOf, healthEnvelope, runHandler, storePipeline } from '@hub/core/events/harness';
import { PermanentEventError, type EventEnvelope } from '@hub/core/events/types';
import { useTestSubgraph } from '@hub/core/testing';
import { describe, expect, it } from 'vitest';
import { healthSignals } from '../src/consumers.js';
import { subgraph } from '../src/server.js';

const hub = useTestSubgraph(subgraph, { seed: false });
const TENANT = 'acme';
const store = () => handlerStoreOf(subgraph, hub.store.client);
const sql = () => driverOf(hub.store.client);
const handle = (event: EventEnvelope) => runHandler(healthSignals, store(), event);
const hoursAgo = (h: number) => new Date(Date.now() - h * 3_600_000);
let n = 0;
const newCustomer = () => `cust_s${process.pid}${++n}`;

async function signalOf(customerId: string) {
  const [signal] = await sql().query<Record<string, unknown>>(
    `SELECT "healthScore", "expansionOpportunities", "renewalConfidence", "riskIndicators", "sourceSystem", "healthEventId"
       FROM "HealthSignal" WHERE "tenantId" = $1 AND "customerId" = $2`,
    [TENANT, customerId],
  );
  const opportunities = await sql().query<{ id: string; csHealthScore: number | null }>(
    `SELECT id, "csHealthScore" FROM "ExpansionOpportunity" WHERE "tenantId" = $1 AND "customerId" = $2 ORDER BY id`,
    [TENANT, customerId],
  );
  const [{ outbox } = { outbox: 0 }] = await sql().query<{ outbox: number }>(
    `SELECT count(*)::int AS outbox FROM hub_sync_outbox WHERE tenant_id = $1 AND customer_id = $2`,
    [TENANT, customerId],
  );
  return { signal, opportunities, outbox };
}

async function opportunity(customerId: string, id: string, stage: string) {
  const [result] = await storePipeline(store(), TENANT, 'crm').apply([
    {
      kind: 'sales_pipeline_sync',
      payload: {
        customerId,
        expansionOpportunities: [
          {
            opportunityId: id,
            type: 'upsell',
            value: 75000,
            probability: 0.75,
            timeline: 'q4_2030',
            stage,
            successFactors: [],
          },
        ],
        syncTimestamp: hoursAgo(5).toISOString(),
      },
    },
  ]);
  expect(result?.outcome).toBe('APPLIED');
}

describe('sales.health-signals', () => {
  it('a health event sets the expansion signals, renewal confidence and the open opportunities’ health score', async () => {
    const customerId = newCustomer();
    await opportunity(customerId, `op_${customerId}_open`, 'qualified');
    await opportunity(customerId, `op_${customerId}_won`, 'closed_won');
    const event = healthEnvelope({
      tenantId: TENANT,
      customerId,
      at: hoursAgo(1),
      metrics: { usageScore: 90, engagementScore: 80, supportSatisfaction: 70 },
      renewalConfidence: 0.9,
    });
    await handle(event);
    const got = await signalOf(customerId);
    // score = round(0.4 x 90 + 0.3 x 80 + 0.3 x 70) = round(81)
    expect(got.signal).toEqual({
      healthScore: 81,
      expansionOpportunities: ['premium_upgrade'],
      renewalConfidence: 0.9,
      riskIndicators: [],
      sourceSystem: 'health-engine',
      healthEventId: event.id,
    });
    expect(got.opportunities).toEqual([
      { id: `op_${customerId}_open`, csHealthScore: 81 },
      { id: `op_${customerId}_won`, csHealthScore: null },
    ]);
  });

  it('the same health event twice changes nothing (DUPLICATE under the event’s key)', async () => {
    const customerId = newCustomer();
    await opportunity(customerId, `op_${customerId}`, 'proposal');
    const event = healthEnvelope({ tenantId: TENANT, customerId, at: hoursAgo(1) });
    await handle(event);
    const first = await signalOf(customerId);
    await handle(event);
    expect(await signalOf(customerId)).toEqual(first);
  });

  it('an older health event arriving after a newer one leaves the newer signal', async () => {
    const customerId = newCustomer();
    const newer = healthEnvelope({
      tenantId: TENANT,
      customerId,
      at: hoursAgo(1),
      riskIndicators: ['payment_issues'],
      renewalConfidence: 0.3,
      metrics: { usageScore: 20, engagementScore: 20, supportSatisfaction: 20 },
    });
    const older = healthEnvelope({ tenantId: TENANT, customerId, at: hoursAgo(2) });
    await handle(newer);
    await handle(older);
    expect((await signalOf(customerId)).signal).toMatchObject({
      healthScore: 20,
      renewalConfidence: 0.3,
      riskIndicators: ['payment_issues'],
      healthEventId: newer.id,
    });
  });

  it('a health event without metrics is refused for good (PermanentEventError: dead-lettered at once)', async () => {
    const customerId = newCustomer();
    const event = healthEnvelope({ tenantId: TENANT, customerId, at: hoursAgo(1) });
    const broken = { ...event, payload: { ...event.payload, data: { customerId } } };
    await expect(handle(broken)).rejects.toBeInstanceOf(PermanentEventError);
    expect((await signalOf(customerId)).signal).toBeUndefined();
  });
});
