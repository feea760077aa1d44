/**
 * Fails when the committed generated code differs from what codegen.yml produces now
 * (someone edited a schema without running `npm run codegen`, or edited generated code by hand).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { format, resolveConfig } from 'prettier';
import { ROOT, runCodegen } from './codegen.js';

const outDir = await mkdtemp(path.join(tmpdir(), 'hub-codegen-'));
try {
  const files = await runCodegen({ outDir });
  const stale: string[] = [];
  for (const file of files) {
    const relative = path.relative(outDir, file);
    const target = path.join(ROOT, relative);
    // Format as the committed file is formatted: with the project's Prettier config for its path.
    const fresh = await format(await readFile(file, 'utf8'), { ...(await resolveConfig(target)), filepath: target });
    const committed = await readFile(target, 'utf8').catch(() => undefined);
    if (committed !== fresh) stale.push(relative);
  }
  if (stale.length > 0) {
    console.error(`Generated code is stale; run \`npm run codegen\` and commit:\n  ${stale.join('\n  ')}`);
    process.exitCode = 1;
  } else {
    console.log(`codegen: ${files.length} generated files are up to date`);
  }
} finally {
  await rm(outDir, { recursive: true, force: true });
}
