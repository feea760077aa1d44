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

/** Whether the file Node loads for a package is CommonJS (`.cjs`, or `.js` under a package.json without `"type": "module"`). */
async function isCommonJs(file: string): Promise<boolean> {
  if (file.endsWith('.cjs')) return true;
  if (file.endsWith('.mjs') || !file.endsWith('.js')) return false;
  for (let dir = path.dirname(file); ; dir = path.dirname(dir)) {
    try {
      const manifest = JSON.parse(await readFile(path.join(dir, 'package.json'), 'utf8')) as { type?: string };
      return manifest.type !== 'module';
    } catch {
      if (path.dirname(dir) === dir) return true;
    }
  }
}

/**
 * npm packages stay external; workspaces (`@hub/…`) and relative imports are bundled. An external
 * is imported by its resolved file, relative to the bundle: resolving the bare name from the bundle
 * would skip a workspace's own node_modules (packages/core/node_modules holds other versions than
 * the root's). A package whose import resolves to CommonJS is reached through a one-line CommonJS
 * shim (`module.exports = require(…)`) that esbuild bundles: its interop then reads named imports as
 * properties at run time. Left as a plain `import { x } from 'pkg'`, Node would find `x` by its
 * static CommonJS export scan, which misses exports written the way TypeScript's CommonJS output
 * writes them (e.g. @opentelemetry/resources) — tsx hides that by converting such imports itself.
 */
function externalPackages(outfile: string): Plugin {
  const fromBundle = (file: string) => {
    const relative = path.relative(path.dirname(outfile), file).split(path.sep).join('/');
    return relative.startsWith('.') ? relative : `./${relative}`;
  };
  return {
    name: 'external-packages',
    setup(b) {
      b.onResolve({ filter: /.*/, namespace: 'cjs-shim' }, (args) => ({ path: args.path, external: true }));
      b.onResolve({ filter: /^[^./]/ }, async (args) => {
        if (args.path.startsWith('@hub/') || path.isAbsolute(args.path) || args.pluginData === 'resolving')
          return undefined;
        const kind = args.kind === 'require-call' ? 'require-call' : 'import-statement';
        const resolved = await b.resolve(args.path, { kind, resolveDir: args.resolveDir, pluginData: 'resolving' });
        // Node's built-ins and what esbuild cannot place (optional peers) stay as written.
        if (resolved.errors.length > 0 || resolved.external || !path.isAbsolute(resolved.path))
          return { path: args.path, external: true };
        const target = fromBundle(resolved.path);
        if (kind === 'import-statement' && (await isCommonJs(resolved.path)))
          return { path: target, namespace: 'cjs-shim' };
        return { path: target, external: true };
      });
      b.onLoad({ filter: /.*/, namespace: 'cjs-shim' }, (args) => ({
        contents: `module.exports = require(${JSON.stringify(args.path)});`,
        loader: 'js',
      }));
    },
  };
}

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
      // Resolve as Node does: no "module" field or condition (bundler-only ESM builds Node cannot load).
      mainFields: ['main'],
      conditions: ['node'],
      format: 'esm',
      target: 'node20',
      sourcemap: 'linked',
      // esbuild bundles ESM; a CommonJS `require` inside bundled code (none today) would need it.
      banner: {
        js: "import { createRequire as __hubRequire } from 'node:module'; const require = __hubRequire(import.meta.url);",
      },
      logLevel: 'warning',
      plugins: [externalPackages(outfile), sourceImportMetaUrl(() => outfile)],
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
