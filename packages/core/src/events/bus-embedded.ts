/**
 * The embedded bus (no NATS_URL): the producing store's outbox is the log. Nothing is copied:
 * `publish` only wakes whoever waits on the local stream (in-process subscribers and the long polls
 * of `_events`), and other processes read a stream through its producer's `_events` field
 * (remote.ts). A consumer's position lives in its own store (`hub_event_cursor`, written by the
 * consumer runtime in the transaction of its inbox row), so a restarted process resumes there.
 */
import type { StoreSql } from '@hub/store';
import type { Domain } from '../domains.js';
import type { Logger } from '../logger.js';
import { outboxPositionOf, readOutbox } from './envelope.js';
import { batchHandlerOf, runBatch, sleep, type BatchItem } from './batching.js';
import { advanceCursor, storedCursor } from './inbox.js';
import type { StreamPage, StreamQuery, StreamReader } from './remote.js';
import type { EventBus, EventEnvelope, StartPosition, Subscription } from './types.js';

export interface EmbeddedBusOptions {
  /** The domain whose store this process owns: its stream is local. */
  readonly domain: Domain;
  readonly store: StoreSql;
  /** How other domains' streams are read (their `_events`); absent: only the local stream. */
  readonly remote?: StreamReader | undefined;
  /** A local reader with nothing to read re-checks after this long even without a wake-up. @default 1000 */
  readonly pollMs?: number;
  /** Long-poll wait of a remote read. @default 20000 */
  readonly waitMs?: number;
  /** Events per read (a subscription's batches are cut from it, `BatchPolicy.maxEvents` each). @default 500 */
  readonly batchSize?: number;
  readonly log?: Logger | undefined;
}

export interface EmbeddedBus extends EventBus {
  readonly kind: 'embedded';
  /** The local stream after a position, waiting up to `waitMs` for a commit when empty (`_events`). */
  readLocal(query: StreamQuery): Promise<StreamPage>;
}

const MAX_WAIT_MS = 25_000;

