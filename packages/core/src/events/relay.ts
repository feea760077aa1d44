/**
 * The outbox relay: runs in the process that owns a domain store and moves its committed outbox
 * rows to the bus, in seq order (= commit order, see OUTBOX_LOCK_SQL in sync/engine.ts), then
 * advances the store's relay position past them (`hub_sync_relay_position`): a row is published iff
 * its seq <= the position. Nothing is written to the rows themselves (a mark per row rewrote each
 * with its payload; see the migration 20261208000100_relay_position).
 *
 * One leader per store. On PostgreSQL several processes may serve one store (scale-out), so the
 * relay first takes a session-level `pg_try_advisory_lock` on a dedicated connection: only the holder
 * publishes; the others retry the lock every poll and take over when the holder's connection drops
 * (a crashed process loses its session, so its lock). PGlite is single-process: trivially leader.
 *
 * A crash between publish and advance republishes the rows: NATS drops them by `Nats-Msg-Id` (= event
 * id) within its duplicate window, and consumers' inboxes drop anything older. Even two leaders at
 * once (the old one's connection dropped mid-batch) publish nothing out of order and skip nothing:
 * each publishes in seq order from the position it read, so the first copy of every event to reach
 * the stream comes after the first copy of every earlier one, and later copies are dropped as
 * duplicates; each advances the position only to the last row it published itself, and never back
 * (the position is the highest pass recorded; a pass below it is not recorded).
 *
 * Wake-ups: the kit calls `wake()` after each commit of the store's pipeline (in this process), a
 * slow poll is the safety net, and on PostgreSQL a wake in a process that is not the leader is
 * passed on with NOTIFY to the leader, which LISTENs on its lock connection.
 */
import { openSessionConnection, type StoreConfig, type StoreSql } from '@hub/store';
import type pg from 'pg';
import type { Domain } from '../domains.js';
import type { Logger } from '../logger.js';
import { OUTBOX_COLUMNS, envelopeFromOutboxRow, type OutboxRow } from './envelope.js';
import type { EventBus } from './types.js';

/**
 * Session advisory lock of a store's relay leader: the two-key form, (this class, hash of the
 * store's schema), because advisory locks are per database and one database may hold all seven
 * stores as schemas. The class is 'hubr' as an int4.
 */
export const RELAY_LOCK_CLASS = 0x68756272;

/**
 * The store's relay position as an SQL expression: the last outbox seq published, 0 before the first
 * pass. `schema` qualifies the table for readers outside the store's search path (scripts).
 */
export function relayPosition(schema?: string): string {
  const table = `${schema === undefined ? '' : `"${schema.replace(/"/g, '""')}".`}"hub_sync_relay_position"`;
  return `(SELECT coalesce(max("seq"), 0) FROM ${table})`;
}

/** The condition on a `hub_sync_outbox` row that it is not yet published. */
export const UNPUBLISHED = `"hub_sync_outbox"."seq" > ${relayPosition()}`;

/**
 * Moves the position to $1 (a seq whose row and every one before it are on the bus), recording the
 * pass's time; a no-op when the position is already there or past it (another leader's pass), so
 * it never moves back.
 */
export const ADVANCE_RELAY_POSITION = `INSERT INTO "hub_sync_relay_position" ("seq", "published_at")
  SELECT $1::bigint, now() WHERE $1::bigint > ${relayPosition()} ON CONFLICT ("seq") DO NOTHING`;
const TRY_LEADER_LOCK = `SELECT pg_try_advisory_lock(${RELAY_LOCK_CLASS}, hashtext(current_schema())) AS ok`;

/** NOTIFY channel of a Postgres store's relay (channels are per database; stores are schemas). */
export function relayChannel(config: StoreConfig): string {
  return `hub_relay_${config.kind === 'postgres' ? config.schema : 'embedded'}`
    .replace(/[^a-zA-Z0-9_]/g, '_')
    .slice(0, 63);
}

export interface RelayMetrics {
  published(count: number): void;
  backlog(count: number): void;
}

export interface RelayOptions {
  readonly domain: Domain;
  readonly store: StoreSql;
  /** Where the store lives; on PostgreSQL the relay opens its own lock connection there. */
  readonly storeConfig: StoreConfig;
  readonly bus: EventBus;
  /** Rows per publish. @default 500 */
  readonly batchSize?: number;
  /** Safety-net poll (and lock retry) interval. @default 1000 */
  readonly pollMs?: number;
  readonly log?: Logger | undefined;
  readonly metrics?: RelayMetrics | undefined;
  /** Tests: runs after a batch was published, before the position is advanced past it (a crash point). */
  readonly afterPublish?: ((count: number) => void | Promise<void>) | undefined;
}

