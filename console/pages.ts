/**
 * What the gateway needs to know about the built pages (Node side; imported by gateway/src/ui.ts
 * and vite.config.ts). `npm run build` (turbo) writes them to `dist/`.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where the built files are served from: `/ui/assets/…`. */
export const UI_BASE = '/ui/';

/** The build output directory. */
export const DIST_DIR = fileURLToPath(new URL('./dist/', import.meta.url));

export interface Page {
  /** The gateway path the page is served at. */
  readonly path: string;
  /** Its HTML entry, relative to this folder (and to dist/ once built). */
  readonly file: string;
  /** Rollup entry name. */
  readonly entry: string;
  readonly title: string;
}

export const PAGES = {
  graphiql: { path: '/graphiql', file: 'graphiql.html', entry: 'graphiql', title: 'GraphiQL (offline explorer)' },
  console: { path: '/console', file: 'console.html', entry: 'console', title: 'Integration console' },
} as const satisfies Record<string, Page>;

const ROOT = fileURLToPath(new URL('./', import.meta.url));
const SOURCES = ['src', 'vite.config.ts', 'pages.ts', 'package.json', ...Object.values(PAGES).map((page) => page.file)];

function newestMtime(path: string): number {
  const stat = statSync(path, { throwIfNoEntry: false });
  if (stat === undefined) return 0;
  if (!stat.isDirectory()) return stat.mtimeMs;
  return readdirSync(path).reduce((newest, name) => Math.max(newest, newestMtime(join(path, name))), stat.mtimeMs);
}

/**
 * Whether `dist/` is missing a page or older than the sources (a fresh clone, or a pull that
 * changed them): `npm start` then builds before it starts the gateway.
 */
export function pagesOutdated(): boolean {
  const built = Math.min(...Object.values(PAGES).map((page) => newestMtime(join(DIST_DIR, page.file)) || 0));
  if (built === 0) return true;
  return SOURCES.some((source) => newestMtime(join(ROOT, source)) > built);
}
