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
