/**
 * Anomaly detection (packages/core/src/anomaly.ts) on synthetic hourly series with a daily rhythm
 * and Poisson-like noise, from a seeded generator: known anomalies (a spike, a source going silent,
 * a level shift, a quality drop) are found at their hours, and ordinary noise over many seeds
 * raises nothing.
 */
import { describe, expect, it } from 'vitest';
import { detectAnomalies, fillHours, type Point } from '../src/anomaly.js';

const HOUR = 3_600_000;
const START = Date.UTC(2026, 10, 1);
const DAYS = 21;
/** The judged week: the last seven days, each with 14 days of history before it. */
const JUDGED_FROM = new Date(START + 14 * 24 * HOUR);

/** mulberry32: a small seeded generator, so every case is the same on every run. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
/** Approximately standard normal noise: the sum of 12 uniforms less 6 (Irwin–Hall). */
function normal(next: () => number): number {
  let sum = 0;
  for (let i = 0; i < 12; i++) sum += next();
  return sum - 6;
}

/** Events per hour: office-hours rhythm (peak ~180 at 14:00 UTC, trough ~20 at night) plus noise. */
function counts(seed: number, change: (hour: number, value: number) => number = (_h, v) => v): Point[] {
  const next = random(seed);
  return Array.from({ length: DAYS * 24 }, (_, i) => {
    const hourOfDay = i % 24;
    const mean = 100 + 80 * Math.sin((2 * Math.PI * (hourOfDay - 8)) / 24);
    const value = Math.max(0, Math.round(mean + Math.sqrt(mean) * normal(next)));
    return { at: new Date(START + i * HOUR), value: change(i, value) };
  });
}

const hourIndex = (day: number, hour: number) => day * 24 + hour;
const at = (day: number, hour: number) => new Date(START + hourIndex(day, hour) * HOUR).toISOString();

describe('anomalies in event rates', () => {
  it('raises nothing on ordinary noise with a daily rhythm, over 30 seeds (5,040 judged hours)', () => {
    const raised = Array.from({ length: 30 }, (_, seed) => detectAnomalies(counts(seed + 1), {}, JUDGED_FROM)).flat();
    expect(raised).toEqual([]);
  });

  it('finds a spike at its hour, above the band', () => {
    const spike = hourIndex(17, 14);
    const found = detectAnomalies(
      counts(7, (h, v) => (h === spike ? v * 3 : v)),
      {},
      JUDGED_FROM,
    );
    expect(found.map((a) => [a.at.toISOString(), a.direction])).toEqual([[at(17, 14), 'above']]);
    expect(found[0]?.value).toBeGreaterThan((found[0]?.baseline ?? 0) + (found[0]?.band ?? 0));
  });

  it('finds a source going silent during office hours, hour by hour', () => {
    const silent = new Set([hourIndex(18, 10), hourIndex(18, 11), hourIndex(18, 12)]);
    const found = detectAnomalies(
      counts(11, (h, v) => (silent.has(h) ? 0 : v)),
      {},
      JUDGED_FROM,
    );
    expect(found.map((a) => [a.at.toISOString(), a.direction])).toEqual([
      [at(18, 10), 'below'],
      [at(18, 11), 'below'],
      [at(18, 12), 'below'],
    ]);
  });

  it('finds most hours of a day whose rate doubled, and none of the days around it', () => {
    const found = detectAnomalies(
      counts(5, (h, v) => (Math.floor(h / 24) === 19 ? v * 2 : v)),
      {},
      JUDGED_FROM,
    );
    const days = new Set(found.map((a) => Math.floor((a.at.getTime() - START) / (24 * HOUR))));
    expect([...days]).toEqual([19]);
    expect(found.length).toBeGreaterThanOrEqual(16);
  });

  it('does not flag small absolute moves of a quiet night hour', () => {
    const night = hourIndex(16, 2);
    expect(
      detectAnomalies(
        counts(3, (h, v) => (h === night ? v + 8 : v)),
        {},
        JUDGED_FROM,
      ),
    ).toEqual([]);
  });

  it('judges nothing without enough history (a new source)', () => {
    expect(detectAnomalies(counts(9).slice(0, 5 * 24), {}, new Date(START))).toEqual([]);
  });

  it('sees hours without events once the series is filled', () => {
    const sparse = counts(13).filter((p) => p.at.getTime() !== START + hourIndex(20, 13) * HOUR);
    const filled = fillHours(sparse, new Date(START), new Date(START + DAYS * 24 * HOUR));
    expect(filled).toHaveLength(DAYS * 24);
    expect(detectAnomalies(filled, {}, JUDGED_FROM).map((a) => a.at.toISOString())).toEqual([at(20, 13)]);
  });
});

describe('anomalies in quality scores', () => {
  const scores = (seed: number, change: (hour: number, value: number) => number = (_h, v) => v): Point[] => {
    const next = random(seed);
    return Array.from({ length: DAYS * 24 }, (_, i) => ({
      at: new Date(START + i * HOUR),
      value: change(i, Math.min(1, 0.995 + 0.002 * normal(next))),
    }));
  };
  const options = { kind: 'score', direction: 'below' } as const;

  it('raises nothing on ordinary noise over 30 seeds', () => {
    expect(Array.from({ length: 30 }, (_, s) => detectAnomalies(scores(s + 100), options, JUDGED_FROM)).flat()).toEqual(
      [],
    );
  });

  it('finds a drop and ignores a rise', () => {
    const drop = new Set([hourIndex(15, 9), hourIndex(15, 10)]);
    const rise = hourIndex(17, 9);
    const found = detectAnomalies(
      scores(42, (h, v) => (drop.has(h) ? 0.9 : h === rise ? 1 : v)),
      options,
      JUDGED_FROM,
    );
    expect(found.map((a) => [a.at.toISOString(), a.direction])).toEqual([
      [at(15, 9), 'below'],
      [at(15, 10), 'below'],
    ]);
  });
});
