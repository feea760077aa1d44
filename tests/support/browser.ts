/**
 * A real browser for the page tests: Debian's Chromium (`/usr/bin/chromium`, `HUB_CHROMIUM_PATH`
 * overrides; `.ci/run` installs it with apt) driven by playwright-core, which downloads nothing.
 * Headless, sandbox off (CI runs as root), no network of its own (no updates, sync, QUIC) and a
 * fresh profile per launch. Pages may reach their own origin only: every other request is aborted,
 * as on the air-gapped network the offline explorer is for (so Apollo's CDN never loads either).
 *
 * Each page records its console errors, uncaught exceptions and CSP violations, so a test can
 * assert that the page ran cleanly under the gateway's Content-Security-Policy.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { REPO_ROOT } from '@hub/core/process';

export const CHROMIUM_PATH = process.env['HUB_CHROMIUM_PATH'] ?? '/usr/bin/chromium';

/** The flags of every launch (besides a fresh --user-data-dir, which Playwright passes itself). */
export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface PageProblems {
  /** console.error lines, uncaught exceptions, CSP violations ("Refused to …"). */
  readonly errors: string[];
  /** Requests the page tried to send to another origin (aborted). */
  readonly offOrigin: string[];
}

export interface HubBrowser {
  readonly context: BrowserContext;
  /** A new tab that may talk to `origin` only; its problems are collected. */
  open(url: string): Promise<{ page: Page; problems: PageProblems }>;
  /**
   * Saves a screenshot of a page or of one element to .data/screenshots/<name>.png, and to
   * docs/screenshots/ with HUB_UPDATE_SCREENSHOTS=1.
   */
  screenshot(target: Page | Locator, name: string): Promise<string>;
  close(): Promise<void>;
}

export interface LaunchOptions {
  /** Other origins the pages may reach besides `origin` (an identity provider's login). */
  readonly allowOrigins?: readonly string[];
}

export async function launchBrowser(origin: string, options: LaunchOptions = {}): Promise<HubBrowser> {
  const allowed = [origin, ...(options.allowOrigins ?? [])];
  const userDataDir = await mkdtemp(path.join(tmpdir(), 'hub-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: CHROMIUM_FLAGS,
    viewport: { width: 1400, height: 900 },
  });
  const scratch = path.join(REPO_ROOT, '.data', 'screenshots');
  const docs = path.join(REPO_ROOT, 'docs', 'screenshots');
  return {
    context,
    async open(url) {
      const page = await context.newPage();
      const problems: PageProblems = { errors: [], offOrigin: [] };
      page.on('console', (message) => {
        if (message.type() === 'error') problems.errors.push(message.text());
      });
      page.on('pageerror', (error) => problems.errors.push(`uncaught: ${error.message}`));
      await page.route('**/*', (route) => {
        const target = route.request().url();
        if (
          allowed.some((o) => target.startsWith(`${o}/`)) ||
          target.startsWith('data:') ||
          target.startsWith('blob:')
        ) {
          return route.continue();
        }
        problems.offOrigin.push(target);
        return route.abort('internetdisconnected');
      });
      await page.goto(url);
      return { page, problems };
    },
    async screenshot(target, name) {
      mkdirSync(scratch, { recursive: true });
      const file = path.join(scratch, `${name}.png`);
      const image = await target.screenshot({ path: file });
      if (process.env['HUB_UPDATE_SCREENSHOTS'] === '1') {
        mkdirSync(docs, { recursive: true });
        writeFileSync(path.join(docs, `${name}.png`), image);
      }
      return file;
    },
    async close() {
      await context.close();
      await rm(userDataDir, { recursive: true, force: true });
    },
  };
}
