/**
 * `npm run build:server`: the production processes (the gateway and the seven subgraphs) as
 * compiled JavaScript, so they run on plain `node` instead of tsx (issue 10 item 2: no TypeScript
 * transform at start, no tsx source-map lookup each time an `Error.stack` is formatted).
 *
 * One bundle per process entry under dist/server/, at the entry's own path
 * (`dist/server/subgraphs/sales/src/index.js`). Only the repo's own code (`@hub/*` workspaces,
 * the generated Prisma clients) is bundled; every npm package stays external and is loaded from
 * node_modules as it is under tsx, so the bundle behaves like the source. Modules that find files
 * beside themselves (`import.meta.url`: schema.graphql, migrations, persisted operations) get
 * their own source file's URL back, computed relative to the bundle, so the assets are read from
 * the checkout and the bundle moves with it. Hand-written because esbuild has no per-module
 * `import.meta.url` option for bundles.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { build, type Plugin } from 'esbuild';
import { DOMAINS } from '@hub/core/domains';
import { COMPILED_ROOT, REPO_ROOT, compiledEntry } from '@hub/core/process';

/** The entries `spawnService` starts. */
export const SERVER_ENTRIES = ['gateway/src/index.ts', ...DOMAINS.map((d) => `subgraphs/${d}/src/index.ts`)];

/** npm packages stay external; workspaces (`@hub/…`) and relative imports are bundled. */
const externalPackages: Plugin = {
  name: 'external-packages',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) =>
      args.path.startsWith('@hub/') || path.isAbsolute(args.path) ? undefined : { path: args.path, external: true },
    );
  },
};

/** Each module's `import.meta.url` becomes its source file's URL, relative to the bundle that holds it. */
function sourceImportMetaUrl(bundleOf: (source: string) => string): Plugin {
  return {
    name: 'source-import-meta-url',
    setup(b) {
      b.onLoad({ filter: /\.[cm]?ts$/ }, async (args) => {
        const text = await readFile(args.path, 'utf8');
        if (!text.includes('import.meta.url')) return undefined;
        const relative = path
          .relative(path.dirname(bundleOf(args.path)), args.path)
          .split(path.sep)
          .join('/');
        const url = `new URL(${JSON.stringify(relative)}, import.meta.url).href`;
        return { contents: text.replaceAll('import.meta.url', url), loader: 'ts' };
      });
    },
  };
}

export async function buildServer(): Promise<{ entries: string[]; ms: number }> {
  const started = performance.now();
  // Every module of one bundle is emitted into the entry's bundle: one bundle per build call.
  for (const entry of SERVER_ENTRIES) {
    const outfile = path.join(REPO_ROOT, compiledEntry(entry));
    await build({
      entryPoints: [path.join(REPO_ROOT, entry)],
      outfile,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      sourcemap: 'linked',
      // esbuild bundles ESM; a CommonJS `require` inside bundled code (none today) would need it.
      banner: {
        js: "import { createRequire as __hubRequire } from 'node:module'; const require = __hubRequire(import.meta.url);",
      },
      logLevel: 'warning',
      plugins: [externalPackages, sourceImportMetaUrl(() => outfile)],
    });
  }
  return { entries: SERVER_ENTRIES, ms: Math.round(performance.now() - started) };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { entries, ms } = await buildServer();
  console.log(
    `built ${entries.length} processes into ${path.relative(process.cwd(), COMPILED_ROOT) || '.'} in ${ms} ms`,
  );
}
