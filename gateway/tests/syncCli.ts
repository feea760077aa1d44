/**
 * `npm run sync:import` as a child process, as a user runs it (also used by tests/syncImport.e2e.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { REPO_ROOT } from '@hub/core/process';

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Starts the CLI; HUB_TOKEN only as given in `env`. */
export function spawnCli(args: string[], env: Record<string, string | undefined>): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'gateway/src/cli/sync-import.ts'), ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, HUB_TOKEN: undefined, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

export function finished(child: ChildProcess): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** Polls `<file>.progress` until it records at least `minLine` (or `timeoutMs` passes); its last content. */
export async function waitForProgress(
  file: string,
  minLine: number,
  timeoutMs = 60_000,
): Promise<{ line: number; offset: number } | undefined> {
  let recorded: { line: number; offset: number } | undefined;
  for (const until = Date.now() + timeoutMs; Date.now() < until && (recorded?.line ?? 0) < minLine;) {
    await sleep(10);
    try {
      recorded = JSON.parse(await readFile(`${file}.progress`, 'utf8')) as typeof recorded;
    } catch {
      // not written yet
    }
  }
  return recorded;
}
