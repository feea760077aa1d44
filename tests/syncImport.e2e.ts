/**
 * Bulk import against the whole hub as real processes (tests/support/hub.ts): `POST /sync/product`
 * with the brief's NDJSON lines into the real engine and stores, and `npm run sync:import` killed
 * mid-way and resumed. The route's own protocol (streaming, back-pressure, batching) is pinned in
 * gateway/tests/syncImport.test.ts.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { finished, spawnCli, waitForProgress } from '../gateway/tests/syncCli.js';
import { BRIEF_USAGE_ANALYTICS } from '../gateway/tests/syncFixtures.js';
import { startHub, type Hub } from './support/hub.js';

type Answer = Record<string, unknown>;

async function postNdjson(url: string, body: string, bearer?: string): Promise<{ status: number; lines: Answer[] }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-ndjson', ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) },
    body,
  });
  const text = await response.text();
  const lines = text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Answer);
  return { status: response.status, lines };
}

const usage = BRIEF_USAGE_ANALYTICS.usage_analytics_sync;

/** A brief usage line for `customerId` and one month, with one feature named `feature`. */
function usageLine(customerId: string, month: number, feature: string): string {
  const year = 2000 + Math.floor(month / 12);
  const mm = String((month % 12) + 1).padStart(2, '0');
  const last = new Date(Date.UTC(year, (month % 12) + 1, 0)).getUTCDate();
  return JSON.stringify({
    usage_analytics_sync: {
      ...usage,
      customer_id: customerId,
      usage_period: `${year}-${mm}-01_to_${year}-${mm}-${last}`,
      feature_usage: { core_features: { [feature]: usage.feature_usage.core_features.email_campaigns } },
    },
  });
}

