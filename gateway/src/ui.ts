/**
 * The hub's own browser pages (the `console/` workspace, built by Vite into console/dist):
 * the offline explorer at /graphiql and the integration console at /console, their hashed assets
 * under /ui/assets. The pages are static: they call /graphql like any other client, with the
 * credential the person pastes (or an identity provider issues), so serving them needs no auth.
 *
 * Every response here carries a Content-Security-Policy that lets the pages run their own scripts
 * only (no inline script, no eval, no third-party origin), connect to this origin only (HTTP and
 * graphql-ws) and never be framed. Styles may be inline: Monaco (GraphiQL's editor) and the charts
 * set them at run time.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import express, { type NextFunction, type Request, type RequestHandler, type Response, type Router } from 'express';
import { DIST_DIR, PAGES, UI_BASE } from '@hub/console/pages';
import type { Logger } from './logger.js';
import { DEFAULT_CLAIM_NAMES, type ClaimNames, type OidcLoginConfig } from './config.js';

export { PAGES, UI_BASE };

export interface UiOptions {
  /** The built pages (`HUB_UI_DIR`). @default console/dist */
  readonly distDir?: string;
  /** Extra origins the pages may call, besides the identity provider's. */
  readonly connectOrigins?: readonly string[];
  /** The sign-in at the identity provider (`HUB_OIDC_CLIENT_ID`); its issuer's origin joins connect-src. */
  readonly oidc?: OidcLoginConfig | undefined;
  /** The gateway's claim names (`HUB_JWT_CLAIM_*`), told to the pages for display. */
  readonly claims?: ClaimNames;
  readonly log: Logger;
}

/** What the pages learn from the gateway at start (`GET /ui/config.json`): public values only. */
export interface PagesConfig {
  readonly oidc: { issuer: string; clientId: string; scopes: string; resource: string | null } | null;
  /** The claims that carry the tenant, roles and domains, so the pages can tell who a token is (display only). */
  readonly claims: { tenant: string; roles: string; domains: string };
}

export function pagesConfig(oidc: OidcLoginConfig | undefined, claims: ClaimNames = DEFAULT_CLAIM_NAMES): PagesConfig {
  return {
    oidc: oidc
      ? { issuer: oidc.issuer, clientId: oidc.clientId, scopes: oidc.scopes, resource: oidc.resource ?? null }
      : null,
    claims: { tenant: claims.tenant, roles: claims.roles, domains: claims.domains },
  };
}

/** The policy of every page and asset (tests/browser checks that the pages run under it). */
export function contentSecurityPolicy(connectOrigins: readonly string[] = []): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    "worker-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "font-src 'self' data:",
    "img-src 'self' data: blob:",
    ['connect-src', "'self'", ...connectOrigins].join(' '),
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
    "form-action 'self'",
  ].join('; ');
}

function securityHeaders(connectOrigins: readonly string[]): RequestHandler {
  const policy = contentSecurityPolicy(connectOrigins);
  return (_req: Request, res: Response, next: NextFunction) => {
    res.setHeader('Content-Security-Policy', policy);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('X-Frame-Options', 'DENY');
    // A token handed over as ?token= must not leak to other sites through Referer.
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
    res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
    next();
  };
}

/**
 * The pages' routes. Without a build (console/dist missing) each page answers 503 with the command
 * that builds it; `npm start` and `npm test` build it first (turbo `build`).
 */
export function uiRoutes(options: UiOptions): Router {
  const distDir = options.distDir ?? DIST_DIR;
  const router = express.Router();
  // The pages call the provider's discovery and token endpoints at the issuer's origin; a provider
  // serving them from another origin is blocked by this policy (fails closed, the page says why).
  const connectOrigins = [
    ...(options.connectOrigins ?? []),
    ...(options.oidc ? [new URL(options.oidc.issuer).origin] : []),
  ];
  const headers = securityHeaders(connectOrigins);
  const built = (file: string) => existsSync(path.join(distDir, file));
  if (!built(PAGES.graphiql.file) || !built(PAGES.console.file)) {
    options.log.warn({ distDir }, 'browser pages not built (npm run build); /graphiql and /console answer 503');
  }

  const config = JSON.stringify(pagesConfig(options.oidc, options.claims));
  router.get(`${UI_BASE}config.json`, headers, (_req, res) => {
    res.setHeader('Cache-Control', 'no-cache');
    res.type('application/json').send(config);
  });

  // Hashed file names: an asset never changes under its name.
  router.use(
    `${UI_BASE}assets`,
    headers,
    express.static(path.join(distDir, 'assets'), { index: false, immutable: true, maxAge: '365d', fallthrough: false }),
  );
  for (const page of Object.values(PAGES)) {
    router.get(page.path, headers, (_req, res) => {
      const file = path.join(distDir, page.file);
      if (!existsSync(file)) {
        res
          .status(503)
          .type('text/plain')
          .send(`${page.title} is not built: run \`npm run build\` (npm start and npm test do it).\n`);
        return;
      }
      res.setHeader('Cache-Control', 'no-cache');
      res.sendFile(file);
    });
  }
  return router;
}
