/**
 * `npm start` on the embedded store, as a newcomer runs it: the launcher spawns seven subgraphs on
 * PGlite and the gateway, loads the demo data on first start, and keeps data across a restart.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { DEV_JWT_SECRET } from '@hub/core/config';
import { DOMAINS } from '@hub/core/domains';
import { REPO_ROOT } from '@hub/core/process';
import { post, signToken } from './support/tokens.js';

interface Launched {
  child: ChildProcess;
  url: string;
  seconds: number;
}

function launch(dataDir: string): Promise<Launched> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'scripts/start.ts')], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      NODE_ENV: 'development',
      PORT: '0',
      HUB_DATA_DIR: dataDir,
      ...Object.fromEntries(DOMAINS.map((d) => [`SUBGRAPH_${d.toUpperCase()}_PORT`, '0'])),
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

function stop(launched: Launched | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (!launched || launched.child.exitCode !== null) return resolve();
    launched.child.once('exit', () => resolve());
    launched.child.kill('SIGTERM');
  });
}

let dataDir = '';
let running: Launched | undefined;
afterAll(async () => {
  await stop(running);
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('npm start on embedded Postgres', () => {
  it('starts with demo data, and keeps what was written across a restart', async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'hub-embedded-'));
    running = await launch(dataDir);
    console.log(`first start (migrations + demo data): ${running.seconds} s`);
    const token = await signToken(DEV_JWT_SECRET, { tenant: 'globex', roles: ['admin'] });

    const first = await post<{
      customers: { totalCount: number; edges: { node: { health: unknown; finance: unknown } }[] };
    }>(
      running.url,
      '{ customers(first: 3) { totalCount edges { node { id name health { score } finance { financialHealth { paymentStatus } } } } } }',
      {},
      token,
    );
    expect(first.errors).toBeUndefined();
    expect(first.data?.customers.totalCount).toBe(200);
    expect(first.data?.customers.edges.every((e) => e.node.health && e.node.finance)).toBe(true);

    const created = await post<{ createCustomer: { id: string } }>(
      running.url,
      'mutation { createCustomer(input: { name: "Persisted Ltd", tier: SMB, ownerId: "u1" }) { id } }',
      {},
      token,
    );
    expect(created.errors).toBeUndefined();
    const id = created.data?.createCustomer.id;

    await stop(running);
    running = await launch(dataDir);
    console.log(`restart: ${running.seconds} s`);
    const again = await post<{ customer: { name: string } | null; customers: { totalCount: number } }>(
      running.url,
      'query($id: ID!) { customer(id: $id) { name } customers { totalCount } }',
      { id },
      token,
    );
    expect(again.data?.customer?.name).toBe('Persisted Ltd');
    expect(again.data?.customers.totalCount).toBe(201);
  });
});
