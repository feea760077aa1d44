/**
 * Once per e2e run, before any file: the runtime the hubs' processes run on. By default the
 * production one — plain node on the bundles of `npm run build:server`, built here once for the run
 * so they are never older than the sources — which also starts each hub about a quarter faster than
 * tsx compiling every process's TypeScript at start (21 s against 29 s for a whole hub, quiet
 * machine). `HUB_E2E_RUNTIME=tsx` runs them on tsx instead. `npm start` (tests/support/embedded.ts)
 * keeps its own runtime: it is tested as a newcomer runs it.
 */
import { execFileSync } from 'node:child_process';
import type { TestProject } from 'vitest/node';
import { REPO_ROOT } from '@hub/core/process';
import type {} from './hub.js';

export default function setup(project: TestProject): void {
  const runtime = process.env['HUB_E2E_RUNTIME'] ?? 'compiled';
  if (runtime !== 'tsx' && runtime !== 'compiled')
    throw new Error(`HUB_E2E_RUNTIME must be tsx or compiled, not ${runtime}`);
  if (runtime === 'compiled') execFileSync('npm', ['run', '-s', 'build:server'], { cwd: REPO_ROOT, stdio: 'inherit' });
  project.provide('hubRuntime', runtime);
}
