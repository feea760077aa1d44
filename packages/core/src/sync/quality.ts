/**
 * The data-quality score of one event (docs/design/sync-pipeline.md, "Quality score"). Each
 * dimension is 0..1; the engine stores one row per accepted or rejected event in hub_sync_quality.
 */
import type { QualityCheck, QualityScore } from './types.js';

const HOUR_MS = 3_600_000;
const WEEK_MS = 7 * 24 * HOUR_MS;

/** Rounded to 4 decimals: scores are compared and averaged, not read to the last bit. */
function round(value: number): number {
  return Math.round(value * 10_000) / 10_000;
}

/** The value at a dotted path (`featureUsage.coreFeatures`), or undefined. */
export function valueAt(payload: unknown, path: string): unknown {
  let current: unknown = payload;
  for (const part of path.split('.')) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}

/** Present: neither missing, null nor a blank string (an empty list is a value: "no risk indicators"). */
function present(value: unknown): boolean {
  return value !== undefined && value !== null && !(typeof value === 'string' && value.trim() === '');
}

function share(paths: readonly string[], payload: unknown): number {
  if (paths.length === 0) return 1;
  return paths.filter((path) => present(valueAt(payload, path))).length / paths.length;
}

/** 0.6 x share of required paths present + 0.4 x share of optional paths present (an empty list counts 1). */
export function completeness(payload: unknown, required: readonly string[], optional: readonly string[]): number {
  return round(0.6 * share(required, payload) + 0.4 * share(optional, payload));
}

/** Share of checks passed; 1 when there are none. */
export function passed(checks: readonly QualityCheck[]): number {
  if (checks.length === 0) return 1;
  return round(checks.filter((check) => check.ok).length / checks.length);
}

/** 1 when the source time is at most 1 h before arrival, falling linearly to 0 at 7 days. */
export function timeliness(sourceTime: Date, arrival: Date): number {
  const age = arrival.getTime() - sourceTime.getTime();
  if (age <= HOUR_MS) return 1;
  if (age >= WEEK_MS) return 0;
  return round(1 - (age - HOUR_MS) / (WEEK_MS - HOUR_MS));
}

export function qualityScore(dimensions: Omit<QualityScore, 'score'>): QualityScore {
  const { validity, completeness: c, consistency, timeliness: t } = dimensions;
  return { ...dimensions, score: round(0.35 * validity + 0.25 * c + 0.25 * consistency + 0.15 * t) };
}
