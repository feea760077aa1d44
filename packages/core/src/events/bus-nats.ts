/**
 * The NATS JetStream bus (NATS_URL set). One stream per producing domain, `<PREFIX>_<DOMAIN>` on
 * subjects `<prefix>.<domain>.<tenant>.<kind>` (tenant encoded as a subject token), file storage,
 * a duplicate window (message id = event id, so the server drops a relay's republished copy). One
 * durable pull consumer per ConsumerDefinition, explicit ack; a pump pulls up to max ack pending
 * events into the subscription's queue and a worker hands them over in stream order, in batches
 * (`BatchPolicy`: what is queued, up to `maxEvents`, after a `lingerMs` wait), acknowledging each
 * batch before the next (a retry waits in place, telling the server `working` for everything held
 * so the ack wait does not expire). `read` uses an ordered consumer from a start
 * sequence or time. The cursor is the stream sequence.
 *
 * nats-server 2.9 (Debian's) has one filter subject per consumer, so a consumer filters its stream
 * by domain and skips other types itself.
 */
import { connect } from '@nats-io/transport-node';
import type { ConnectionOptions, NatsConnection } from '@nats-io/nats-core';
import {
  AckPolicy,
  DeliverPolicy,
  jetstream,
  jetstreamManager,
  StorageType,
  type ConsumerConfig,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
} from '@nats-io/jetstream';
import type { Domain } from '../domains.js';
import type { Logger } from '../logger.js';
import { REPLAY_WINDOW_DAYS } from '../retention.js';
import { batchHandlerOf, runBatch, sleep, type BatchItem } from './batching.js';
import type { EventBus, EventEnvelope, StartPosition, Subscription } from './types.js';

export interface NatsBusOptions {
  /** Server URL(s), comma-separated. */
  readonly servers: string;
  /** Stream and consumer name prefix; its lower case is the subject root. @default HUB */
  readonly prefix?: string;
  /** Duplicate window of the streams. @default 120000 */
  readonly duplicateWindowMs?: number;
  /** Ack wait of the durable consumers: an unacknowledged event is redelivered after it. @default 30000 */
  readonly ackWaitMs?: number;
  /** Events in flight per consumer (received, not yet acknowledged): the next batches wait here. @default 1024 */
  readonly maxAckPending?: number;
  readonly log?: Logger | undefined;
  /** Connection name shown by the server. */
  readonly name?: string;
}

const ns = (ms: number) => ms * 1_000_000;

/**
 * How every hub process connects to NATS (the bus, the gateway's live tails): `servers`
 * comma-separated. A restarted server is waited for, however long (publishes fail meanwhile; the
 * relay retries). `noAsyncTraces`: the client otherwise builds two Error objects with stack traces
 * for every request (each JetStream publish is one) in case it later times out — 6–7 % of the
 * producing thread's CPU in bench:events — and our errors are logged with their reason, not the
 * client's call stack.
 */
export function natsConnectionOptions(servers: string, name: string): ConnectionOptions {
  return {
    servers: servers.split(',').map((s) => s.trim()),
    name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    noAsyncTraces: true,
  };
}

/** A stream message as the envelope it carries; its cursor is its stream sequence. */
export function decodeEnvelope(msg: { data: Uint8Array; seq: number }): EventEnvelope {
  return {
    ...(JSON.parse(new TextDecoder().decode(msg.data)) as Omit<EventEnvelope, 'cursor'>),
    cursor: String(msg.seq),
  };
}

/**
 * A one-shot read of `stream` from `start` up to sequence `last` (the head when the read began), at
 * most `limit` events, through a throwaway ordered consumer: the bus's `read` and the live tails'
 * resume reads (natsTail.ts).
 */
export async function readUpTo(
  js: JetStreamClient,
  stream: string,
  start: Partial<ConsumerConfig>,
  last: number,
  limit: number,
): Promise<EventEnvelope[]> {
  const events: EventEnvelope[] = [];
  const consumer = await js.consumers.get(stream, start);
  try {
    while (events.length < limit) {
      const msg = await consumer.next({ expires: 1000 });
      if (!msg) break;
      events.push(decodeEnvelope(msg));
      if (msg.seq >= last) break;
    }
  } finally {
    await consumer.delete().catch(() => undefined);
  }
  return events;
}

/** A tenant id as one subject token: kept when it is plain, else `~` + base64url of it. */
export function subjectToken(value: string): string {
  return /^[A-Za-z0-9_-]+$/.test(value) ? value : `~${Buffer.from(value, 'utf8').toString('base64url')}`;
}

