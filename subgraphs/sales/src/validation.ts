/**
 * Sales-specific input checks on top of the shared ones in @hub/core/validate (re-exported so
 * resolvers import one module). Each throws `badUserInput` naming the dotted input path.
 */
import { badUserInput } from '@hub/core/errors';
import { amount, inRange, optional, unitInterval } from '@hub/core/validate';

export { change, externalId, notNull, optionalText, requireTenant, toDay as calendarDate } from '@hub/core/validate';

const TIMELINE_RE = /^q([1-4])_(\d{4})$/;
const TAG_RE = /^[a-z0-9]+(?:_[a-z0-9]+)*$/;
const MAX_TAGS = 50;

/** A probability: within [0, 1]; null and undefined pass through (optional inputs). */
export const probability = optional(unitInterval);

/** A Money amount (already syntax-checked by the scalar) that must not be negative; optional. */
export const nonNegativeMoney = optional(amount);

/** An integer score within [min, max]; null and undefined pass through. */
export function score<T extends number | null | undefined>(field: string, value: T, min: number, max: number) {
  return optional(inRange)(field, value, min, max, true);
}

/** An expected close quarter, `qN_YYYY`. */
export function timeline(field: string, value: string): string {
  const match = TIMELINE_RE.exec(value);
  const year = Number(match?.[2]);
  if (!match || year < 2000 || year > 2100)
    throw badUserInput(field, 'must look like q1_2026 (quarter 1–4, year 2000–2100)');
  return value;
}

/** A list of lower-snake-case tags (success factors, risk factors, …); undefined stays unchanged, null clears. */
export function tags(field: string, values: readonly string[] | null | undefined): string[] | undefined {
  if (values === undefined) return undefined;
  if (values === null) return [];
  if (values.length > MAX_TAGS) throw badUserInput(field, `must have at most ${MAX_TAGS} entries`);
  return values.map((value, i) => {
    const tag = value.trim();
    if (!TAG_RE.test(tag) || tag.length > 100)
      throw badUserInput(`${field}[${i}]`, 'must be lower snake case, e.g. budget_cycle_timing');
    return tag;
  });
}
