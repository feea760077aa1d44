/**
 * The hub's browser pages in a real browser (Debian's Chromium through playwright-core, see
 * support/browser.ts) against the whole hub as real processes (seven subgraphs over PostgreSQL and
 * the gateway, production mode): the offline GraphiQL and the integration console, each under the
 * gateway's Content-Security-Policy and with no request leaving the hub's origin.
 *
 * Screenshots go to .data/screenshots/; `HUB_UPDATE_SCREENSHOTS=1` also writes the README's
 * docs/screenshots/.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHub, type Hub } from '../support/hub.js';
import { launchBrowser, type HubBrowser } from '../support/browser.js';

let hub: Hub;
let browser: HubBrowser;
let origin: string;
let admin: string;

beforeAll(async () => {
  hub = await startHub();
  origin = new URL(hub.gatewayUrl).origin;
  browser = await launchBrowser(origin);
  admin = await hub.token({ tenant: 'acme', roles: ['admin'], sub: 'admin1', expiresIn: '1h' });
}, 600_000);
afterAll(async () => {
  await browser?.close();
  await hub?.stop();
});

/** How long a page may take to show something (Monaco and its workers load after the page). */
const soon = { timeout: 20_000 };

/** Monaco renders spaces as no-break spaces. */
const text = (value: string) => value.replace(/\u00a0/g, ' ');

describe('the offline explorer (/graphiql)', () => {
  it('runs a query with an admin token handed over in the URL and shows the answer', async () => {
    const { page, problems } = await browser.open(`${origin}/graphiql#token=${admin}`);
    // The token is taken into the tab's storage and out of the address bar at once.
    expect(page.url()).toBe(`${origin}/graphiql`);
    await expect.poll(() => page.getByTestId('credential').textContent(), soon).toContain('admin1 @ acme (admin)');

    const answered = page.waitForResponse(
      (response) =>
        response.url() === hub.gatewayUrl && (response.request().postData() ?? '').includes('FirstCustomers'),
    );
    // Monaco loads its editor and workers after the page: run once the query is in the editor.
    await expect
      .poll(async () => text(await page.locator('.graphiql-query-editor').innerText()), soon)
      .toContain('query FirstCustomers');
    await page.locator('.graphiql-execute-button').click();
    const response = await answered;
    expect(response.status()).toBe(200);
    expect(response.request().headers()['authorization']).toBe(`Bearer ${admin}`);
    const body = (await response.json()) as {
      data?: { customers: { totalCount: number; edges: { node: { name: string } }[] } };
      errors?: unknown;
    };
    expect(body.errors).toBeUndefined();
    expect(body.data?.customers.totalCount).toBeGreaterThan(0);
    const first = body.data?.customers.edges[0]?.node.name ?? '';
    expect(first).not.toBe('');
    await expect.poll(async () => text(await page.locator('.result-window').innerText()), soon).toContain(first);
    await expect
      .poll(async () => text(await page.locator('.result-window').innerText()), soon)
      .toContain('"totalCount"');

    await browser.screenshot(page, 'graphiql');
    expect(problems.errors).toEqual([]);
    expect(problems.offOrigin).toEqual([]);
    await page.close();
  });

  it('is offered by the Sandbox landing page when Apollo’s CDN cannot be reached', async () => {
    const { page, problems } = await browser.open(`${origin}/graphql`);
    const link = page.locator('#hub-offline a[href="/graphiql"]');
    await link.waitFor({ state: 'visible' });
    // The page tried Apollo's CDN, which this browser (like an air-gapped network) cannot reach.
    expect(problems.offOrigin.some((url) => url.includes('apollographql.com'))).toBe(true);
    // Apollo's fallback fades in (1 s delay, 1 s animation): the links are what a person sees then.
    const opacity = () =>
      page
        .locator('.fallback')
        .evaluate((element) => element.ownerDocument.defaultView?.getComputedStyle(element).opacity);
    await expect.poll(opacity, soon).toBe('1');
    await browser.screenshot(page, 'landing-offline');
    await link.click();
    await page.waitForURL(`${origin}/graphiql`);
    await page.locator('.graphiql-execute-button').waitFor();
    await page.close();
  });
});

const SYNC_PRODUCT = `mutation Sync($events: [ProductSyncEventInput!]!) {
  syncProduct(events: $events) { results { outcome code reason field deadLetterId conflicts { id field winner } } }
}`;

interface SyncAnswer {
  syncProduct: {
    results: {
      outcome: string;
      code: string | null;
      reason: string | null;
      deadLetterId: string | null;
      conflicts: { id: string; field: string; winner: string }[];
    }[];
  };
}

