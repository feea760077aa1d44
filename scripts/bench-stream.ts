/**
 * What the streaming benchmarks share (`bench:events`, `bench:live`): a paced offer of events at a
 * set rate, latency summaries, and the floors every path is compared with — an in-process hand-off
 * and a raw JetStream publish -> consume round trip on the same server, measured at the same rate.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { connect } from '@nats-io/transport-node';
import { AckPolicy, jetstream, jetstreamManager, StorageType } from '@nats-io/jetstream';
import { natsConnectionOptions } from '@hub/core/events/bus-nats';

/** Wall-clock milliseconds with sub-millisecond resolution (the floors are well under 1 ms). */
export const nowMs = () => performance.timeOrigin + performance.now();

/** The `p`-th percentile (0–100) of ascending `sorted`. */
export function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

export interface LatencySummary {
  readonly path: string;
  readonly offered: number;
  readonly events: number;
  /** From the first offer to the end of the offer (or to the last event applied, where stated). */
  readonly seconds: number;
  readonly p50: number;
  readonly p99: number;
  readonly floor?: 'in-process' | 'nats';
}

export function summarize(
  path: string,
  offered: number,
  latencies: readonly number[],
  seconds: number,
  floor?: LatencySummary['floor'],
): LatencySummary {
  const sorted = [...latencies].sort((a, b) => a - b);
  return {
    path,
    offered,
    events: sorted.length,
    seconds,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    ...(floor ? { floor } : {}),
  };
}

/**
 * Offers `rate` events/s for `seconds`: every `tickMs`, the events due by then that were not sent
 * yet go in one `tick(n)` — one at a time, so a tick that takes longer than `tickMs` makes the next
 * one larger (a producer that commits what arrived meanwhile) rather than piling up transactions
 * that wait on each other. Resolves with the seconds the offer took.
 */
export async function offer(
  rate: number,
  seconds: number,
  tick: (n: number) => Promise<void>,
  tickMs = 10,
): Promise<number> {
  const perTick = (rate * tickMs) / 1000;
  const started = performance.now();
  let sent = 0;
  const total = rate * seconds;
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - started) / tickMs + 1) * perTick));
    if (due > sent) {
      const n = due - sent;
      sent = due;
      await tick(n);
    }
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, tickMs - ((performance.now() - started) % tickMs))));
  }
  return (performance.now() - started) / 1000;
}

/** The floor of an in-process bus: a `setImmediate` hand-off per event, at `rate` for `seconds`. */
export async function inProcessFloor(rate: number, seconds: number): Promise<LatencySummary> {
  const latencies: number[] = [];
  const took = await offer(rate, seconds, async (count) => {
    const sent = nowMs();
    for (let i = 0; i < count; i++) setImmediate(() => latencies.push(nowMs() - sent));
  });
  return summarize('floor: in-process hand-off', rate * seconds, latencies, took, 'in-process');
}

/** The floor of the NATS bus: raw JetStream publish -> durable pull consume -> ack, on a stream of its own. */
export async function natsFloor(servers: string, rate: number, seconds: number): Promise<LatencySummary> {
  // The hub's own connection options (bus-nats.ts), so the floor and our path use the client alike.
  const nc = await connect(natsConnectionOptions(servers, 'bench-floor'));
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  const name = `BFLOOR_${randomBytes(4).toString('hex').toUpperCase()}`;
  await jsm.streams.add({ name, subjects: [`${name.toLowerCase()}.>`], storage: StorageType.File });
  await jsm.consumers.add(name, { durable_name: 'floor', ack_policy: AckPolicy.Explicit });
  const consumer = await js.consumers.get(name, 'floor');
  const latencies: number[] = [];
  const total = rate * seconds;
  const messages = await consumer.consume({ max_messages: 1024 });
  const done = (async () => {
    for await (const msg of messages) {
      latencies.push(nowMs() - Number(new TextDecoder().decode(msg.data)));
      msg.ack();
      if (latencies.length >= total) break;
    }
  })();
  const took = await offer(rate, seconds, async (count) => {
    await Promise.all(
      Array.from({ length: count }, () =>
        js.publish(`${name.toLowerCase()}.x`, new TextEncoder().encode(String(nowMs())), { timeout: 30_000 }),
      ),
    );
  });
  await Promise.race([done, new Promise((r) => setTimeout(r, 30_000))]);
  await messages.close();
  await jsm.streams.delete(name);
  await nc.close();
  return summarize('floor: raw JetStream publish -> consume', total, latencies, took, 'nats');
}
