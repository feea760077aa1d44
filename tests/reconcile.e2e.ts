/**
 * Reconciliation through the running hub (seven subgraph processes on PostgreSQL, the gateway):
 * `npm run job -- reconcile` finds the demo hub consistent in every domain; then one domain's store
 * is damaged (sales: a replica row deleted, a replica owner changed; health: a score changed) and the
 * next run reports it (exit code 2: items differ) with its score, read as an admin through the
 * gateway; `--repair` re-drives it; the run after finds nothing anywhere.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DOMAINS } from '@hub/core/domains';
import { runGatewayCli } from '../gateway/tests/syncCli.js';
import { startHub, type Hub } from './support/hub.js';

const jobCli = (args: string[], token: string | undefined, url: string) => runGatewayCli('job', args, token, url);

interface Report {
  checked: number;
  differing: number;
  repaired: number;
  score: number;
  target: number;
  checks: { check: string; checked: number; differing: number; repaired: number }[];
  differences: { check: string; key: string; kind: string; fields: string[]; repaired: boolean }[];
}

describe('reconcile against a running hub', () => {
  let hub: Hub;
  let admin: string;
  let db: pg.Client;

  const reports = async () => {
    const res = await hub.query<{ sync: Record<string, { reconciliation: Report | null }> }>(
      `{ sync { ${DOMAINS.map(
        (d) =>
          `${d} { reconciliation { checked differing repaired score target checks { check checked differing repaired }
             differences { check key kind fields repaired } } }`,
      ).join(' ')} } }`,
      {},
      admin,
    );
    expect(res.errors).toBeUndefined();
    return Object.fromEntries(DOMAINS.map((d) => [d, res.data?.sync[d]?.reconciliation ?? null]));
  };

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

  it('finds the demo hub consistent, reports damage in one domain, repairs it, and then finds nothing', async () => {
    // The demo seeds health scores without any inputs: not what the formula gives, until the daily
    // health-recompute has run. The first reconcile says so, and nothing else differs.
    const fresh = await jobCli(['reconcile', '--tenant', 'acme'], admin, hub.gatewayUrl);
    expect(fresh.code, fresh.stdout + fresh.stderr).toBe(2);
    const seeded = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM health."HealthScore" WHERE "tenantId" = 'acme' AND "sourceSystem" = 'health-engine'`,
    );
    const first = await reports();
    expect(first['health']?.checks).toContainEqual({
      check: 'health',
      checked: seeded.rows[0]?.n,
      differing: seeded.rows[0]?.n,
      repaired: 0,
    });
    for (const domain of DOMAINS.filter((d) => d !== 'health'))
      expect(first[domain], domain).toMatchObject({ differing: 0, score: 1 });
    const recompute = await jobCli(['health-recompute', '--tenant', 'acme'], admin, hub.gatewayUrl);
    expect(recompute.code, recompute.stdout + recompute.stderr).toBe(0);

    const clean = await jobCli(['reconcile', '--tenant', 'acme'], admin, hub.gatewayUrl);
    expect(clean.code, clean.stdout + clean.stderr).toBe(0);
    for (const domain of DOMAINS)
      expect(clean.stdout).toMatch(new RegExp(`reconcile \\(${domain}, acme\\): SUCCEEDED`));
    const before = await reports();
    for (const domain of DOMAINS)
      expect(before[domain], domain).toMatchObject({ differing: 0, score: 1, target: 0.995 });
    // Every domain but customers compared its replica with the customers domain's customers.
    expect(before['sales']?.checked).toBeGreaterThan(0);

    const { rows } = await db.query<{ customer_id: string }>(
      `SELECT "customer_id" FROM sales."hub_customer_replica" WHERE "tenant_id" = 'acme' AND NOT "deleted" ORDER BY 1 LIMIT 2`,
    );
    const [gone, moved] = rows.map((row) => row.customer_id);
    await db.query(`DELETE FROM sales."hub_customer_replica" WHERE "tenant_id" = 'acme' AND "customer_id" = $1`, [
      gone,
    ]);
    await db.query(
      `UPDATE sales."hub_customer_replica" SET "owner_id" = 'nobody' WHERE "tenant_id" = 'acme' AND "customer_id" = $1`,
      [moved],
    );
    const health = await db.query<{ customerId: string }>(
      `UPDATE health."HealthScore" SET "score" = "score" + 9 WHERE ("tenantId", "customerId") =
         (SELECT "tenantId", "customerId" FROM health."HealthScore" WHERE "tenantId" = 'acme' AND "sourceSystem" = 'health-engine'
           ORDER BY "customerId" LIMIT 1) RETURNING "customerId"`,
    );
    const changed = health.rows[0]?.customerId;

    const found = await jobCli(['reconcile', '--tenant', 'acme'], admin, hub.gatewayUrl);
    expect(found.code, found.stdout + found.stderr).toBe(2);
    const damaged = await reports();
    expect(damaged['sales']?.differences.map(({ key, kind, fields }) => ({ key, kind, fields }))).toEqual([
      { key: `customer:${gone}`, kind: 'missing', fields: [] },
      { key: `customer:${moved}`, kind: 'different', fields: ['ownerId'] },
    ]);
    expect(damaged['sales']?.score).toBeCloseTo(1 - 2 / (damaged['sales']?.checked ?? 1), 10);
    expect(damaged['health']?.differences).toContainEqual({
      check: 'health',
      key: `health:${changed}`,
      kind: 'different',
      fields: ['score'],
      repaired: false,
    });
    for (const domain of ['customers', 'marketing', 'product', 'finance', 'support'])
      expect(damaged[domain], domain).toMatchObject({ differing: 0 });

    const repair = await jobCli(['reconcile', '--tenant', 'acme', '--repair'], admin, hub.gatewayUrl);
    expect(repair.code, repair.stdout + repair.stderr).toBe(0);
    const repaired = await reports();
    expect(repaired['sales']).toMatchObject({ differing: 2, repaired: 2 });
    expect(repaired['health']?.differences.every((d) => d.repaired)).toBe(true);

    const after = await jobCli(['reconcile', '--tenant', 'acme'], admin, hub.gatewayUrl);
    expect(after.code, after.stdout + after.stderr).toBe(0);
    const final = await reports();
    for (const domain of DOMAINS) expect(final[domain], domain).toMatchObject({ differing: 0, score: 1 });
    const replica = await db.query(
      `SELECT "customer_id", "owner_id" = 'nobody' AS "wrong", "deleted" FROM sales."hub_customer_replica"
        WHERE "tenant_id" = 'acme' AND "customer_id" = ANY($1::text[]) ORDER BY 1`,
      [[gone, moved]],
    );
    expect(replica.rows).toEqual([gone, moved].sort().map((id) => ({ customer_id: id, wrong: false, deleted: false })));
  }, 600_000);
});
