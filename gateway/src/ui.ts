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

export { PAGES, UI_BASE };

export interface UiOptions {
  /** The built pages (`HUB_UI_DIR`). @default console/dist */
  readonly distDir?: string;
  /** Extra origins the pages may call (an identity provider's token endpoint for the sign-in flow). */
  readonly connectOrigins?: readonly string[];
  readonly log: Logger;
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
  const headers = securityHeaders(options.connectOrigins ?? []);
  const built = (file: string) => existsSync(path.join(distDir, file));
  if (!built(PAGES.graphiql.file) || !built(PAGES.console.file)) {
    options.log.warn({ distDir }, 'browser pages not built (npm run build); /graphiql and /console answer 503');
  }

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