/** A product usage event (the brief's `usage_analytics_sync`) for one customer and month. */
function usageEvent(
  customerId: string,
  month: number,
  { source = 'analytics', at = '2020-02-01T08:00:00Z', rate = 0.72, activationTime = '14_days' } = {},
) {
  const mm = String(month).padStart(2, '0');
  return {
    source,
    usageAnalyticsSync: {
      customerId,
      usagePeriod: `2020-${mm}-01_to_2020-${mm}-28`,
      featureUsage: {
        coreFeatures: [{ feature: 'email_campaigns', usageCount: 45, adoptionScore: 0.85, successCorrelation: 0.92 }],
        advancedFeatures: [
          { feature: 'api_integrations', usageCount: 2, adoptionScore: 0.1, successCorrelation: 0.95 },
        ],
      },
      adoptionMetrics: {
        overallAdoptionRate: rate,
        featureDiscoveryRate: 0.45,
        activationTime,
        maturityLevel: 'intermediate',
      },
      successCorrelation: { highUsageHealth: 0.88, featureCompleteness: 0.65, roiAchievement: 0.92 },
      syncTimestamp: at,
    },
  };
}

const SYNC_CUSTOMERS = `mutation SyncCustomers($events: [CustomersSyncEventInput!]!) {
  syncCustomers(events: $events) { results { outcome reason } }
}`;
const UPDATE_CUSTOMER = `mutation UpdateCustomer($id: ID!, $input: UpdateCustomerInput!) { updateCustomer(id: $id, input: $input) { id industry } }`;

async function sync(events: unknown[]) {
  const answer = await hub.query<SyncAnswer>(SYNC_PRODUCT, { events }, admin);
  expect(answer.errors).toBeUndefined();
  return answer.data?.syncProduct.results ?? [];
}

