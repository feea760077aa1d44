/**
 * Input checks for the sales mutations and filters. Each throws `badUserInput` naming the dotted
 * input path, so a client can point at the offending field. (Generic ones are candidates for
 * @hub/core, see /tmp/team/requests-dom-b.md; kept here until one shared home exists.)
 */
import { badUserInput, forbidden } from '@hub/core/errors';
import type { Viewer } from '@hub/core/viewer';

const ID_RE = /^[A-Za-z0-9_-]{1,64}$/;
const TIMELINE_RE = /^q([1-4])_(\d{4})$/;
const TAG_RE = /^[a-z0-9]+(?:_[a-z0-9]+)*$/;
const MAX_TAGS = 50;

/** The viewer's tenant as a value (compound keys, explicit writes); the scoped client refuses a tenant-less viewer too. */
export function requireTenant(viewer: Viewer): string {
  if (viewer.tenantId === null) throw forbidden('This operation needs a tenant');
  return viewer.tenantId;
}

export function optionalText(field: string, value: string | null | undefined, max: number): string | null | undefined {
  if (value === undefined) return undefined;
  if (value === null || value.trim() === '') return null;
  const trimmed = value.trim();
  if (trimmed.length > max) throw badUserInput(field, `must be at most ${max} characters`);
  return trimmed;
}

/** For update inputs: a non-nullable column cannot be set to null. */
export function notNull<T>(field: string, value: T | null | undefined): T | undefined {
  if (value === null) throw badUserInput(field, 'cannot be null');
  return value;
}

/** For update inputs: omitted stays unchanged, null is refused (non-nullable column), a value is checked by `parse`. */
export function change<T, R>(
  field: string,
  value: T | null | undefined,
  parse: (field: string, value: T) => R,
): R | undefined {
  if (value === undefined) return undefined;
  if (value === null) throw badUserInput(field, 'cannot be null');
  return parse(field, value);
}

/** An id chosen by a source system, e.g. `exp_67890`, `cust_00001`, `u3`. */
export function externalId(field: string, value: string): string {
  if (!ID_RE.test(value)) throw badUserInput(field, 'must be 1–64 letters, digits, `_` or `-`');
  return value;
}

/** A number within [min, max]; null and undefined pass through (optional inputs). */
export function inRange<T extends number | null | undefined>(field: string, value: T, min: number, max: number): T {
  if (value === null || value === undefined) return value;
  if (!Number.isFinite(value) || value < min || value > max)
    throw badUserInput(field, `must be between ${min} and ${max}`);
  return value;
}

/** A probability: within [0, 1]. */
export function probability<T extends number | null | undefined>(field: string, value: T): T {
  return inRange(field, value, 0, 1);
}

/** An integer score within [min, max]. */
export function score<T extends number | null | undefined>(field: string, value: T, min: number, max: number): T {
  if (value !== null && value !== undefined && !Number.isInteger(value))
    throw badUserInput(field, 'must be a whole number');
  return inRange(field, value, min, max);
}

/** A Money amount (already syntax-checked by the scalar) that must not be negative. */
export function nonNegativeMoney<T extends string | null | undefined>(field: string, value: T): T {
  if (value !== null && value !== undefined && Number(value) < 0) throw badUserInput(field, 'must be >= 0');
  return value;
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

/** A `YYYY-MM-DD` date (already syntax-checked by the Date scalar) as a UTC-midnight Date for `@db.Date`. */
export function calendarDate(value: string): Date {
  return new Date(`${value}T00:00:00.000Z`);
}