describe('bulk import into the running hub', () => {
  let hub: Hub;
  let admin: string;
  let syncUrl: string;
  let dir: string;

  beforeAll(async () => {
    // Small batches make the CLI's import long enough to be killed mid-way.
    hub = await startHub({ gatewayEnv: { HUB_SYNC_BATCH_SIZE: '100' } });
    admin = await hub.token({ tenant: 'acme', roles: ['admin'] });
    syncUrl = `${new URL(hub.gatewayUrl).origin}/sync/product`;
    dir = await mkdtemp(path.join(tmpdir(), 'sync-e2e-'));
  });
  afterAll(async () => {
    await hub?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const featureRows = async (feature: string) => {
    const result = await hub.query<{ featureUsage: { totalCount: number } }>(
      'query ($feature: String) { featureUsage(first: 0, filter: { feature: $feature }) { totalCount } }',
      { feature },
      admin,
    );
    expect(result.errors).toBeUndefined();
    return result.data?.featureUsage.totalCount ?? -1;
  };

  it("applies the brief's usage analytics line as written (snake_case), answers DUPLICATE when re-sent, and the rows are stored", async () => {
    // The brief's example names cust_12345; the demo tenant's customers are cust_00001…
    const line = JSON.stringify({ usage_analytics_sync: { ...usage, customer_id: 'cust_00001' } });
    const first = await postNdjson(syncUrl, `${line}\n`, admin);
    expect(first.status).toBe(200);
    expect(first.lines[0]).toMatchObject({ line: 1, outcome: 'APPLIED' });
    expect(first.lines[1]).toEqual({
      summary: { applied: 1, merged: 0, stale: 0, duplicate: 0, rejected: 0, lines: 1 },
    });

    const stored = await hub.query<{ customer: { usage: { feature: string; usageCount: number }[] } }>(
      '{ customer(id: "cust_00001") { usage(periodStart: "2025-11-01") { feature usageCount } } }',
      {},
      admin,
    );
    expect(stored.data?.customer.usage).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ feature: 'email_campaigns', usageCount: 45 }),
        expect.objectContaining({ feature: 'api_integrations', usageCount: 2 }),
      ]),
    );

    const again = await postNdjson(syncUrl, `${line}\n`, admin);
    expect(again.lines[0]).toMatchObject({
      line: 1,
      outcome: 'DUPLICATE',
      first_outcome: 'APPLIED',
      idempotency_key: first.lines[0]?.['idempotency_key'],
    });
  });

  it('rejects a bad line with its number and applies the others; an unknown customer is rejected by the engine', async () => {
    const lines = [
      usageLine('cust_00002', 1, 'bad_line_feature'),
      '{"usage_analytics_sync": {"customer_id": ',
      usageLine('cust_00003', 1, 'bad_line_feature'),
      JSON.stringify({ usage_analytics_sync: usage }), // the brief's own cust_12345: not a customer of acme
      usageLine('cust_00301', 1, 'bad_line_feature'), // globex's customer: not acme's
      usageLine('cust_00004', 1, 'bad_line_feature'),
    ];
    const { lines: answers } = await postNdjson(syncUrl, lines.join('\n'), admin);
    expect(answers.map((a) => [a['line'], a['outcome'], a['code'] ?? null])).toEqual([
      [1, 'APPLIED', null],
      [2, 'REJECTED', 'BAD_USER_INPUT'],
      [3, 'APPLIED', null],
      [4, 'REJECTED', 'NOT_FOUND'],
      [5, 'REJECTED', 'NOT_FOUND'],
      [6, 'APPLIED', null],
      [undefined, undefined, null],
    ]);
    expect(answers[3]?.['reason']).toEqual(expect.stringMatching(/\S/));
    expect(await featureRows('bad_line_feature')).toBe(3);
  });

  it('refuses without a token (401), an unknown domain (404), NDJSON as JSON (415), a role without product writes (403)', async () => {
    const body = `${usageLine('cust_00005', 2, 'refused_feature')}\n`;
    const origin = new URL(hub.gatewayUrl).origin;
    const salesRep = await hub.token({ tenant: 'acme', roles: ['sales_rep'], book: ['u1'] });
    const cases: [Promise<{ status: number; lines: Answer[] }>, number, string][] = [
      [postNdjson(syncUrl, body), 401, 'UNAUTHENTICATED'],
      [postNdjson(`${origin}/sync/billing`, body, admin), 404, 'NOT_FOUND'],
      [postNdjson(syncUrl, body, salesRep), 403, 'FORBIDDEN'],
    ];
    for (const [pending, status, code] of cases) {
      const { status: got, lines } = await pending;
      expect(got).toBe(status);
      expect(lines[0]).toMatchObject({ errors: [{ extensions: { code } }] });
    }
    const json = await fetch(syncUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}` },
      body,
    });
    expect(json.status).toBe(415);
    expect(await json.json()).toMatchObject({ errors: [{ extensions: { code: 'BAD_REQUEST' } }] });
    expect(await featureRows('refused_feature')).toBe(0);
  });

  it('resumes an import killed mid-way (SIGKILL): every line applied once, acknowledged lines not sent again', async () => {
    const file = path.join(dir, 'usage.ndjson');
    const total = 5000;
    // 250 acme customers x 20 months, one feature row each.
    const lines = Array.from({ length: total }, (_, i) =>
      usageLine(`cust_${String((i % 250) + 1).padStart(5, '0')}`, Math.floor(i / 250), 'resume_feature'),
    );
    await writeFile(file, `${lines.join('\n')}\n`);
    const args = ['--domain', 'product', '--url', hub.gatewayUrl, '--json', '--source', 'e2e', file];

    const child = spawnCli(args, { HUB_TOKEN: admin });
    const done = finished(child);
    await waitForProgress(file, 1000);
    child.kill('SIGKILL');
    expect((await done).signal).toBe('SIGKILL');
    const progress = JSON.parse(await readFile(`${file}.progress`, 'utf8')) as { line: number };
    expect(progress.line).toBeGreaterThanOrEqual(1000);
    expect(progress.line).toBeLessThan(total);

    const resumed = await finished(spawnCli(args, { HUB_TOKEN: admin }));
    expect(resumed.stderr).toMatch(new RegExp(`resuming after line ${progress.line}`));
    expect(resumed.code).toBe(0);
    const summary = JSON.parse(resumed.stdout) as Record<string, number>;
    expect(summary).toMatchObject({ skipped: progress.line, lines: total - progress.line, rejected: 0 });
    // Lines the first run sent but whose answers it did not record come back DUPLICATE.
    expect((summary['applied'] ?? 0) + (summary['duplicate'] ?? 0)).toBe(total - progress.line);
    expect(await featureRows('resume_feature')).toBe(total);

    // The whole file again: every line was applied exactly once before, so every one is a duplicate.
    const replay = await finished(spawnCli([...args.slice(0, -1), '--restart', file], { HUB_TOKEN: admin }));
    expect(JSON.parse(replay.stdout)).toMatchObject({
      applied: 0,
      merged: 0,
      stale: 0,
      duplicate: total,
      lines: total,
    });
  });
});
