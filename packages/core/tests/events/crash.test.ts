/**
 * Crashes at generated points: the relay killed after publishing its k-th batch and before advancing
 * its position past it, then the consumer killed after committing its j-th transaction and before acknowledging it
 * (one event each, or batches of several sizes; both real child processes that exit without
 * clean-up). A clean relay and consumer then finish: every
 * event is applied exactly once, in commit order per customer, and the NATS stream holds each
 * event once (the republished batch was dropped by message id).
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../src/process.js';
import { UNPUBLISHED } from '../../src/events/relay.js';
import {
  appliedRuns,
  expectExactlyOnceInOrder,
  mirrorConsumer,
  openPath,
  openStorePair,
  type EventPath,
} from './harness.js';

const WORKER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'worker.ts');
const NATS = process.env['NATS_URL'] ?? 'nats://127.0.0.1:4222';

/** Runs the worker until it crashes at its point; resolves with its exit code. */
function runWorker(env: Record<string, string>): Promise<number | null> {
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

let open: EventPath | undefined;
afterEach(async () => {
  await open?.stop();
  open = undefined;
});

const CASES = [
  { bus: 'nats', relayCrash: 1, consumerCrash: 1, batch: 1 },
  { bus: 'nats', relayCrash: 3, consumerCrash: 17, batch: 1 },
  { bus: 'nats', relayCrash: 6, consumerCrash: 5, batch: 1 },
  { bus: 'nats', relayCrash: 5, consumerCrash: 2, batch: 8 },
  { bus: 'nats', relayCrash: 8, consumerCrash: 1, batch: 64 },
  { bus: 'embedded', relayCrash: 2, consumerCrash: 1, batch: 1 },
  { bus: 'embedded', relayCrash: 4, consumerCrash: 23, batch: 1 },
  { bus: 'embedded', relayCrash: 2, consumerCrash: 2, batch: 7 },
  { bus: 'embedded', relayCrash: 4, consumerCrash: 3, batch: 16 },
  { bus: 'embedded', relayCrash: 1, consumerCrash: 1, batch: 64 },
] as const;

describe('crashes between publish and advance, and between commit and ack', () => {
  it.each(CASES)(
    '$bus: relay killed after batch $relayCrash, consumer (batches of $batch) killed after transaction $consumerCrash: nothing lost, nothing applied twice',
    async ({ bus, relayCrash, consumerCrash, batch }) => {
      const pair = await openStorePair('postgres');
      const prefix = `T${randomBytes(4).toString('hex').toUpperCase()}`;
      const setup = { store: 'postgres', bus } as const;
      // The events exist before any relay runs, so the relay's batches are full (7 rows each).
      const writer = await openPath(setup, [], { pair, nats: NATS, prefix });
      await writer.relay.stop();
      await writer.write(60);
      await writer.runtime.stop();
      await writer.consumerBus.close();
      await writer.producerBus.close();
      const env = { WORKER_DB_URL: pair.database?.url ?? '', WORKER_BUS: bus, NATS_URL: NATS, WORKER_PREFIX: prefix };
      expect(await runWorker({ ...env, WORKER_ROLE: 'relay', WORKER_CRASH_AT: String(relayCrash) })).toBe(137);
      const [published] = await pair.producer.sql.query<{ n: string }>(
        `SELECT count(*)::text AS n FROM "hub_sync_outbox" WHERE NOT ${UNPUBLISHED}`,
      );
      // It died before advancing the position past its last batch: (k - 1) batches of 7 behind it.
      expect(Number(published?.n)).toBe((relayCrash - 1) * 7);
      expect(
        await runWorker({
          ...env,
          WORKER_ROLE: 'consumer',
          WORKER_CRASH_AT: String(consumerCrash),
          WORKER_BATCH: String(batch),
        }),
      ).toBe(137);
      const before = await appliedRuns(pair.consumer.sql);
      // Committed (inbox + writes), never acknowledged. The embedded bus reads all 60 at once, so its
      // batches are full; NATS batches what has arrived after the linger: one event at least each.
      const available = bus === 'nats' ? relayCrash * 7 : 60;
      if (bus === 'embedded') expect(before.length).toBe(Math.min(available, consumerCrash * batch));
      else {
        expect(before.length).toBeGreaterThanOrEqual(consumerCrash);
        expect(before.length).toBeLessThanOrEqual(Math.min(available, consumerCrash * batch));
      }
      open = await openPath(setup, [mirrorConsumer({ batched: batch > 1 })], { pair, nats: NATS, prefix });
      await expectExactlyOnceInOrder(open);
      if (bus === 'nats') {
        const stream = await open.consumerBus.read('product', { from: 'beginning' }, 1000);
        expect(stream).toHaveLength(60);
        expect(new Set(stream.map((e) => e.id)).size).toBe(60);
      }
      await open.stop();
      open = undefined;
      await pair.close();
    },
  );
});