describe('the integration console (/console)', () => {
  it('shows the live throughput chart move while sync events flow through the graph', async () => {
    const { page, problems } = await browser.open(`${origin}/console?domain=product&interval=1000#token=${admin}`);
    expect(page.url()).toBe(`${origin}/console?domain=product&interval=1000`);
    await expect.poll(() => page.getByTestId('live-state').textContent(), soon).toBe('live');
    const chart = page.getByTestId('chart-throughput');
    const points = async () => Number(await chart.getAttribute('data-points'));
    const product = async () => Number((await chart.getAttribute('data-last-product')) || 0);
    await expect.poll(points, soon).toBeGreaterThan(1);
    const before = { points: await points(), product: await product() };

    // Events flow while the page is open: 6 batches of 10 usage events, one customer-month each.
    for (let batch = 0; batch < 6; batch++) {
      const results = await sync(
        Array.from({ length: 10 }, (_, i) => usageEvent(`cust_${String(batch * 10 + i + 1).padStart(5, '0')}`, 1)),
      );
      expect(results.map((r) => r.reason ?? r.outcome)).toEqual(Array(10).fill('APPLIED'));
    }
    // Events per second over the last minute: 60 events lift product's line by about 1/s.
    await expect.poll(product, soon).toBeGreaterThanOrEqual(before.product + 0.5);
    expect(await points()).toBeGreaterThan(before.points);
    await expect
      .poll(async () => Number(await page.getByTestId('live-product').locator('td').nth(1).textContent()), soon)
      .toBeGreaterThanOrEqual(0.5);
    await browser.screenshot(page, 'console');
    expect(problems.errors).toEqual([]);
    expect(problems.offOrigin).toEqual([]);
    await page.close();
  });

  it('replays a dead letter with its payload corrected in the page', async () => {
    const [refused] = await sync([usageEvent('cust_00061', 2, { activationTime: 'soon' })]);
    expect(refused?.outcome).toBe('REJECTED');
    expect(refused?.reason).toMatch(/activationTime/);
    const id = refused?.deadLetterId ?? '';
    expect(id).not.toBe('');

    const { page, problems } = await browser.open(`${origin}/console?domain=product#token=${admin}`);
    const letter = page.getByTestId(`dead-letter-${id}`);
    await letter.waitFor(soon);
    expect(await letter.textContent()).toContain('adoptionMetrics.activationTime');
    await browser.screenshot(page.locator('#dead-letters'), 'console-dead-letters');
    const payload = letter.getByRole('textbox', { name: 'payload' });
    await payload.fill((await payload.inputValue()).replace('"soon"', '"21_days"'));
    await letter.getByRole('button', { name: 'Replay corrected' }).click();
    // The outcome stays above the list: the replayed letter leaves it with the reload that follows.
    const last = page.getByTestId('last-replay');
    await expect.poll(() => last.getAttribute('data-letter'), soon).toBe(id);
    expect(await page.getByTestId('last-replay-outcome').textContent()).toBe('APPLIED');

    // The graph agrees: replayed, applied, and the corrected value is stored.
    const after = await hub.query<{
      sync: { product: { deadLetters: { edges: { node: { id: string; replayOutcome: string } }[] } } };
    }>(
      `{ sync { product { deadLetters(first: 100, filter: { replayed: true }) { edges { node { id replayOutcome } } } } } }`,
      {},
      admin,
    );
    expect(after.data?.sync.product.deadLetters.edges.map((e) => e.node)).toContainEqual({
      id,
      replayOutcome: 'APPLIED',
    });
    await page.getByRole('button', { name: 'Refresh' }).first().click();
    await expect.poll(() => letter.count(), soon).toBe(0);
    expect(problems.errors).toEqual([]);
    expect(problems.offOrigin).toEqual([]);
    await page.close();
  });

  it('overrides a conflict, seeing both values first', async () => {
    const [first] = await sync([
      usageEvent('cust_00062', 3, { source: 'crm-a', at: '2020-04-02T08:00:00Z', rate: 0.7 }),
    ]);
    expect(first?.reason ?? first?.outcome).toBe('APPLIED');
    // Older and from another source: the stored value is kept and the conflict recorded.
    const [second] = await sync([
      usageEvent('cust_00062', 3, { source: 'crm-b', at: '2020-04-01T08:00:00Z', rate: 0.4 }),
    ]);
    const conflict = second?.conflicts.find((c) => c.field === 'overallAdoptionRate');
    expect(conflict?.winner).toBe('STORED');
    const id = conflict?.id ?? '';

    const { page, problems } = await browser.open(`${origin}/console?domain=product#token=${admin}`);
    const item = page.getByTestId(`conflict-${id}`);
    await item.waitFor(soon);
    const shown = text(await item.innerText());
    expect(shown).toContain('AdoptionMetrics.overallAdoptionRate');
    expect(shown).toContain('0.7');
    expect(shown).toContain('crm-a');
    expect(shown).toContain('0.4');
    expect(shown).toContain('crm-b');
    await browser.screenshot(page.locator('#conflicts'), 'console-conflicts');
    await item.getByRole('button', { name: 'Override: use incoming' }).click();
    await expect
      .poll(() => page.getByTestId('override-outcome').first().textContent(), soon)
      .toMatch(/^took incoming: (APPLIED|MERGED)/);
    await expect.poll(() => item.count(), soon).toBe(0);

    const resolved = await hub.query<{
      sync: { product: { syncConflicts: { edges: { node: { id: string; resolvedBy: string | null } }[] } } };
    }>(
      `{ sync { product { syncConflicts(first: 50, filter: { resolved: true, customerId: "cust_00062" }) { edges { node { id resolvedBy } } } } } }`,
      {},
      admin,
    );
    const node = resolved.data?.sync.product.syncConflicts.edges.find((e) => e.node.id === id)?.node;
    expect(node?.resolvedBy).toBeTruthy();
    expect(problems.errors).toEqual([]);
    expect(problems.offOrigin).toEqual([]);
    await page.close();
  });

  it('queues a job run and follows it to the end', async () => {
    const { page, problems } = await browser.open(`${origin}/console?domain=product#token=${admin}`);
    const jobs = page.locator('#jobs');
    await jobs.getByRole('button', { name: 'Run product-usage-rollup' }).click();
    await expect.poll(async () => text(await jobs.innerText()), soon).toMatch(/queued product-usage-rollup: run \S+/);
    const row = jobs.locator('tbody tr', { hasText: 'product-usage-rollup' }).first();
    await expect.poll(async () => text(await row.innerText()), { timeout: 90_000 }).toMatch(/SUCCEEDED\s+MANUAL/);
    await browser.screenshot(jobs, 'console-jobs');
    expect(problems.errors).toEqual([]);
    expect(problems.offOrigin).toEqual([]);
    await page.close();
  });

  it('looks up a customer’s audit trail: who changed which field, newest first, page by page', async () => {
    const customer = 'cust_00070';
    const suffix = Date.now().toString(36);
    const key = `console-audit-${suffix}`;
    const synced = await hub.query<{ syncCustomers: { results: { outcome: string; reason: string | null }[] } }>(
      SYNC_CUSTOMERS,
      {
        events: [
          {
            idempotencyKey: key,
            source: 'hubspot',
            contactRecordSync: {
              customerId: customer,
              contactId: `cont_console_${suffix}`,
              firstName: 'Grace',
              lastName: 'Hopper',
              email: `grace.${suffix}@example.test`,
              title: 'Rear Admiral',
              syncTimestamp: new Date(Date.now() - 60_000).toISOString(),
            },
          },
        ],
      },
      admin,
    );
    expect(synced.errors).toBeUndefined();
    expect(synced.data?.syncCustomers.results.map((r) => r.reason ?? r.outcome)).toEqual(['APPLIED']);
    const industry = `Aerospace ${suffix}`;
    const updated = await hub.query(UPDATE_CUSTOMER, { id: customer, input: { industry } }, admin);
    expect(updated.errors).toBeUndefined();

    // One entry per domain and page, so the newest entry comes first and the contact needs "More".
    const { page, problems } = await browser.open(`${origin}/console?auditPage=1#token=${admin}`);
    const panel = page.locator('#audit');
    await panel.getByRole('textbox', { name: 'customer id' }).fill(customer);
    await panel.getByRole('button', { name: 'Look up' }).click();
    await expect.poll(() => panel.getByTestId('audit-summary').textContent(), soon).toMatch(/^cust_00070: \d+ of \d+/);
    const rows = panel.locator('tbody tr');
    const change = rows.filter({ has: page.getByTestId('change-industry'), hasText: industry });
    const contact = rows.filter({ has: page.getByTestId('change-email'), hasText: key });
    /** Clicks "More" until `row` shows (another domain's newer entries may come first). */
    const moreUntil = async (row: typeof rows) => {
      for (let i = 0; i < 20 && (await row.count()) === 0; i++) {
        const before = await rows.count();
        await panel.getByRole('button', { name: 'More' }).click();
        await expect.poll(() => rows.count(), soon).toBeGreaterThan(before);
      }
      await expect.poll(() => row.count(), soon).toBe(1);
    };
    await moreUntil(change);
    const updateText = text(await change.innerText());
    expect(updateText).toContain('UPDATE');
    expect(updateText).toMatch(/user\s+admin1\s+\(admin\)/);
    expect(updateText).toContain('admin:admin1');
    expect(text(await change.getByTestId('change-industry').innerText())).toMatch(new RegExp(`→ ${industry}$`));

    // The contact's creation is older: it comes after the change, its email as the stored marker.
    await moreUntil(contact);
    const contactText = text(await contact.innerText());
    expect(contactText).toContain('CREATE');
    expect(contactText).toContain('hubspot');
    expect(contactText).toContain('contact_record_sync');
    expect(text(await contact.getByTestId('change-email').innerText())).toBe('email – → [PII]');
    expect(text(await contact.getByTestId('change-title').innerText())).toBe('title – → Rear Admiral');
    expect(await panel.innerText()).not.toContain('Hopper');
    const order = await rows.evaluateAll((all) => all.map((row) => row.getAttribute('data-testid')));
    const [changeId, contactId] = [await change.getAttribute('data-testid'), await contact.getAttribute('data-testid')];
    expect(order.indexOf(changeId)).toBeLessThan(order.indexOf(contactId));
    await browser.screenshot(panel, 'console-audit');
    expect(problems.errors).toEqual([]);
    expect(problems.offOrigin).toEqual([]);
    await page.close();
  });

  it('shows an integration account its domains’ live status and dead letters, and no audit panel', async () => {
    const integration = await hub.token({
      tenant: 'acme',
      roles: ['integration'],
      sub: 'analytics',
      domains: ['product'],
      expiresIn: '1h',
    });
    // A refused event of its own (its principal is the source) waits as a dead letter it may replay.
    const answer = await hub.query<SyncAnswer>(
      SYNC_PRODUCT,
      { events: [usageEvent('cust_00062', 3, { activationTime: 'soon' })] },
      integration,
    );
    expect(answer.errors).toBeUndefined();
    const id = answer.data?.syncProduct.results[0]?.deadLetterId ?? '';
    expect(id).not.toBe('');

    const { page, problems } = await browser.open(`${origin}/console?domain=product#token=${integration}`);
    await expect.poll(() => page.getByTestId('live-state').textContent(), soon).toBe('live');
    await page.getByTestId('live-product').waitFor(soon);
    expect(await page.getByTestId('live-customers').count()).toBe(0);
    expect(await page.getByTestId('not-admin').textContent()).toContain('integration account of product');
    await page.getByTestId(`dead-letter-${id}`).waitFor(soon);
    // Only its domain to pick, no audit trail, no overrides or job buttons, and no error shown.
    expect(await page.locator('nav.domains button').allTextContents()).toEqual(['product']);
    expect(await page.locator('#audit').count()).toBe(0);
    expect(await page.getByRole('button', { name: /^Override/ }).count()).toBe(0);
    expect(await page.getByRole('button', { name: /^Run / }).count()).toBe(0);
    expect(await page.locator('p.error').allTextContents()).toEqual([]);
    await browser.screenshot(page, 'console-integration');
    expect(problems.errors).toEqual([]);
    expect(problems.offOrigin).toEqual([]);
    await page.close();
  });
});
