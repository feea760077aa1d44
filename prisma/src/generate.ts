import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { STORE_ROOT } from './paths.js';

/** The Prisma CLI's entry point, resolved from this package so any cwd works. */
function prismaCli(): string {
  const require = createRequire(import.meta.url);
  return join(require.resolve('prisma/package.json'), '..', 'build', 'index.js');
}

/**
 * Runs `prisma generate` for one schema file. The native schema engine the CLI checks for is
 * never used by generate (see prisma.config.ts); update checks and telemetry are switched off
 * because this machine has no network.
 */
export async function generateClient(schemaPath: string): Promise<{ durationMs: number }> {
  const started = performance.now();
  const args = [prismaCli(), 'generate', '--schema', schemaPath, '--config', join(STORE_ROOT, 'prisma.config.ts')];
  const env = {
    ...process.env,
    PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? '/bin/false',
    CHECKPOINT_DISABLE: '1',
    PRISMA_HIDE_UPDATE_MESSAGE: '1',
  };
  const output: Buffer[] = [];
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (b: Buffer) => output.push(b));
    child.stderr.on('data', (b: Buffer) => output.push(b));
    child.on('error', reject);
    child.on('close', resolve);
  });
  if (code !== 0) {
    throw new Error(
      `prisma generate failed for ${schemaPath} (exit ${String(code)}):\n${Buffer.concat(output).toString()}`,
    );
  }
  return { durationMs: Math.round(performance.now() - started) };
}
