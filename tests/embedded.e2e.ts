/**
 * `npm start` on the embedded store, as a newcomer runs it: the launcher spawns seven subgraphs on
 * PGlite and the gateway, loads the demo data on first start, and keeps data across a restart.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DEV_JWT_SECRET } from '@hub/core/config';
import { launch, stop, type Launched } from './support/embedded.js';
import { post, signToken } from './support/tokens.js';

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
