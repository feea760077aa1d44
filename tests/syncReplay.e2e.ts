/**
 * `npm run sync:replay` against the whole hub (seven subgraph processes, their relays and consumers
 * on the embedded bus, the gateway): usage events recorded through the gateway reach the health
 * consumer; replaying product's stream from a cursor and from a time re-drives nothing twice (the
 * inbox skips all), an event whose inbox row is gone is re-driven and still changes nothing (the
 * handler finds its inputs kept), and a non-admin token is refused.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runGatewayCli } from '../gateway/tests/syncCli.js';
import { startHub, type Hub } from './support/hub.js';

const replayCli = (args: string[], token: string | undefined, url: string) =>
  runGatewayCli('sync-replay', args, token, url);

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

const RECORD = `mutation Record($input: RecordFeatureUsageInput!) { recordFeatureUsage(input: $input) { usageCount } }`;

describe('npm run sync:replay against a running hub', () => {
  let hub: Hub;
  let admin: string;
  let db: pg.Client;
  /** The product stream's position before the test's events, and the time. */
  let cursor: string;
  let since: string;
  let ids: string[];

  /** What the health consumer's work left: snapshots, health events, inbox rows of health.usage. */
  const healthState = async () => {
    const { rows } = await db.query<{ snapshots: number; events: number; inbox: number }>(
      `SELECT (SELECT count(*)::int FROM health."HealthSnapshot") AS snapshots,
              (SELECT count(*)::int FROM health.hub_sync_outbox) AS events,
              (SELECT count(*)::int FROM health.hub_event_inbox WHERE consumer = 'health.usage') AS inbox`,
    );
    return rows[0];
  };

  beforeAll(async () => {
    hub = await startHub();
    admin = await hub.token({ tenant: 'acme', roles: ['admin'] });
    db = new pg.Client({ connectionString: hub.database.url });
    await db.connect();
    const { rows } = await db.query<{ seq: string }>(
      `SELECT coalesce(max(seq), 0)::text AS seq FROM product.hub_sync_outbox`,
    );
    cursor = rows[0]?.seq ?? '0';
    await new Promise((resolve) => setTimeout(resolve, 50));
    since = new Date().toISOString();
    for (const [i, customerId] of ['cust_00001', 'cust_00002', 'cust_00003'].entries()) {
      const result = await hub.query(
        RECORD,
        {
          input: {
            customerId,
            periodStart: '2026-11-01',
            periodEnd: '2026-11-30',
            feature: 'replay_probe',
            category: 'CORE',
            usageCount: 40 + i,
            adoptionScore: 0.5,
            successCorrelation: 0.5,
            sourceUpdatedAt: new Date().toISOString(),
          },
        },
        admin,
      );
      expect(result.errors).toBeUndefined();
    }
    const events = await db.query<{ id: string }>(
      `SELECT id::text FROM product.hub_sync_outbox WHERE seq > $1 ORDER BY seq`,
      [cursor],
    );
    ids = events.rows.map((r) => r.id);
    expect(ids).toHaveLength(3);
    // The live consumer applied them (the embedded bus: health long-polls product's `_events`).
    await waitFor('health.usage applied the three events', async () => {
      const applied = await db.query(
        `SELECT 1 FROM health.hub_event_inbox WHERE consumer = 'health.usage' AND event_id = ANY($1::uuid[])`,
        [ids],
      );
      return applied.rowCount === 3 ? true : undefined;
    });
  });
  afterAll(async () => {
    await db?.end();
    await hub?.stop();
  });

  it('from a cursor and from a time: every event read, every one skipped, nothing changes', async () => {
    const before = await healthState();
    const fromCursor = await replayCli(['--from', cursor, '--domain', 'product'], admin, hub.gatewayUrl);
    expect(fromCursor.code, fromCursor.stdout + fromCursor.stderr).toBe(0);
    expect(fromCursor.stdout).toContain('health.usage: read 3, re-drove 0, skipped 3 (inbox), failed 0');
    const fromTime = await replayCli(
      ['--from', since, '--domain', 'product', '--consumer', 'health.usage'],
      admin,
      hub.gatewayUrl,
    );
    expect(fromTime.code, fromTime.stdout + fromTime.stderr).toBe(0);
    expect(fromTime.stdout).toContain('health.usage: read 3, re-drove 0, skipped 3 (inbox), failed 0');
    expect(fromTime.stdout).toContain('replay from');
    expect(await healthState()).toEqual(before);
  });

  it('an event whose inbox row is gone is re-driven once and writes nothing twice', async () => {
    const before = await healthState();
    await db.query(`DELETE FROM health.hub_event_inbox WHERE consumer = 'health.usage' AND event_id = $1::uuid`, [
      ids[1],
    ]);
    const first = await replayCli(['--from', cursor, '--domain', 'product'], admin, hub.gatewayUrl);
    expect(first.code, first.stdout + first.stderr).toBe(0);
    expect(first.stdout).toContain('health.usage: read 3, re-drove 1, skipped 2 (inbox), failed 0');
    // Re-driven through the handler again: its inputs are already kept (same values, same source
    // time), so no recompute, no second snapshot, no second health event.
    expect(await healthState()).toEqual(before);
    const again = await replayCli(['--from', cursor, '--domain', 'product'], admin, hub.gatewayUrl);
    expect(again.stdout).toContain('health.usage: read 3, re-drove 0, skipped 3 (inbox), failed 0');
    expect(await healthState()).toEqual(before);
  });

  it('refuses a token that is not an admin’s', async () => {
    const manager = await hub.token({ tenant: 'acme', roles: ['cs_manager'], sub: 'u1' });
    const result = await replayCli(['--from', cursor, '--domain', 'product'], manager, hub.gatewayUrl);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/error \(FORBIDDEN\)/);
    expect(result.stdout).not.toContain('re-drove 1');
  });
});
