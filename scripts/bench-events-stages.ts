/**
 * Where the time of `bench:events` goes: a probe told of the relay's publishes, wrapped around the
 * consumer's bus and the consumer's store, that timestamps each event at every stage of its way —
 * producing commit -> relay publish -> delivery to the consumer runtime -> start of the consumer
 * transaction that applies it -> that transaction's commit — and each consumer transaction's
 * statements (count, time awaiting the store, time between them in Node). Nothing of the runtime is
 * changed: the wrappers only look (a batch's events are found from its transaction by async
 * context, so two batches in flight are told apart).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { performance } from 'node:perf_hooks';
import type { SqlTx, StoreSql } from '@hub/store';
import type { EventBus, EventEnvelope } from '@hub/core/events/types';
import { percentile } from './bench-stream.js';

type Numbered = { payload: Record<string, unknown> };

interface TxFigures {
  readonly events: number;
  readonly statements: number;
  /** From BEGIN to the end of COMMIT. */
  readonly wallMs: number;
  /** Of which awaiting the store's answers (BEGIN and COMMIT included). */
  readonly sqlMs: number;
}

const STAGES = ['committed', 'published', 'delivered', 'started', 'applied'] as const;
type Stage = (typeof STAGES)[number];

export interface StageProbe {
  /** The events numbered `from`..`to - 1` committed by the producer at `at`. */
  committed(from: number, to: number, at: number): void;
  /** The relay's publish of these events resolved at `at` (the bus holds them). */
  published(numbers: readonly number[], at: number): void;
  /** The consumer's bus, timestamping each batch the runtime is handed. */
  consumerBus<B extends EventBus>(bus: B): B;
  /** The consumer's store, timing its transactions and their statements. */
  consumerStore(store: StoreSql): StoreSql;
  /** The consumer's commit of `events` at `at` (the runtime's afterCommit). */
  applied(events: readonly EventEnvelope[], at: number): void;
  /** Per stage interval p50/p99 and the transactions' figures, as printable lines. */
  report(label: string): string[];
}

export function stageProbe(eventNumber: (event: Numbered) => number): StageProbe {
  const times: Record<Stage, Map<number, number>> = {
    committed: new Map(),
    published: new Map(),
    delivered: new Map(),
    started: new Map(),
    applied: new Map(),
  };
  const batchOf = new AsyncLocalStorage<readonly number[]>();
  const txs: TxFigures[] = [];
  /** Time awaiting each statement of the consumer's transactions, by its first words. */
  const statements = new Map<string, { count: number; ms: number }>();
  const mark = (stage: Stage, numbers: readonly number[], at: number) => {
    const map = times[stage];
    // The first time counts: a retried batch (split, redelivered) is the same event waiting longer.
    for (const n of numbers) if (!map.has(n)) map.set(n, at);
  };

  function timedTx(tx: SqlTx, figures: { statements: number; sqlMs: number }): SqlTx {
    const timed = async <T>(sql: string, run: () => Promise<T>): Promise<T> => {
      const started = performance.now();
      try {
        return await run();
      } finally {
        const ms = performance.now() - started;
        figures.statements += 1;
        figures.sqlMs += ms;
        const shape = sql.replace(/\s+/g, ' ').trim().slice(0, 90);
        const entry = statements.get(shape) ?? { count: 0, ms: 0 };
        entry.count += 1;
        entry.ms += ms;
        statements.set(shape, entry);
      }
    };
    return {
      query: (sql, params) => timed(sql, () => tx.query(sql, params)),
      execute: (sql, params) => timed(sql, () => tx.execute(sql, params)),
    };
  }

  return {
    committed(from, to, at) {
      for (let n = from; n < to; n++) times.committed.set(n, at);
    },
    published(numbers, at) {
      mark('published', numbers, at);
    },
    consumerBus(bus) {
      return {
        ...bus,
        subscribe(options) {
          const { handleBatch } = options;
          if (!handleBatch) return bus.subscribe(options);
          return bus.subscribe({
            ...options,
            handleBatch(deliveries) {
              const numbers = deliveries.map((d) => eventNumber(d.event));
              mark('delivered', numbers, performance.now());
              return batchOf.run(numbers, () => handleBatch(deliveries));
            },
          });
        },
      };
    },
    consumerStore(store) {
      return {
        ...store,
        transaction(fn) {
          const numbers = batchOf.getStore() ?? [];
          const started = performance.now();
          mark('started', numbers, started);
          // BEGIN and COMMIT are the driver's: its round trips count as the store's time.
          const figures = { statements: 2, sqlMs: 0 };
          let bodyMs = 0;
          return store
            .transaction(async (tx) => {
              const bodyStarted = performance.now();
              try {
                return await fn(timedTx(tx, figures));
              } finally {
                bodyMs = performance.now() - bodyStarted;
              }
            })
            .finally(() => {
              const wallMs = performance.now() - started;
              // Outside the body: BEGIN, COMMIT and the pool's hand-over, all waiting on the store.
              figures.sqlMs += wallMs - bodyMs;
              txs.push({ events: numbers.length, ...figures, wallMs });
            });
        },
      };
    },
    applied(events, at) {
      mark('applied', events.map(eventNumber), at);
    },
    report(label) {
      const lines = [`${label}: where the time goes (ms, p50 / p99 over the events applied)`];
      const applied = [...times.applied.keys()];
      const interval = (from: Stage, to: Stage) => {
        const xs = applied
          .map((n) => (times[to].get(n) ?? NaN) - (times[from].get(n) ?? NaN))
          .filter((x) => Number.isFinite(x))
          .sort((a, b) => a - b);
        return `${percentile(xs, 50).toFixed(1)} / ${percentile(xs, 99).toFixed(1)}`;
      };
      const names: Record<Stage, string> = {
        committed: 'commit',
        published: 'relay published',
        delivered: 'delivered to the runtime',
        started: 'consumer tx start',
        applied: 'consumer commit',
      };
      for (const [i, stage] of STAGES.entries()) {
        const prev = STAGES[i - 1];
        if (prev) lines.push(`  ${`${names[prev]} -> ${names[stage]}`.padEnd(52)} ${interval(prev, stage)}`);
      }
      lines.push(`  ${'commit -> consumer commit (total)'.padEnd(52)} ${interval('committed', 'applied')}`);
      const live = txs.filter((t) => t.events > 0);
      if (live.length > 0) {
        const sum = (f: (t: TxFigures) => number) => live.reduce((a, t) => a + f(t), 0);
        const wall = live.map((t) => t.wallMs).sort((a, b) => a - b);
        lines.push(
          `  consumer transactions: ${live.length}, ${(sum((t) => t.events) / live.length).toFixed(1)} events and ` +
            `${(sum((t) => t.statements) / live.length).toFixed(1)} statements each; wall p50 ${percentile(wall, 50).toFixed(1)} ` +
            `p99 ${percentile(wall, 99).toFixed(1)} ms; ${((100 * sum((t) => t.sqlMs)) / sum((t) => t.wallMs)).toFixed(0)} % ` +
            `awaiting the store, the rest Node between statements`,
        );
      }
      if (process.env['BENCH_STATEMENTS'] === '1') {
        const batches = Math.max(1, live.length);
        lines.push('  statements of the consumer transactions (ms per transaction, by first words):');
        for (const [shape, { count, ms }] of [...statements].sort((a, b) => b[1].ms - a[1].ms))
          lines.push(`    ${(ms / batches).toFixed(2).padStart(7)}  x${(count / batches).toFixed(1)}  ${shape}`);
      }
      return lines;
    },
  };
}
