/**
 * `npm run job` against the whole hub (seven subgraph processes with their job workers, the gateway):
 * a run queued through the gateway, followed to its end with a summary, recorded and readable by
 * admins in `Query.sync`, and refused to anyone else.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DOMAINS } from '@hub/core/domains';
import { runGatewayCli } from '../gateway/tests/syncCli.js';
import { startHub, type Hub } from './support/hub.js';

const jobCli = (args: string[], token: string | undefined, url: string) => runGatewayCli('job', args, token, url);

describe('npm run job against a running hub', () => {
  let hub: Hub;
  let admin: string;
  let db: pg.Client;

  beforeAll(async () => {
    hub = await startHub();
    admin = await hub.token({ tenant: 'acme', roles: ['admin'] });
    db = new pg.Client({ connectionString: hub.database.url });
    await db.connect();
  });
  afterAll(async () => {
    await db?.end();
    await hub?.stop();
  });

  it('runs finance-rollup for the token’s tenant, follows it and prints the summary', async () => {
    const result = await jobCli(['finance-rollup'], admin, hub.gatewayUrl);
    expect(result.stderr).toMatch(/finance-rollup: queued finance run [0-9a-f-]{36}/);
    expect(result.code, result.stderr).toBe(0);
    const match =
      /finance-rollup \(finance, acme\): SUCCEEDED in [\d.]+ s — processed (\d+)\/(\d+), failed 0 \(run ([0-9a-f-]{36})\)/.exec(
        result.stdout,
      );
    expect(match, result.stdout).not.toBeNull();
    const [, processed, total, runId] = match ?? [];
    // The oracle: every customer finance holds anything of in acme, counted in SQL.
    const { rows } = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM (SELECT "customerId" FROM finance."RevenueAttribution" WHERE "tenantId" = 'acme'
         UNION SELECT "customerId" FROM finance."ValueRealization" WHERE "tenantId" = 'acme'
         UNION SELECT "customerId" FROM finance."FinancialHealth" WHERE "tenantId" = 'acme'
         UNION SELECT "customerId" FROM finance."Invoice" WHERE "tenantId" = 'acme') c`,
    );
    expect(Number(processed)).toBe(rows[0]?.n);
    expect(Number(total)).toBe(rows[0]?.n);
    const rollups = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM finance."FinanceDailyRollup" WHERE "tenantId" = 'acme'`,
    );
    expect(rollups.rows[0]?.n).toBe(rows[0]?.n);

    // Recorded, and visible to the tenant's admin through the gateway (runs and status).
    const res = await hub.query<{
      sync: {
        finance: {
          jobRuns: { edges: { node: { id: string; status: string; trigger: string; processed: number } }[] };
          status: {
            eventsPerSecond: number;
            outboxBacklog: number;
            deadLetters: { sync: number; consumer: number };
            jobRuns: { job: string; status: string }[];
          };
        };
      };
    }>(
      `{ sync { finance {
          jobRuns(first: 1, job: "finance-rollup") { edges { node { id status trigger processed } } }
          status { eventsPerSecond outboxBacklog deadLetters { sync consumer } jobRuns { job status } }
      } } }`,
      {},
      admin,
    );
    expect(res.errors).toBeUndefined();
    const finance = res.data?.sync.finance;
    expect(finance?.jobRuns.edges[0]?.node).toEqual({
      id: runId,
      status: 'SUCCEEDED',
      trigger: 'MANUAL',
      processed: Number(processed),
    });
    expect(finance?.status.jobRuns).toContainEqual({ job: 'finance-rollup', status: 'SUCCEEDED' });
    const recent = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM finance."hub_sync_outbox" WHERE "tenant_id" = 'acme' AND "committed_at" > now() - interval '1 minute'`,
    );
    // At least the rollup's events fell in the last minute (more may have been committed since the status was read).
    expect(finance?.status.eventsPerSecond).toBeGreaterThanOrEqual(Number(processed) / 60 - 0.001);
    expect(finance?.status.eventsPerSecond).toBeLessThanOrEqual((recent.rows[0]?.n ?? 0) / 60 + 0.001);
    const letters = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM finance."hub_sync_dead_letter" WHERE "tenant_id" = 'acme' AND "replayed_at" IS NULL`,
    );
    expect(finance?.status.deadLetters.sync).toBe(letters.rows[0]?.n);
  });

  it('runs integration-health in every domain and stores one report per domain', async () => {
    const result = await jobCli(['integration-health', '--tenant', 'acme'], admin, hub.gatewayUrl);
    expect(result.code, result.stderr).toBe(0);
    for (const domain of DOMAINS) {
      expect(result.stdout).toMatch(new RegExp(`integration-health \\(${domain}, acme\\): SUCCEEDED`));
    }
    const res = await hub.query<{
      sync: { product: { integrationHealth: { edges: { node: { events: number; domain: string } }[] } } };
    }>(`{ sync { product { integrationHealth(first: 1) { edges { node { domain events } } } } } }`, {}, admin);
    const report = res.data?.sync.product.integrationHealth.edges[0]?.node;
    const { rows } = await db.query<{ events: number }>(
      `SELECT "events" FROM product."hub_integration_health" WHERE "tenant_id" = 'acme' ORDER BY "period_start" DESC LIMIT 1`,
    );
    expect(report).toEqual({ domain: 'product', events: rows[0]?.events });
  });

  it('exits non-zero with the reason for an unknown job, a non-admin, another tenant and no token', async () => {
    const unknown = await jobCli(['no-such-job'], admin, hub.gatewayUrl);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/unknown job no-such-job; the hub runs: .*finance-rollup/);
    const manager = await hub.token({ tenant: 'acme', roles: ['cs_manager'], book: ['u1'] });
    const refused = await jobCli(['finance-rollup'], manager, hub.gatewayUrl);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/FORBIDDEN/);
    const foreign = await jobCli(['finance-rollup', '--tenant', 'globex'], admin, hub.gatewayUrl);
    expect(foreign.code).toBe(1);
    expect(foreign.stderr).toMatch(/FORBIDDEN: You may run jobs only for your own tenant/);
    const anonymous = await jobCli(['finance-rollup'], undefined, hub.gatewayUrl);
    expect(anonymous.code).toBe(1);
    expect(anonymous.stderr).toMatch(/no token/);
  });
});