export function createEmbeddedBus(options: EmbeddedBusOptions): EmbeddedBus {
  const { domain: local, store } = options;
  const pollMs = options.pollMs ?? 1000;
  const remoteWaitMs = options.waitMs ?? 20_000;
  const batchSize = options.batchSize ?? 500;
  const closing = new AbortController();
  const subscriptions = new Set<Subscription>();
  let waiters: (() => void)[] = [];

  /** Resolves on the next publish (commit wake-up), after `ms`, or on close. */
  function nextCommit(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const abort = AbortSignal.any([closing.signal, ...(signal ? [signal] : [])]);
      function done() {
        clearTimeout(timer);
        abort.removeEventListener('abort', done);
        waiters = waiters.filter((w) => w !== done);
        resolve();
      }
      abort.addEventListener('abort', done, { once: true });
      waiters.push(done);
    });
  }

  async function localAfter(query: StreamQuery): Promise<string> {
    if (query.after === 'now') return outboxPositionOf(store, { from: 'now' });
    if (query.after !== undefined) return outboxPositionOf(store, { from: 'cursor', cursor: query.after });
    if (query.since) return outboxPositionOf(store, { from: 'time', time: query.since });
    return '0';
  }

  async function readLocal(query: StreamQuery): Promise<StreamPage> {
    const after = await localAfter(query);
    const deadline = Date.now() + Math.min(Math.max(query.waitMs, 0), MAX_WAIT_MS);
    for (;;) {
      // Registered before reading, so a commit between the read and the wait is not missed.
      // Woken by a commit of this process, or re-checked each poll: commits of another process
      // sharing the store (Postgres scale-out) are seen within pollMs.
      const woken = nextCommit(Math.min(Math.max(deadline - Date.now(), 0), pollMs), query.signal);
      const page = await readOutbox(store, local, { after, limit: query.limit, types: query.types });
      if (page.events.length > 0 || page.position !== after || Date.now() >= deadline || query.signal?.aborted)
        return { events: page.events, position: page.position };
      await woken;
      if (closing.signal.aborted) return { events: [], position: after };
    }
  }

  function toQuery(start: StartPosition): Pick<StreamQuery, 'after' | 'since'> {
    switch (start.from) {
      case 'beginning':
        return { after: '0' };
      case 'now':
        return { after: 'now' };
      case 'cursor':
        return { after: start.cursor };
      case 'time':
        return { since: start.time };
    }
  }

  function reader(domain: Domain): StreamReader {
    if (domain === local) return (_d, query) => readLocal(query);
    if (!options.remote) throw new Error(`embedded bus of ${local}: no reader for the ${domain} stream`);
    return options.remote;
  }

  const bus: EmbeddedBus = {
    kind: 'embedded',
    readLocal,
    async publish(domain) {
      if (domain !== local) throw new Error(`embedded bus of ${local} cannot publish to ${domain}`);
      // The outbox already holds them durably and in order: wake the readers.
      const woken = waiters;
      waiters = [];
      for (const wake of woken) wake();
    },
    async read(domain, start, limit) {
      const read = reader(domain);
      const events: EventEnvelope[] = [];
      let query: StreamQuery = { ...toQuery(start), limit: Math.min(limit, batchSize), waitMs: 0 };
      while (events.length < limit) {
        const page = await read(domain, query);
        events.push(...page.events);
        if (page.position === query.after || (page.events.length === 0 && query.after !== undefined)) break;
        query = { after: page.position, limit: Math.min(limit - events.length, batchSize), waitMs: 0 };
      }
      return events.slice(0, limit);
    },
    async subscribe(subscribeOptions) {
      const { domain, durable, types, start } = subscribeOptions;
      const { policy, handle } = batchHandlerOf(subscribeOptions);
      const read = reader(domain);
      const stop = new AbortController();
      const signal = AbortSignal.any([stop.signal, closing.signal]);
      const remote = domain !== local;
      const loop = (async () => {
        let after: string | undefined;
        let since: Date | undefined;
        while (!signal.aborted && after === undefined) {
          try {
            const stored = await storedCursor(store, durable, domain, 'embedded');
            if (stored !== null) after = stored;
            else {
              const q = toQuery(start);
              // `now` and a time are resolved by the producer, once; the first page fixes the position.
              if (q.since) since = q.since;
              after = q.after ?? '';
              if (after === '') after = undefined;
              if (after === undefined) break;
            }
          } catch (error) {
            options.log?.warn({ err: error, consumer: durable }, 'event cursor unreadable; retrying');
            await sleep(1000, signal);
          }
        }
        let failures = 0;
        while (!signal.aborted) {
          let page: StreamPage;
          try {
            page = await read(domain, {
              after,
              since,
              limit: Math.max(batchSize, policy.maxEvents),
              waitMs: remote ? remoteWaitMs : 0,
              types,
              signal,
            });
            if (page.events.length > 0 && page.events.length < policy.maxEvents && policy.lingerMs > 0) {
              // Linger: the events committed meanwhile join this batch (one transaction downstream).
              await sleep(policy.lingerMs, signal);
              const more = await read(domain, {
                after: page.position,
                limit: policy.maxEvents - page.events.length,
                waitMs: 0,
                types,
                signal,
              });
              page = { events: [...page.events, ...more.events], position: more.position };
            }
            failures = 0;
          } catch (error) {
            if (signal.aborted) break;
            failures += 1;
            // The producer is down or restarting: back off (bounded), then read again from the same place.
            const delay = Math.min(30_000, 250 * 2 ** Math.min(failures, 7));
            options.log?.warn({ err: error, consumer: durable, stream: domain, delay }, 'event stream unreadable');
            await sleep(delay * (0.5 + Math.random() / 2), signal);
            continue;
          }
          since = undefined;
          let last = after;
          let pending: BatchItem[] = page.events.map((event) => ({ event, attempt: 1 }));
          while (pending.length > 0 && !signal.aborted) {
            const outcome = await runBatch(pending.slice(0, policy.maxEvents), handle, options.log, durable);
            last = pending[outcome.done - 1]?.event.cursor ?? last;
            pending = pending.slice(outcome.done);
            const [first, ...rest] = pending;
            if (!first) break;
            if (outcome.retryMs === 0 && !outcome.failed) continue; // the next batch of the page
            // In place: a later event of the stream never overtakes a retried one.
            if (outcome.failed) pending = [{ event: first.event, attempt: first.attempt + 1 }, ...rest];
            await sleep(outcome.retryMs, signal);
          }
          if (signal.aborted) break;
          if (page.position !== last) {
            // Past events the filter left out: remember it, so a restart does not scan them again.
            await advanceCursor(store, durable, domain, 'embedded', page.position).catch((error: unknown) =>
              options.log?.warn({ err: error, consumer: durable }, 'event cursor not stored'),
            );
          }
          const moved = page.position !== after;
          after = page.position;
          if (!remote && !moved) await nextCommit(pollMs, signal);
        }
      })();
      const subscription: Subscription = {
        async close() {
          stop.abort();
          await loop;
          subscriptions.delete(subscription);
        },
      };
      subscriptions.add(subscription);
      return subscription;
    },
    async lag(domain, durable, tenantId) {
      const cursor = (await storedCursor(store, durable, domain, 'embedded')) ?? '0';
      if (domain === local) {
        const [row] = await store.query<{ pending: string; oldest: Date | string | null }>(
          `SELECT count(*)::text AS pending, min("committed_at") AS oldest FROM "hub_sync_outbox"
            WHERE "seq" > $1::bigint${tenantId === undefined ? '' : ` AND "tenant_id" = $2`}`,
          tenantId === undefined ? [cursor] : [cursor, tenantId],
        );
        const oldest = row?.oldest ?? null;
        return {
          pending: Number(row?.pending ?? 0),
          oldestCommittedAt: oldest === null ? null : new Date(oldest).toISOString(),
        };
      }
      // A remote stream is only read, not counted: at most one page tells the lag (capped).
      const page = await reader(domain)(domain, { after: cursor, limit: 5000, waitMs: 0 });
      const events = tenantId === undefined ? page.events : page.events.filter((e) => e.tenantId === tenantId);
      return { pending: events.length, oldestCommittedAt: events[0]?.committedAt ?? null };
    },
    async close() {
      closing.abort();
      await Promise.all([...subscriptions].map((s) => s.close()));
    },
  };
  return bus;
}
