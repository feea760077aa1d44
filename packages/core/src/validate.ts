/**
 * Input validation shared by every subgraph's mutations. Each check throws `badUserInput` naming
 * the dotted input path (`input.email`), so a client can point at the offending field.
 */
import { badUserInput, forbidden } from './errors.js';
import type { Viewer } from './viewer.js';

const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

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
  if (!Number.isFinite(n) || n < 0 || (positive && n === 0)) throw badUserInput(field, `must be ${positive ? 'greater than 0' : 'at least 0'}`);
  return value;
}

/** `later` must not be before `earlier`; names the later field. */
export function notBefore(field: string, later: Date, earlier: Date, earlierName: string): void {
  if (later.getTime() < earlier.getTime()) throw badUserInput(field, `must not be before ${earlierName}`);
}

/** Source timestamps from the future would win every last-writer-wins conflict; refuse them. */
export function sourceUpdatedAt(field: string, value: Date | null | undefined): Date | null | undefined {
  if (value instanceof Date && value.getTime() > Date.now() + 5 * 60_000) throw badUserInput(field, 'must not be in the future');
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
