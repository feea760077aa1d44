/**
 * Runs GraphQL Code Generator from codegen.yml, for every subgraph or only the ones named:
 *   npx tsx scripts/codegen.ts            # all
 *   npx tsx scripts/codegen.ts sales      # one subgraph (`gateway`: the partner safelist manifests)
 *   npx tsx scripts/codegen.ts --out DIR  # write under DIR instead of the repo (used by codegen:check)
 */
import { generate } from '@graphql-codegen/cli';
import type { Types } from '@graphql-codegen/plugin-helpers';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { parse } from 'yaml';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

type CodegenConfig = Types.Config & { generates: Record<string, Types.Config['generates'][string]> };

export async function runCodegen(options: { only?: string[]; outDir?: string } = {}): Promise<string[]> {
  const config = parse(await readFile(path.join(ROOT, 'codegen.yml'), 'utf8')) as CodegenConfig;
  const only = options.only?.length ? options.only : undefined;
  const generates: Types.Config['generates'] = {};
  for (const [target, value] of Object.entries(config.generates)) {
    if (only && !only.some((name) => target.startsWith(`subgraphs/${name}/`) || target.startsWith(`${name}/`)))
      continue;
    generates[path.join(options.outDir ?? ROOT, target)] = value;
  }
  if (Object.keys(generates).length === 0) throw new Error(`codegen.yml has no outputs for ${only?.join(', ')}`);
  process.chdir(ROOT);
  // Outside the repo the Prettier hook would not find the project's config; the caller formats instead.
  const { hooks, ...rest } = config;
  const files = await generate({ ...rest, ...(options.outDir ? {} : { hooks }), generates, silent: true }, true);
  return files.map((file: { filename: string }) => file.filename);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const outIndex = args.indexOf('--out');
  const outDir = outIndex >= 0 ? args[outIndex + 1] : undefined;
  const only = args.filter((arg, i) => !arg.startsWith('--') && (outIndex < 0 || i !== outIndex + 1));
  const files = await runCodegen({ only, ...(outDir ? { outDir } : {}) });
  for (const file of files) console.log(`generated ${path.relative(ROOT, file)}`);
}
