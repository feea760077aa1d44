/**
 * Input validation shared by every subgraph's mutations. Each check throws `badUserInput` naming
 * the dotted input path (`input.email`), so a client can point at the offending field.
 */
import { badUserInput, forbidden } from './errors.js';
import type { Viewer } from './viewer.js';

const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const EXTERNAL_ID_RE = /^[A-Za-z0-9_-]{1,64}$/;
const CUSTOMER_ID_RE = /^cust_[A-Za-z0-9_]{1,60}$/;

/** A required text: trimmed, non-empty, at most `max` characters. */
export function requiredText(field: string, value: string | null | undefined, max = 500): string {
  if (value === null || value === undefined) throw badUserInput(field, 'is required');
  const trimmed = value.trim();
  if (trimmed === '') throw badUserInput(field, 'must not be empty');
  if (trimmed.length > max) throw badUserInput(field, `must be at most ${max} characters`);
  return trimmed;
}

/** An optional text: undefined stays unchanged (not in the update), null or blank clears it. */
export function optionalText(field: string, value: string | null | undefined, max = 500): string | null | undefined {
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

export function email(field: string, value: string): string {
  const normalized = requiredText(field, value, 254).toLowerCase();
  if (!EMAIL_RE.test(normalized)) throw badUserInput(field, 'must be an email address like name@example.com');
  return normalized;
}

/** A number in [min, max]; `integer` demands a whole number. */
export function inRange(field: string, value: number, min: number, max: number, integer = false): number {
  if (!Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
    throw badUserInput(field, `must be ${integer ? 'an integer' : 'a number'} between ${min} and ${max}`);
  }
  return value;
}

/** A ratio or probability in [0, 1]. */
export function unitInterval(field: string, value: number): number {
  return inRange(field, value, 0, 1);
}

export function nonNegativeInt(field: string, value: number): number {
  if (!Number.isInteger(value) || value < 0) throw badUserInput(field, 'must be an integer of at least 0');
  return value;
}

/** A Money scalar value (already a decimal string) that must be >= 0, or > 0 with `positive`. */
export function amount(field: string, value: string, { positive = false } = {}): string {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || (positive && n === 0))
    throw badUserInput(field, `must be ${positive ? 'greater than 0' : 'at least 0'}`);
  return value;
}

/** `later` must not be before `earlier`; names the later field. Skipped unless both are given. */
export function notBefore(
  field: string,
  later: Date | null | undefined,
  earlier: Date | null | undefined,
  earlierName: string,
): void {
  if (later && earlier && later.getTime() < earlier.getTime()) {
    throw badUserInput(field, `must not be before ${earlierName}`);
  }
}

/** Timestamps from the future would win every last-writer-wins conflict; refuse them (5 min clock skew allowed). */
export function notInFuture<T extends Date | null | undefined>(field: string, value: T): T {
  if (value instanceof Date && value.getTime() > Date.now() + 5 * 60_000)
    throw badUserInput(field, 'must not be in the future');
  return value;
}

/** The sync source's own change time; see notInFuture. */
export function sourceUpdatedAt(field: string, value: Date | null | undefined): Date | null | undefined {
  return notInFuture(field, value);
}

/**
 * Sync provenance of a create/upsert: `input.sourceSystem` and `input.sourceUpdatedAt`, checked,
 * absent ones stored as null.
 */
export function provenance(input: { sourceSystem?: string | null; sourceUpdatedAt?: Date | null }): {
  sourceSystem: string | null;
  sourceUpdatedAt: Date | null;
} {
  return {
    sourceSystem: optionalText('input.sourceSystem', input.sourceSystem, 100) ?? null,
    sourceUpdatedAt: sourceUpdatedAt('input.sourceUpdatedAt', input.sourceUpdatedAt) ?? null,
  };
}

/** Same for an update: omitted fields stay unchanged (undefined), null or blank clears them. */
export function provenanceChange(input: { sourceSystem?: string | null; sourceUpdatedAt?: Date | null }): {
  sourceSystem: string | null | undefined;
  sourceUpdatedAt: Date | null | undefined;
} {
  return {
    sourceSystem: optionalText('input.sourceSystem', input.sourceSystem, 100),
    sourceUpdatedAt: sourceUpdatedAt('input.sourceUpdatedAt', input.sourceUpdatedAt),
  };
}

/**
 * Makes a check optional: null and undefined pass through unchanged, any other value is checked.
 * `optional(unitInterval)('input.rate', input.rate)` accepts `number | null | undefined`.
 */
