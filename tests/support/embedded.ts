/**
 * `npm start` as a newcomer runs it (scripts/start.ts: seven subgraphs on PGlite and the gateway,
 * development mode, the demo data on first start), on free ports and a data folder of the caller's.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { DOMAINS } from '@hub/core/domains';
import { REPO_ROOT } from '@hub/core/process';

export interface Launched {
  child: ChildProcess;
  url: string;
  seconds: number;
}

export function launch(dataDir: string, extraEnv: Record<string, string> = {}): Promise<Launched> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'scripts/start.ts')], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      NODE_ENV: 'development',
      PORT: '0',
      HUB_DATA_DIR: dataDir,
      ...Object.fromEntries(DOMAINS.map((d) => [`SUBGRAPH_${d.toUpperCase()}_PORT`, '0'])),
      ...extraEnv,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  return new Promise((resolve, reject) => {
    const onLine = (line: string) => {
      output.push(line);
      const ready = /ready in ([\d.]+) s: (\S+)/.exec(line);
      if (ready?.[1] && ready[2]) resolve({ child, url: ready[2], seconds: Number(ready[1]) });
    };
    createInterface({ input: child.stdout }).on('line', onLine);
    createInterface({ input: child.stderr }).on('line', onLine);
    child.once('exit', (code) => reject(new Error(`npm start exited with ${code}:\n${output.join('\n')}`)));
  });
}

export function stop(launched: Launched | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (!launched || launched.child.exitCode !== null) return resolve();
    launched.child.once('exit', () => resolve());
    launched.child.kill('SIGTERM');
  });
}
