/**
 * What both buses share to hand a subscriber batches of deliveries (types.ts `EventBus.subscribe`):
 * the batch policy of a subscription and the settling of one batch: the deliveries acknowledged
 * before the first that is not are done; from that one on the batch is delivered again, after the
 * retry's delay, with that one's attempt counted up (in place: a later event never overtakes it).
 */
import type { Logger } from '../logger.js';
import { DEFAULT_BATCH, type BatchPolicy, type Delivery, type EventBus, type EventEnvelope } from './types.js';

type SubscribeOptions = Parameters<EventBus['subscribe']>[0];

/** The handler of a subscription as a batch handler, with the policy its batches follow. */
export function batchHandlerOf(options: SubscribeOptions): {
  readonly policy: BatchPolicy;
  readonly handle: (deliveries: readonly Delivery[]) => Promise<void>;
} {
  const { handleBatch, handle } = options;
  if (handleBatch) return { policy: options.batch ?? DEFAULT_BATCH, handle: handleBatch };
  if (!handle) throw new Error(`subscription ${options.durable} has no handler`);
  return {
    // A per-event handler keeps the one-at-a-time pace unless a batch policy is asked for.
    policy: options.batch ?? { maxEvents: 1, lingerMs: 0 },
    async handle(deliveries) {
      for (const delivery of deliveries) {
        let outcome: 'ack' | 'retry' | undefined;
        await handle({
          event: delivery.event,
          attempt: delivery.attempt,
          ack: () => ((outcome = 'ack'), delivery.ack()),
          retry: (ms) => ((outcome = 'retry'), delivery.retry(ms)),
        });
        // Retried: it and the rest come again. Neither acknowledged nor retried: done (as before batches).
        if (outcome === 'retry') return;
        if (outcome === undefined) await delivery.ack();
      }
    },
  };
}

export interface BatchItem {
  readonly event: EventEnvelope;
  readonly attempt: number;
}

export interface BatchOutcome {
  /** How many items from the front are done. */
  readonly done: number;
  /** When items remain: wait this long, then deliver them again. */
  readonly retryMs: number;
  /** When items remain: whether the first of them counts an attempt (it failed, it was not skipped). */
  readonly failed: boolean;
}

const isAck = (outcome: { ack: true } | { retryMs: number } | undefined) => outcome !== undefined && 'ack' in outcome;

/** Runs one batch through `handle` and says how far it got. */
export async function runBatch(
  items: readonly BatchItem[],
  handle: (deliveries: readonly Delivery[]) => Promise<void>,
  log: Logger | undefined,
  durable: string,
): Promise<BatchOutcome> {
  const outcomes: ({ ack: true } | { retryMs: number } | undefined)[] = items.map(() => undefined);
  const deliveries = items.map((item, i): Delivery => {
    return {
      event: item.event,
      attempt: item.attempt,
      ack: async () => void (outcomes[i] = { ack: true }),
      retry: async (retryMs) => void (outcomes[i] = { retryMs }),
    };
  });
  let threw = false;
  try {
    await handle(deliveries);
  } catch (error) {
    log?.error({ err: error, consumer: durable, eventId: items[0]?.event.id }, 'event handler threw');
    threw = true;
  }
  let done = 0;
  while (done < items.length && isAck(outcomes[done])) done++;
  const first = outcomes[done];
  if (done === items.length) return { done, retryMs: 0, failed: false };
  if (!threw && first !== undefined && 'retryMs' in first) return { done, retryMs: first.retryMs, failed: true };
  // A handler that threw, or returned leaving an event unsettled: again in a second, counted as a failure.
  if (!threw) log?.warn({ consumer: durable, eventId: items[done]?.event.id }, 'batch handler left an event unsettled');
  return { done, retryMs: 1000, failed: true };
}

/** Resolves after `ms` or when `signal` aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