export function optional<T, R, A extends unknown[]>(check: (field: string, value: T, ...rest: A) => R) {
  return <V extends T | null | undefined>(field: string, value: V, ...rest: A): R | Extract<V, null | undefined> =>
    value === null || value === undefined ? (value as Extract<V, null | undefined>) : check(field, value as T, ...rest);
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

/** An id chosen by a source system, e.g. `camp_retention_q4`, `exp_67890`, `u3`. */
export function externalId(field: string, value: string): string {
  if (!EXTERNAL_ID_RE.test(value)) throw badUserInput(field, 'must be 1–64 letters, digits, `_` or `-`');
  return value;
}

/** A customer id as every store keys it: `cust_` and 1–60 letters, digits or underscores. */
export function customerId(field: string, value: string): string {
  if (!CUSTOMER_ID_RE.test(value)) {
    throw badUserInput(field, 'must be a customer id like cust_00001 (cust_ and 1–60 letters, digits or underscores)');
  }
  return value;
}

/** The viewer's tenant id as a value (compound unique keys); the system viewer has none. */
export function requireTenant(viewer: Viewer): string {
  if (viewer.tenantId === null) throw forbidden('This operation needs a tenant');
  return viewer.tenantId;
}

/** A `Date` scalar (`YYYY-MM-DD`) as the UTC midnight Prisma stores in a `@db.Date` column. */
export function toDay(value: string): Date {
  return new Date(`${value}T00:00:00.000Z`);
}

/** `YYYY-MM-DD` of a `@db.Date` value, e.g. as a grouping key. */
export function dayKey(value: Date): string {
  return value.toISOString().slice(0, 10);
}

/** The UTC day of an instant, as stored in `@db.Date` columns (midnight UTC). */
export function dayOf(value: Date): Date {
  return toDay(dayKey(value));
}

/** Today's date in UTC, as stored in `@db.Date` columns. */
export function today(now: Date = new Date()): Date {
  return dayOf(now);
}

// Sync payloads (issue 7): every field of a sync input is optional in GraphQL, so that a missing one
// rejects only its event; these checks name the payload path that is missing or malformed.

/** A value a payload must carry: null or undefined is refused. */
export function required<T>(field: string, value: T | null | undefined): T {
  if (value === null || value === undefined) throw badUserInput(field, 'is required');
  return value;
}

const DURATION_RE = /^(\d{1,6})_(day|days|week|weeks|month|months|year|years)$/;
const DAYS_PER: Record<string, number> = { day: 1, week: 7, month: 30, year: 365 };
const MONTHS_PER: Record<string, number> = { month: 1, year: 12 };

/**
 * A duration as the brief writes it (`"45_days"`, `"3_months"`) in whole `unit`s. Days accept days, weeks,
 * months (30 days) and years (365); months accept months and years only (a day count is not a month count).
 */
export function duration(field: string, value: string, unit: 'days' | 'months'): number {
  const match = DURATION_RE.exec(value.trim().toLowerCase());
  const per = unit === 'days' ? DAYS_PER : MONTHS_PER;
  const factor = match?.[2] === undefined ? undefined : per[match[2].replace(/s$/, '')];
  if (match?.[1] === undefined || factor === undefined) {
    const units = unit === 'days' ? 'days, weeks, months or years' : 'months or years';
    throw badUserInput(field, `must be a duration like "45_days" (whole ${units})`);
  }
  return Number(match[1]) * factor;
}

/** A calendar date (`YYYY-MM-DD`, or a Date) as the UTC midnight a `@db.Date` column stores. */
export function calendarDay(field: string, value: Date | string | null | undefined): Date {
  if (required(field, value) instanceof Date) return dayOf(value as Date);
  const text = String(value);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text) || Number.isNaN(Date.parse(text))) {
    throw badUserInput(field, 'must be a YYYY-MM-DD date');
  }
  return toDay(text);
}

/**
 * A member of an enum as sync payloads write it: the brief's lower snake case (`cross_sell`) or the
 * GraphQL enum value (`CROSS_SELL`).
 */
export function enumMember<T extends string>(
  field: string,
  value: string | null | undefined,
  members: readonly T[],
): T {
  const upper = required(field, value).trim().toUpperCase();
  const member = members.find((candidate) => candidate === upper);
  if (!member) throw badUserInput(field, `must be one of ${members.map((m) => m.toLowerCase()).join(', ')}`);
  return member;
}
