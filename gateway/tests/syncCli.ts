/**
 * The gateway's CLIs (`npm run sync:import`, `job`, `sync:replay`) as child processes, as a user
 * runs them — one home for the spawning used by the gateway's tests and the e2e tests.
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

/** Starts `gateway/src/cli/<cli>.ts`; HUB_TOKEN only as given in `env`. */
export function spawnGatewayCli(cli: string, args: string[], env: Record<string, string | undefined>): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, `gateway/src/cli/${cli}.ts`), ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, HUB_TOKEN: undefined, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Starts `npm run sync:import`; HUB_TOKEN only as given in `env`. */
export function spawnCli(args: string[], env: Record<string, string | undefined>): ChildProcess {
  return spawnGatewayCli('sync-import', args, env);
}

/** Runs `gateway/src/cli/<cli>.ts <args> --url <url>` with `token` as HUB_TOKEN, to its end. */
export function runGatewayCli(cli: string, args: string[], token: string | undefined, url: string): Promise<CliResult> {
  return finished(spawnGatewayCli(cli, [...args, '--url', url], { HUB_TOKEN: token }));
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
