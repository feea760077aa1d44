/**
 * The parent side of the load generator (scripts/bench-gateway-load.ts): forks it into a process
 * of its own, so its CPU is not the measured processes', and runs one job at a time over IPC.
 */
import { fork } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT } from '@hub/core/process';
import type { LoadJob, LoadResult } from './bench-gateway-load.js';

export interface LoadGenerator {
  load(job: LoadJob): Promise<LoadResult>;
  stop(): void;
}

export function startLoadGenerator(): LoadGenerator {
  const child = fork(path.join(REPO_ROOT, 'scripts/bench-gateway-load.ts'), [], { execArgv: ['--import', 'tsx'] });
  return {
    load: (job) =>
      new Promise((resolve, reject) => {
        child.once('message', (message: { result?: LoadResult; error?: string }) => {
          if (message.result) resolve(message.result);
          else reject(new Error(message.error ?? 'load generator failed'));
        });
        child.send(job);
      }),
    stop: () => child.disconnect(),
  };
}