export interface Relay {
  /** A commit happened: publish soon. */
  wake(): void;
  /** Whether this relay currently holds the store's leader lock. */
  readonly leader: boolean;
  /** Resolves once every row committed before the call was published (tests, benchmarks). */
  drain(): Promise<void>;
  stop(): Promise<void>;
}

export async function startRelay(options: RelayOptions): Promise<Relay> {
  const { domain, store, bus, log } = options;
  const batchSize = options.batchSize ?? 500;
  const pollMs = options.pollMs ?? 1000;
  const embedded = options.storeConfig.kind === 'embedded';
  const channel = relayChannel(options.storeConfig);
  let failed = false;
  let session: pg.Client | undefined;
  let leader = embedded;
  let stopped = false;
  let pending = true;
  let running: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let drained: (() => void)[] = [];

  async function dropSession() {
    const old = session;
    session = undefined;
    leader = false;
    await old?.end().catch(() => undefined);
  }

  async function ensureLeader(): Promise<boolean> {
    if (embedded) return true;
    try {
      if (!session) {
        session = await openSessionConnection(options.storeConfig);
        session?.on('end', () => {
          if (leader) log?.warn({ domain }, 'relay lost its lock connection; leadership released');
          session = undefined;
          leader = false;
        });
        session?.on('notification', () => schedule(0));
      }
      if (!leader && session) {
        const [row] = (await session.query<{ ok: boolean }>(TRY_LEADER_LOCK)).rows;
        leader = row?.ok === true;
        if (leader) {
          await session.query(`LISTEN ${channel}`);
          log?.info({ domain }, 'relay is the leader of its store');
        }
      }
    } catch (error) {
      log?.warn({ err: error, domain }, 'relay lock connection failed');
      await dropSession();
    }
    return leader;
  }

  /** Publishes every unpublished row; returns when none is left (or leadership was lost). */
  async function publishAll(): Promise<void> {
    for (;;) {
      if (stopped || !(await ensureLeader())) return;
      // The leader's lock connection runs the reads and the advance: if it dropped, they fail, and
      // the next leader starts again from the position.
      const own = session;
      const db: Pick<StoreSql, 'query'> = own
        ? {
            query: async <T>(sql: string, p?: readonly unknown[]) => (await own.query(sql, p as unknown[])).rows as T[],
          }
        : store;
      const rows = await db.query<OutboxRow>(
        `SELECT ${OUTBOX_COLUMNS} FROM "hub_sync_outbox" WHERE ${UNPUBLISHED} ORDER BY "hub_sync_outbox"."seq" LIMIT $1`,
        [batchSize],
      );
      if (rows.length === 0) {
        options.metrics?.backlog(0);
        return;
      }
      const events = rows.map((row) => envelopeFromOutboxRow(domain, row));
      await bus.publish(
        domain,
        events.map(({ cursor: _cursor, ...event }) => event),
      );
      await options.afterPublish?.(rows.length);
      const last = rows.at(-1)?.seq;
      await db.query(ADVANCE_RELAY_POSITION, [String(last)]);
      options.metrics?.published(rows.length);
      if (rows.length < batchSize) {
        options.metrics?.backlog(0);
        return;
      }
    }
  }

  function schedule(delay: number) {
    if (stopped) return;
    pending = true;
    if (running) return;
    clearTimeout(timer);
    timer = setTimeout(run, delay);
  }

  function run() {
    if (running || stopped) return;
    pending = false;
    failed = false;
    running = publishAll()
      .catch(async (error: unknown) => {
        log?.warn({ err: error, domain }, 'relay batch failed; retrying');
        if (!embedded) await dropSession();
        failed = true;
      })
      .finally(() => {
        running = undefined;
        if (!pending && !failed) {
          const waiting = drained;
          drained = [];
          for (const done of waiting) done();
        }
        if (stopped) return;
        clearTimeout(timer);
        // Woken while running: go again at once; failed: after a poll interval.
        timer = setTimeout(run, pending && !failed ? 0 : pollMs);
      });
  }

  schedule(0);
  return {
    get leader() {
      return leader;
    },
    wake() {
      if (leader || embedded) return schedule(0);
      // Another process holds the lock: tell it (its LISTEN wakes it) rather than wait for its poll.
      void store.query(`SELECT pg_notify($1, '')`, [channel]).catch(() => undefined);
    },
    drain() {
      return new Promise((resolve) => {
        drained.push(resolve);
        schedule(0);
      });
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
      await dropSession();
      const waiting = drained;
      drained = [];
      for (const done of waiting) done();
    },
  };
}
