/**
 * The relay position (`hub_sync_relay_position`, relay.ts): a row is published iff its seq <= the
 * position, which only moves forward. A leader that stalls between publish and advance and loses its
 * lock meanwhile leaves the rest to the next leader: everything reaches the stream once, in seq order,
 * and the position ends at the last row, never having moved back.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { createNatsBus } from '../../src/events/bus-nats.js';
import {
  ADVANCE_RELAY_POSITION,
  RELAY_LOCK_CLASS,
  UNPUBLISHED,
  relayPosition,
  startRelay,
} from '../../src/events/relay.js';
import { countOf, openPath, openStorePair, STORE_KINDS, waitFor, type StorePair } from './harness.js';

const NATS = process.env['NATS_URL'] ?? 'nats://127.0.0.1:4222';

let pair: StorePair | undefined;
afterEach(async () => {
  await pair?.close();
  pair = undefined;
});

const positionOf = async (p: StorePair) => countOf(p.producer.sql, `SELECT ${relayPosition()} AS n`);
const passesOf = async (p: StorePair) =>
  (
    await p.producer.sql.query<{ seq: string }>(
      `SELECT "seq"::text FROM "hub_sync_relay_position" ORDER BY "hub_sync_relay_position"."seq"`,
    )
  ).map((r) => Number(r.seq));

describe.each(STORE_KINDS)('the relay position on %s', (kind) => {
  it('moves only forward: an advance to or below it (a stale leader’s) changes nothing and records no pass', async () => {
    pair = await openStorePair(kind);
    const sql = pair.producer.sql;
    expect(await positionOf(pair)).toBe(0);
    await sql.query(ADVANCE_RELAY_POSITION, ['10']);
    await sql.query(ADVANCE_RELAY_POSITION, ['4']);
    await sql.query(ADVANCE_RELAY_POSITION, ['10']);
    expect(await positionOf(pair)).toBe(10);
    await sql.query(ADVANCE_RELAY_POSITION, ['12']);
    expect(await positionOf(pair)).toBe(12);
    expect(await passesOf(pair)).toEqual([10, 12]);
  }, 120_000);
});

describe('two leaders on one PostgreSQL store, the first stalled between publish and advance', () => {
  it('the stalled leader loses its lock; the next one publishes the rest: every event once, in order', async () => {
    pair = await openStorePair('postgres');
    const store = pair;
    const prefix = `T${randomBytes(4).toString('hex').toUpperCase()}`;
    const writer = await openPath({ store: 'postgres', bus: 'nats' }, [], { pair: store, nats: NATS, prefix });
    await writer.relay.stop();
    await writer.write(30);
    await writer.runtime.stop();
    await writer.producerBus.close();
    const reader = writer.consumerBus;
    const outbox = await store.producer.sql.query<{ id: string; seq: string }>(
      `SELECT "id"::text, "seq"::text FROM "hub_sync_outbox" ORDER BY "hub_sync_outbox"."seq"`,
    );
    expect(outbox).toHaveLength(30);

    const busA = await createNatsBus({ servers: NATS, prefix });
    const busB = await createNatsBus({ servers: NATS, prefix });
    let relayB: Awaited<ReturnType<typeof startRelay>> | undefined;
    let batches = 0;
    const relayA = await startRelay({
      domain: 'product',
      store: store.producer.sql,
      storeConfig: store.producer.config,
      bus: busA,
      batchSize: 7,
      pollMs: 100,
      // After its second batch is on the stream, before its advance: its lock connection dies (the
      // lock goes with it) and another leader takes over and publishes everything.
      afterPublish: async () => {
        if (++batches !== 2) return;
        const killed = await store.producer.sql.query<{ ok: boolean }>(
          `SELECT pg_terminate_backend("pid") AS ok FROM pg_locks
            WHERE "locktype" = 'advisory' AND "classid" = $1::bigint::oid AND "objsubid" = 2 AND "granted"
              AND "database" = (SELECT "oid" FROM pg_database WHERE "datname" = current_database())`,
          [RELAY_LOCK_CLASS],
        );
        expect(killed.map((k) => k.ok)).toEqual([true]);
        relayB = await startRelay({
          domain: 'product',
          store: store.producer.sql,
          storeConfig: store.producer.config,
          bus: busB,
          batchSize: 7,
          pollMs: 100,
        });
        await waitFor('the second leader', async () => (relayB?.leader ? true : undefined));
        await relayB.drain();
        expect(await positionOf(store)).toBe(Number(outbox.at(-1)?.seq));
      },
    });
    try {
      await waitFor('the second leader done', async () =>
        relayB && batches >= 2 && !relayA.leader ? true : undefined,
      );
      // The first leader's advance failed with its connection; it comes back as a follower.
      await new Promise((resolve) => setTimeout(resolve, 400));
      expect(relayA.leader).toBe(false);
      expect(relayB?.leader).toBe(true);
      expect(
        await countOf(store.producer.sql, `SELECT count(*) AS n FROM "hub_sync_outbox" WHERE ${UNPUBLISHED}`),
      ).toBe(0);
      // Batch 1 by the first leader (rows 1-7), then the second from there in batches of 7: up to row
      // 14 (the first leader's unrecorded batch again), 21, 28, 30.
      expect(await passesOf(store)).toEqual([6, 13, 20, 27, 29].map((i) => Number(outbox[i]?.seq)));
      const stream = await reader.read('product', { from: 'beginning' }, 1000);
      expect(stream.map((e) => e.id)).toEqual(outbox.map((r) => r.id));
    } finally {
      await relayA.stop();
      await relayB?.stop();
      await busA.close();
      await busB.close();
      await reader.close();
    }
  }, 120_000);
});