export interface NatsBus extends EventBus {
  readonly kind: 'nats';
  readonly connection: NatsConnection;
  streamName(domain: Domain): string;
  consumerName(durable: string): string;
  /**
   * Moves the durable consumer `durable` of `domain`'s stream back (or forward) to `start`: deleted and
   * created again with the config `subscribe` gives it. For a restored store (restore.ts), whose
   * consumers' inbox and cursors are those of the dump: the bus must deliver again what came after.
   * Nothing may be subscribed to it meanwhile (its process is stopped).
   */
  rewind(domain: Domain, durable: string, start: StartPosition): Promise<void>;
}

export async function createNatsBus(options: NatsBusOptions): Promise<NatsBus> {
  const prefix = options.prefix ?? 'HUB';
  const root = prefix.toLowerCase().replace(/[^a-z0-9_-]/g, '_');
  const ackWaitMs = options.ackWaitMs ?? 30_000;
  const maxAckPending = options.maxAckPending ?? 1024;
  const log = options.log;
  const nc = await connect(natsConnectionOptions(options.servers, options.name ?? 'hub'));
  const jsm: JetStreamManager = await jetstreamManager(nc);
  const js: JetStreamClient = jetstream(nc);
  const streamName = (domain: Domain) => `${prefix}_${domain.toUpperCase()}`;
  const consumerName = (durable: string) => `${prefix}_${durable.replace(/[^A-Za-z0-9_-]/g, '_')}`;
  const ensured = new Map<Domain, Promise<void>>();
  const subscriptions = new Set<Subscription>();
  const closing = new AbortController();

  function ensureStream(domain: Domain): Promise<void> {
    let ready = ensured.get(domain);
    if (!ready) {
      ready = (async () => {
        const name = streamName(domain);
        try {
          await jsm.streams.info(name);
        } catch {
          await jsm.streams.add({
            name,
            subjects: [`${root}.${domain}.>`],
            storage: StorageType.File,
            duplicate_window: ns(options.duplicateWindowMs ?? 120_000),
            // The bus keeps events as long as the outbox does (retention.ts): a replay or a live
            // resume reaches as far back on NATS as on the embedded bus.
            max_age: ns(REPLAY_WINDOW_DAYS * 86_400_000),
          });
        }
      })();
      ready.catch(() => ensured.delete(domain));
      ensured.set(domain, ready);
    }
    return ready;
  }

  const decode = decodeEnvelope;

  /**
   * One tenant's part of a durable consumer's lag: the tenant's events after the consumer's ack
   * floor (its subjects, `<root>.<domain>.<tenant>.>`), counted by a throwaway consumer filtered on
   * them, whose first message is the oldest. JetStream keeps no per-subject count of a
   * consumer's pending events; events acknowledged out of order past the floor (at most
   * `maxAckPending`) are counted too, so this is an upper bound by the events in flight.
   */
  async function tenantLag(stream: string, domain: Domain, ackFloor: number, tenantId: string) {
    // Counted at creation: `num_pending` of a new consumer is what matches its filter from its start.
    const counting = await jsm.consumers.add(stream, {
      filter_subject: `${root}.${domain}.${subjectToken(tenantId)}.>`,
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: ackFloor + 1,
      ack_policy: AckPolicy.None,
      inactive_threshold: ns(10_000),
    });
    try {
      if (counting.num_pending === 0) return { pending: 0, oldestCommittedAt: null };
      const first = await (await js.consumers.get(stream, counting.name)).next({ expires: 1000 });
      return { pending: counting.num_pending, oldestCommittedAt: first ? decode(first).committedAt : null };
    } finally {
      await jsm.consumers.delete(stream, counting.name).catch(() => undefined);
    }
  }

  function startConfig(start: StartPosition): Partial<ConsumerConfig> {
    switch (start.from) {
      case 'beginning':
        return { deliver_policy: DeliverPolicy.All };
      case 'now':
        return { deliver_policy: DeliverPolicy.New };
      case 'cursor':
        // A cursor names the last event seen: start after it.
        return { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: Number(start.cursor) + 1 };
      case 'time':
        return { deliver_policy: DeliverPolicy.StartTime, opt_start_time: start.time.toISOString() };
    }
  }

  function durableConfig(domain: Domain, name: string, start: StartPosition): Partial<ConsumerConfig> {
    return {
      durable_name: name,
      ack_policy: AckPolicy.Explicit,
      ack_wait: ns(ackWaitMs),
      // The runtime counts attempts and dead-letters itself; the server never gives up on an event.
      max_deliver: -1,
      max_ack_pending: maxAckPending,
      filter_subject: `${root}.${domain}.>`,
      ...startConfig(start),
    };
  }

  const bus: NatsBus = {
    kind: 'nats',
    connection: nc,
    streamName,
    consumerName,
    async rewind(domain, durable, start) {
      await ensureStream(domain);
      const stream = streamName(domain);
      const name = consumerName(durable);
      await jsm.consumers.delete(stream, name).catch(() => undefined);
      await jsm.consumers.add(stream, durableConfig(domain, name, start));
    },
    async publish(domain, events) {
      if (events.length === 0) return;
      await ensureStream(domain);
      const encoder = new TextEncoder();
      // Sent back to back on one connection, so the server stores them in this order; then every
      // acknowledgement is awaited (a duplicate's ack says so, and counts as stored).
      const acks = events.map((event) =>
        js.publish(
          `${root}.${domain}.${subjectToken(event.tenantId)}.${subjectToken(event.type.slice(domain.length + 1) || 'event')}`,
          encoder.encode(JSON.stringify(event)),
          { msgID: event.id, timeout: 10_000 },
        ),
      );
      await Promise.all(acks);
    },
    async subscribe(subscribeOptions) {
      const { domain, durable, types, start } = subscribeOptions;
      const { policy, handle } = batchHandlerOf(subscribeOptions);
      await ensureStream(domain);
      const stream = streamName(domain);
      const name = consumerName(durable);
      let info;
      try {
        // An existing durable keeps its position and config; its start only applies the first time.
        info = await jsm.consumers.info(stream, name);
      } catch {
        info = await jsm.consumers.add(stream, durableConfig(domain, name, start));
      }
      const consumer = await js.consumers.get(stream, name);
      /**
       * The next stream sequence this consumer must handle. The filter covers the whole stream, so
       * sequences are contiguous: after a crash the server redelivers the dead process's pending
       * events each when its own ack wait ends, not necessarily in order, and a later event could
       * overtake an earlier one of the same customer. So an event past `expected` first pulls the
       * missing ones from the stream itself and handles them in order (the inbox makes their
       * redelivered copies no-ops), and a copy below `expected` is only acknowledged.
       */
      let expected: number | undefined =
        info.ack_floor.stream_seq > 0
          ? info.ack_floor.stream_seq + 1
          : info.config.deliver_policy === DeliverPolicy.All
            ? 1
            : info.config.deliver_policy === DeliverPolicy.StartSequence
              ? (info.config.opt_start_seq ?? 1)
              : undefined;
      const stop = new AbortController();
      const signal = AbortSignal.any([stop.signal, closing.signal]);
      const wanted = types ? new Set(types) : undefined;
      /** Received, not yet handled, in arrival order (the pull keeps up to max ack pending in flight). */
      const queue: JsMsg[] = [];
      /** Attempts of sequences being retried in place (a gap-filled event has no delivery count). */
      const attempts = new Map<number, number>();
      let arrived: (() => void) | undefined;
      const pump = (async () => {
        while (!signal.aborted) {
          try {
            const messages = await consumer.consume({ max_messages: maxAckPending });
            const onAbort = () => void messages.close();
            signal.addEventListener('abort', onAbort, { once: true });
            for await (const msg of messages) {
              if (signal.aborted) break;
              queue.push(msg);
              arrived?.();
            }
            signal.removeEventListener('abort', onAbort);
          } catch (error) {
            if (signal.aborted) break;
            log?.warn({ err: error, consumer: durable }, 'JetStream consume failed; resubscribing');
            await sleep(1000, signal);
          }
        }
        arrived?.();
      })();
      interface Item {
        readonly seq: number;
        /** Absent for an event pulled from the stream to fill a gap (its own copy comes later). */
        readonly msg: JsMsg | undefined;
        /** Absent when there is nothing to handle: another type, undecodable, or gone. */
        readonly event: EventEnvelope | undefined;
      }
      /** Left over from the last batch (a retry), handled first. */
      let carried: Item[] = [];
      // Keeps the server from redelivering what waits here or is being handled (retries included).
      const heartbeat = setInterval(
        () => {
          for (const item of carried) item.msg?.working();
          for (const msg of queue) msg.working();
        },
        Math.max(1000, ackWaitMs / 3),
      );
      const worker = (async () => {
        while (!signal.aborted) {
          if (queue.length === 0 && carried.length === 0) {
            await new Promise<void>((resolve) => (arrived = resolve));
            arrived = undefined;
            continue;
          }
          // Linger: what arrives meanwhile joins this batch (one transaction downstream).
          if (carried.length + queue.length < policy.maxEvents && policy.lingerMs > 0)
            await sleep(policy.lingerMs, signal);
          if (signal.aborted) break;
          carried = await withGapsFilled(carried, queue.splice(0, Math.max(0, policy.maxEvents - carried.length)));
          const retryMs = await deliver();
          if (carried.length > 0) await sleep(retryMs, signal);
        }
      })();

      const decoded = (stored: { data: Uint8Array; seq: number }) => {
        try {
          const event = decode(stored);
          return wanted && !wanted.has(event.type) ? undefined : event;
        } catch (error) {
          log?.error({ err: error, consumer: durable, seq: stored.seq }, 'undecodable event skipped');
          return undefined;
        }
      };

      /** `items` + `msgs` in stream order: copies already handled acknowledged, gaps pulled from the stream. */
      async function withGapsFilled(items: Item[], msgs: readonly JsMsg[]): Promise<Item[]> {
        const out = [...items];
        let next = out.length > 0 ? (out.at(-1)?.seq ?? 0) + 1 : expected;
        for (const msg of msgs) {
          // A copy of an event already handled: only acknowledged. One of an event in hand: dropped
          // (acknowledging it would tell the server the event is done before it is).
          if (expected !== undefined && msg.seq < expected) {
            msg.ack();
            continue;
          }
          if (next !== undefined && msg.seq < next) continue;
          for (let seq = next ?? msg.seq; seq < msg.seq && !signal.aborted; seq++) {
            const stored = await jsm.streams.getMessage(stream, { seq }).catch(() => null);
            // Gone (retention): nothing to handle at that position.
            out.push({ seq, msg: undefined, event: stored ? decoded(stored) : undefined });
          }
          out.push({ seq: msg.seq, msg, event: decoded(msg) });
          next = msg.seq + 1;
        }
        return out;
      }

      /** Handles `carried`, acknowledges what is done; leaves the rest in `carried`, returns the retry delay. */
      async function deliver(): Promise<number> {
        const items = carried;
        const batch: BatchItem[] = items.flatMap((item) =>
          item.event
            ? [{ event: item.event, attempt: attempts.get(item.seq) ?? item.msg?.info.deliveryCount ?? 1 }]
            : [],
        );
        const outcome =
          batch.length > 0 ? await runBatch(batch, handle, log, durable) : { done: 0, retryMs: 0, failed: false };
        // Done: the handled items before the first left over, and the nothing-to-handle ones among them.
        let handled = 0;
        let cut = items.length;
        for (const [i, item] of items.entries()) {
          if (!item.event) continue;
          if (handled === outcome.done) {
            cut = i;
            break;
          }
          handled++;
        }
        const done = items.slice(0, cut);
        // Acknowledged for sure before the next batch: a lost ack would only cost a redelivery the
        // inbox drops, but waiting keeps `lag` honest.
        await Promise.all(done.flatMap((item) => (item.msg ? [item.msg.ackAck().catch(() => item.msg?.ack())] : [])));
        for (const item of done) attempts.delete(item.seq);
        const last = done.at(-1);
        if (last) expected = last.seq + 1;
        carried = items.slice(cut);
        const [first] = carried;
        if (first && outcome.failed) attempts.set(first.seq, (batch[outcome.done]?.attempt ?? 1) + 1);
        return outcome.retryMs;
      }

      const subscription: Subscription = {
        async close() {
          stop.abort();
          arrived?.();
          await Promise.all([pump, worker]);
          clearInterval(heartbeat);
          subscriptions.delete(subscription);
        },
      };
      subscriptions.add(subscription);
      return subscription;
    },
    async read(domain, start, limit) {
      await ensureStream(domain);
      const stream = streamName(domain);
      const info = await jsm.streams.info(stream);
      const last = info.state.last_seq;
      const events: EventEnvelope[] = [];
      if (start.from === 'now' || last === 0) return events;
      return readUpTo(js, stream, startConfig(start), last, limit);
    },
    async lag(domain, durable, tenantId) {
      const stream = streamName(domain);
      const info = await jsm.consumers.info(stream, consumerName(durable));
      const pending = info.num_pending + info.num_ack_pending;
      if (pending === 0) return { pending: 0, oldestCommittedAt: null };
      if (tenantId !== undefined) return tenantLag(stream, domain, info.ack_floor.stream_seq, tenantId);
      const oldest = await jsm.streams.getMessage(stream, { seq: info.ack_floor.stream_seq + 1 }).catch(() => null);
      const committedAt = oldest ? (oldest.json<{ committedAt?: string }>().committedAt ?? null) : null;
      return { pending, oldestCommittedAt: committedAt };
    },
    async close() {
      closing.abort();
      await Promise.all([...subscriptions].map((s) => s.close()));
      await nc.drain().catch(() => nc.close());
    },
  };
  return bus;
}
