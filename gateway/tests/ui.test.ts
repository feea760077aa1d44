/**
 * The bundled pages (console/dist, built by turbo's `build` before any test) as the gateway serves
 * them: /graphiql and /console with their assets under a CSP that allows the pages' own scripts only,
 * a 503 naming the build command when they are not built, and Apollo's landing page offering the
 * offline explorer where Sandbox (Apollo's CDN) cannot load. In a real browser: tests/browser/.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PAGES } from '../src/ui.js';
import { startTestHub, type TestHub } from './helpers.js';

function directives(policy: string | null): Map<string, string[]> {
  return new Map(
    (policy ?? '')
      .split(';')
      .map((part) => part.trim().split(/\s+/))
      .filter((words) => words[0])
      .map(([name = '', ...values]) => [name, values]),
  );
}

describe('the gateway’s browser pages', () => {
  let hub: TestHub;
  let base: string;
  beforeAll(async () => {
    hub = await startTestHub();
    base = new URL(hub.gateway.url).origin;
  });
  afterAll(async () => {
    await hub.stop();
  });

  it.each(Object.values(PAGES))('serves $path with its own scripts only, under a strict CSP', async (page) => {
    const response = await fetch(`${base}${page.path}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = directives(response.headers.get('content-security-policy'));
    expect(csp.get('script-src')).toEqual(["'self'"]);
    expect(csp.get('default-src')).toEqual(["'self'"]);
    expect(csp.get('connect-src')).toEqual(["'self'"]);
    expect(csp.get('object-src')).toEqual(["'none'"]);
    expect(csp.get('frame-ancestors')).toEqual(["'none'"]);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('referrer-policy')).toBe('no-referrer');
    expect(response.headers.get('x-frame-options')).toBe('DENY');

    const html = await response.text();
    // No inline script (the CSP would block it) and nothing from another origin.
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).toBeGreaterThan(0);
    for (const [, attributes = '', body = ''] of scripts) {
      expect(body.trim()).toBe('');
      expect(attributes).toMatch(/src="\/ui\/assets\/[^"]+\.js"/);
    }
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    const assets = [...html.matchAll(/(?:src|href)="(\/ui\/assets\/[^"]+)"/g)].map((m) => m[1] ?? '');
    for (const asset of assets) {
      const served = await fetch(`${base}${asset}`);
      expect(served.status, asset).toBe(200);
      expect(served.headers.get('cache-control'), asset).toMatch(/immutable/);
      expect(served.headers.get('content-type'), asset).toMatch(asset.endsWith('.css') ? /text\/css/ : /javascript/);
      await served.arrayBuffer();
    }
  });

  it('tells the pages there is no identity provider to sign in at, and the claim names', async () => {
    const response = await fetch(`${base}/ui/config.json`);
    expect(response.status).toBe(200);
    expect(directives(response.headers.get('content-security-policy')).get('connect-src')).toEqual(["'self'"]);
    expect(await response.json()).toEqual({
      oidc: null,
      claims: { tenant: 'tenant', roles: 'roles', domains: 'domains' },
    });
  });

  it('answers an unknown asset with 404, not a page', async () => {
    const response = await fetch(`${base}/ui/assets/nothing-here.js`);
    expect(response.status).toBe(404);
    await response.arrayBuffer();
  });

  it('links the offline explorer from the Sandbox landing page, inside the fallback Sandbox covers', async () => {
    const response = await fetch(`${base}/graphql`, { headers: { accept: 'text/html' } });
    expect(response.status).toBe(200);
    const html = await response.text();
    expect(html).toContain('embeddable-sandbox.cdn.apollographql.com');
    const fallback = /<div class="fallback">([\s\S]*?)<\/div>/.exec(html)?.[1] ?? '';
    expect(fallback).toContain('<a href="/graphiql">GraphiQL</a>');
    expect(fallback).toContain('<a href="/console">');
    // Sandbox's empty container would cover the links; the rule hiding it carries the page's CSP nonce.
    const nonce = /<style nonce="([0-9a-f]+)">#embeddableSandbox:empty/.exec(html)?.[1];
    expect(nonce).toBeDefined();
    expect(html).toContain(`'nonce-${nonce}'`);
  });
});

describe('the gateway without a build of the pages', () => {
  let hub: TestHub;
  let empty: string;
  beforeAll(async () => {
    empty = await mkdtemp(path.join(tmpdir(), 'hub-ui-'));
    hub = await startTestHub({ ui: { distDir: empty, oidc: undefined } });
  });
  afterAll(async () => {
    await hub.stop();
    await rm(empty, { recursive: true, force: true });
  });

  it('answers 503 with the command that builds them', async () => {
    const response = await fetch(`${new URL(hub.gateway.url).origin}/graphiql`);
    expect(response.status).toBe(503);
    expect(await response.text()).toContain('npm run build');
  });
});
