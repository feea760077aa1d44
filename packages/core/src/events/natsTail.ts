/**
 * Reading a domain's JetStream stream as a tail, for a process that must see every event itself:
 * the gateway's live subscriptions with NATS_URL (issue 9 item 5). Each process holds its own
 * ordered consumer per stream (ephemeral, no durable name), so several gateway processes sharing no
 * memory each receive every event; a durable consumer would split the events between them.
 *
 * Positions are the stream sequences the bus's envelopes carry as `cursor` (bus-nats.ts), so a
 * subscriber resumes on any gateway of the same NATS with the cursor another gave it.
 *
 * - `page(after, limit, waitMs > 0)`: the live tail. The ordered consumer pushes (`consume`) into a
 *   buffer; a page takes what is buffered, or waits for the first arrival up to `waitMs`. A page
 *   that does not continue from the previous one (a restart from another position) re-creates the
 *   consumer there.
 * - `page(after, limit, 0)`: a one-shot read up to the stream's last sequence at the time (resume).
 * - While the connection is down every page fails (a waiting one at once) and the tails are dropped,
 *   so a reader knows it may be missing events (the gateway's entity cache stops serving) and its
 *   retry re-creates the consumer at its own position once the client has reconnected.
 */
import { connect } from '@nats-io/transport-node';
import { DeliverPolicy, JetStreamApiCodes, JetStreamApiError, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { Domain } from '../domains.js';
import { decodeEnvelope, natsConnectionOptions, readUpTo } from './bus-nats.js';
import type { EventEnvelope } from './types.js';

export interface StreamPage {
  readonly events: EventEnvelope[];
  /** Where the next page starts: the last event's cursor, or `after` when none came. */
  readonly position: string;
}

export interface NatsStreamPager {
  /** The stream's last sequence ("0" for a stream that does not exist yet). */
  head(domain: Domain): Promise<string>;
  page(domain: Domain, after: string, limit: number, waitMs: number, signal: AbortSignal): Promise<StreamPage>;
  close(): Promise<void>;
}

interface Tail {
  /** Sequence of the last event handed out (the next page must start after it). */
  last: number;
  readonly buffer: EventEnvelope[];
  wake?: () => void;
  stop(): void;
}

export async function createNatsStreamPager(options: {
  readonly servers: string;
  /** HUB_NATS_PREFIX, as the subgraphs' bus: streams are `<prefix>_<DOMAIN>`. @default HUB */
  readonly prefix?: string;
  readonly name?: string;
}): Promise<NatsStreamPager> {
  const prefix = options.prefix ?? 'HUB';
  const nc = await connect(natsConnectionOptions(options.servers, options.name ?? 'hub-tail'));
  const js = jetstream(nc);
  const jsm = await jetstreamManager(nc);
  const streamName = (domain: Domain) => `${prefix}_${domain.toUpperCase()}`;
  const tails = new Map<Domain, Tail>();
  let disconnected = false;
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === 'disconnect') {
        disconnected = true;
        for (const tail of tails.values()) {
          tail.stop();
          tail.wake?.();
        }
        tails.clear();
      } else if (status.type === 'reconnect') disconnected = false;
    }
  })().catch(() => undefined);
  const connected = () => {
    if (disconnected) throw new Error('NATS connection lost; reconnecting');
  };

  const lastSeq = async (domain: Domain): Promise<number> => {
    try {
      return (await jsm.streams.info(streamName(domain))).state.last_seq;
    } catch (error) {
      // No stream yet: nothing was ever published on it (the first publish creates it). Anything
      // else (NATS unreachable) is the caller's to retry.
      if (error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound) return 0;
      throw error;
    }
  };

  async function openTail(domain: Domain, after: number): Promise<Tail> {
    const consumer = await js.consumers.get(streamName(domain), {
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: after + 1,
    });
    const messages = await consumer.consume({ max_messages: 1000 });
    const tail: Tail = {
      last: after,
      buffer: [],
      stop: () => void messages.stop(),
    };
    void (async () => {
      for await (const msg of messages) {
        tail.buffer.push(decodeEnvelope(msg));
        tail.wake?.();
      }
    })().catch(() => undefined);
    return tail;
  }

  async function oneShot(domain: Domain, after: number, limit: number): Promise<StreamPage> {
    const last = await lastSeq(domain);
    if (last <= after) return { events: [], position: String(after) };
    const start = { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: after + 1 };
    const events = await readUpTo(js, streamName(domain), start, last, limit);
    return { events, position: events.at(-1)?.cursor ?? String(after) };
  }

  return {
    head: async (domain) => String(await lastSeq(domain)),
    async page(domain, afterCursor, limit, waitMs, signal) {
      const after = Number(afterCursor);
      connected();
      if (waitMs <= 0) return oneShot(domain, after, limit);
      let tail = tails.get(domain);
      if (!tail || tail.last !== after) {
        tail?.stop();
        tails.delete(domain);
        try {
          tail = await openTail(domain, after);
        } catch (error) {
          // No stream yet (nothing was ever published on it; the first publish creates it): wait as
          // a long poll would, then look again. Anything else is the tail's to retry.
          if ((await lastSeq(domain)) !== 0) throw error;
          await new Promise((resolve) => setTimeout(resolve, Math.min(waitMs, 1000)));
          return { events: [], position: afterCursor };
        }
        tails.set(domain, tail);
      }
      const current = tail;
      if (current.buffer.length === 0 && !signal.aborted)
        await new Promise<void>((resolve) => {
          const done = () => {
            clearTimeout(timer);
            signal.removeEventListener('abort', done);
            current.wake = undefined;
            resolve();
          };
          const timer = setTimeout(done, waitMs);
          current.wake = done;
          signal.addEventListener('abort', done, { once: true });
        });
      connected();
      const events = current.buffer.splice(0, limit);
      const lastEvent = events.at(-1);
      if (lastEvent) current.last = Number(lastEvent.cursor);
      return { events, position: String(current.last) };
    },
    async close() {
      for (const tail of tails.values()) tail.stop();
      tails.clear();
      await nc.drain().catch(() => nc.close());
    },
  };
}
