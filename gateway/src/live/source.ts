/**
 * Where the gateway's subscriptions get events: the event bus, never the stores. One tail per
 * domain stream, shared by every subscriber of this process, plus `read` for resumes.
 *
 * - Embedded bus (no NATS_URL): each stream is the producing subgraph's outbox, read through its
 *   internal `_events` long poll (20 s waits, woken by the producer's commits), signed as the
 *   gateway's own `system` principal in the pseudo-tenant `*` — `_events` answers that principal
 *   and the subgraphs' service principals only (authz `eventPermissions`).
 * - With NATS_URL: the domains' JetStream streams, through an ordered consumer per stream held by
 *   this process (core events/natsTail.ts), so several gateway processes sharing no memory each
 *   deliver every event to their own subscribers; cursors are stream sequences, valid on any of them.
 *
 * The tails start with the process's first subscription, at each stream's head ("now"): a gateway
 * nobody subscribes to reads no stream. Events before that reach a subscriber only
 * through a resume cursor. A failed read is retried from the same position with
 * backoff, so a subgraph restart delays events but loses none.
 */
import { DOMAINS, type Domain } from '@hub/core/domains';
import type { EventEnvelope } from '@hub/core/events/types';
import type { NatsStreamPager } from '@hub/core/events/natsTail';
import type { StreamReader } from '@hub/core/events/remote';
import type { Logger } from '../logger.js';
import type { StreamVector } from './cursor.js';

export type EventListener = (event: EventEnvelope) => void;

export interface EventSource {
  /** Resolves once every stream's head is known (subscriptions wait for it). */
  ready(): Promise<void>;
  /** How far every tail has told its listeners, per stream (a fresh subscription's start). */
  positions(): StreamVector;
  /** Called synchronously, in stream order, for every event a tail reads. Returns the unsubscribe. */
  listen(listener: EventListener): () => void;
  /**
   * Every tail is caught up: its last read succeeded and reached the stream's head (fewer events
   * than a page), every event before it handed to the listeners. False from the start until then,
   * and again from a failed read until its retry catches up from the same position. The entity
   * cache serves only while this holds (entityCache.ts): an event it has not seen may be committed.
   */
  caughtUp(): boolean;
  /** Called on every change of `caughtUp()`; starts the tails, like `listen`. Returns the unsubscribe. */
  onCaughtUp(listener: (caughtUp: boolean) => void): () => void;
  /** Up to `limit` events of `domain` after `after`, in order (resume). */
  read(domain: Domain, after: string, limit: number): Promise<EventEnvelope[]>;
  close(): Promise<void>;
}

/** How a stream is read: a page after a position (long-polling up to `waitMs` when the bus can). */
export interface StreamPager {
  head(domain: Domain): Promise<string>;
  page(
    domain: Domain,
    after: string,
    limit: number,
    waitMs: number,
    signal: AbortSignal,
  ): Promise<{ events: EventEnvelope[]; position: string }>;
}

export function embeddedPager(reader: StreamReader): StreamPager {
  return {
    head: async (domain) => (await reader(domain, { after: 'now', limit: 1, waitMs: 0 })).position,
    page: (domain, after, limit, waitMs, signal) => reader(domain, { after, limit, waitMs, signal }),
  };
}

/** The JetStream streams themselves (NATS_URL), through the connection `pager` gives. */
export function natsPager(pager: () => Promise<NatsStreamPager>): StreamPager {
  return {
    head: async (domain) => (await pager()).head(domain),
    page: async (domain, after, limit, waitMs, signal) => (await pager()).page(domain, after, limit, waitMs, signal),
  };
}

const PAGE = 500;

/** Cursors of both buses are sequence numbers (outbox seq, JetStream sequence). */
function atOrPast(position: string, head: string): boolean {
  try {
    return BigInt(position) >= BigInt(head);
  } catch {
    return false;
  }
}
const WAIT_MS = 20_000;

export function createEventSource(options: {
  readonly pager: StreamPager;
  readonly log: Logger;
  readonly domains?: readonly Domain[];
}): EventSource {
  const { pager, log } = options;
  const domains = options.domains ?? DOMAINS;
  const listeners = new Set<EventListener>();
  const healthListeners = new Set<(caughtUp: boolean) => void>();
  const positions: StreamVector = {};
  const behind = new Set<Domain>(domains);
  let wasCaughtUp = false;
  // Taking the head, or finding it where the tail stands after a failure, is caught up at once
  // (on a quiet stream the next page would only return after its long poll's wait).
  const caughtUp = (domain: Domain) => {
    if (behind.delete(domain)) report();
  };
  const report = () => {
    const now = behind.size === 0;
    if (now === wasCaughtUp) return;
    wasCaughtUp = now;
    for (const listener of healthListeners) listener(now);
  };
  const closing = new AbortController();
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      closing.signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
    });

  async function tail(domain: Domain): Promise<void> {
    let failures = 0;
    for (;;) {
      if (closing.signal.aborted) return;
      try {
        let after = positions[domain];
        if (after === undefined) {
          after = positions[domain] = await pager.head(domain);
          caughtUp(domain);
        } else if (behind.has(domain) && atOrPast(after, await pager.head(domain))) caughtUp(domain);
        const page = await pager.page(domain, after, PAGE, WAIT_MS, closing.signal);
        for (const event of page.events) {
          positions[domain] = event.cursor;
          for (const listener of listeners) listener(event);
        }
        positions[domain] = page.position;
        failures = 0;
        if (page.events.length < PAGE) caughtUp(domain);
      } catch (error) {
        if (closing.signal.aborted) return;
        behind.add(domain);
        report();
        failures++;
        log.warn({ domain, err: error, failures }, 'live: reading the event stream failed; retrying');
        await sleep(Math.min(10_000, 250 * 2 ** Math.min(failures, 6)));
      }
    }
  }

  let started: { heads: Promise<void>; tails: Promise<void>[] } | undefined;
  function start() {
    if (started) return started;
    const heads = new Promise<void>((resolve) => {
      const check = setInterval(() => {
        if (domains.every((d) => positions[d] !== undefined) || closing.signal.aborted) {
          clearInterval(check);
          resolve();
        }
      }, 20);
    });
    started = { heads, tails: domains.map((domain) => tail(domain)) };
    return started;
  }

  return {
    ready: () => start().heads,
    positions: () => ({ ...positions }),
    listen(listener) {
      start();
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    caughtUp: () => behind.size === 0,
    onCaughtUp(listener) {
      start();
      healthListeners.add(listener);
      return () => healthListeners.delete(listener);
    },
    async read(domain, after, limit) {
      return (await pager.page(domain, after, limit, 0, closing.signal)).events;
    },
    async close() {
      closing.abort();
      domains.forEach((d) => behind.add(d));
      report();
      await Promise.allSettled(started?.tails ?? []);
    },
  };
}
