/**
 * Input checks for the marketing mutations. Each throws `badUserInput` naming the dotted input
 * path, so a client can point at the offending field. (Candidates for @hub/core, see
 * /tmp/team/requests-dom-b.md; kept here until one shared home exists.)
 */
import { badUserInput, forbidden } from '@hub/core/errors';
import type { Viewer } from '@hub/core/viewer';

const ID_RE = /^[A-Za-z0-9_-]{1,64}$/;
const SEGMENT_RE = /^[a-z0-9]+(?:_[a-z0-9]+)*$/;

/** The viewer's tenant as a value (compound keys, explicit writes); the scoped client refuses a tenant-less viewer too. */
export function requireTenant(viewer: Viewer): string {
  if (viewer.tenantId === null) throw forbidden('This operation needs a tenant');
  return viewer.tenantId;
}

export function requiredText(field: string, value: string | null | undefined, max: number): string {
  if (value === null || value === undefined) throw badUserInput(field, 'is required');
  const trimmed = value.trim();
  if (trimmed === '') throw badUserInput(field, 'must not be empty');
  if (trimmed.length > max) throw badUserInput(field, `must be at most ${max} characters`);
  return trimmed;
}

/** Optional text: undefined stays unchanged, null or blank clears it. */
export function optionalText(field: string, value: string | null | undefined, max: number): string | null | undefined {
  if (value === undefined) return undefined;
  if (value === null || value.trim() === '') return null;
  return requiredText(field, value, max);
}

/** For update inputs: a non-nullable column cannot be set to null. */
export function notNull<T>(field: string, value: T | null | undefined): T | undefined {
  if (value === null) throw badUserInput(field, 'cannot be null');
  return value;
}

/** An id chosen by the source system, e.g. `camp_retention_q4`. */
export function externalId(field: string, value: string): string {
  if (!ID_RE.test(value)) throw badUserInput(field, 'must be 1–64 letters, digits, `_` or `-`');
  return value;
}

/** A segment name in lower snake case, e.g. `at_risk_customers`. */
export function segment(field: string, value: string | null | undefined): string {
  const text = requiredText(field, value, 100);
  if (!SEGMENT_RE.test(text)) throw badUserInput(field, 'must be lower snake case, e.g. at_risk_customers');
  return text;
}

/** A number within [min, max]; null and undefined pass through (optional inputs). */
export function inRange<T extends number | null | undefined>(field: string, value: T, min: number, max: number): T {
  if (value === null || value === undefined) return value;
  if (!Number.isFinite(value) || value < min || value > max) {
    throw badUserInput(field, `must be between ${min} and ${max}`);
  }
  return value;
}

/** A rate or share: within [0, 1]. */
export function rate<T extends number | null | undefined>(field: string, value: T): T {
  return inRange(field, value, 0, 1);
}

export function nonNegativeInt<T extends number | null | undefined>(field: string, value: T): T {
  if (value === null || value === undefined) return value;
  if (!Number.isInteger(value) || value < 0) throw badUserInput(field, 'must be a whole number >= 0');
  return value;
}

/** A `YYYY-MM-DD` date (already syntax-checked by the Date scalar) as a UTC-midnight Date for `@db.Date`. */
export function calendarDate(value: string): Date {
  return new Date(`${value}T00:00:00.000Z`);
}

/** Today's date in UTC, as stored in `@db.Date` columns. */
export function today(now: Date = new Date()): Date {
  return calendarDate(now.toISOString().slice(0, 10));
}

/** `end` must not be before `start` when both are given. */
export function notBefore(
  field: string,
  end: Date | null | undefined,
  start: Date | null | undefined,
  startName: string,
): void {
  if (end && start && end.getTime() < start.getTime()) throw badUserInput(field, `must not be before ${startName}`);
}
