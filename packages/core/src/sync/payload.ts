/**
 * Helpers for domain sync declarations. A payload reaches `map`/`sourceTime` from GraphQL (a
 * `DateTime` input is a Date) or from a stored dead letter being replayed (JSON: an ISO string),
 * so time fields accept both.
 */
import { badUserInput } from '../errors.js';
import { notInFuture } from '../validate.js';

/** A timestamp given as a Date or an ISO-8601 string; missing or invalid is BAD_USER_INPUT naming `field`. */
export function instant(field: string, value: Date | string | null | undefined): Date {
  const date = value instanceof Date ? value : typeof value === 'string' ? new Date(value) : undefined;
  if (date === undefined || Number.isNaN(date.getTime())) throw badUserInput(field, 'must be an ISO-8601 timestamp');
  return notInFuture(field, date);
}

/**
 * A mutation kind's source time: its input's `sourceUpdatedAt` when given (checked as an
 * `instant`: valid, not in the future), else `arrival`.
 */
export function mutationSourceTime(
  input: { sourceUpdatedAt?: Date | string | null },
  arrival: Date = new Date(),
): Date {
  return input.sourceUpdatedAt ? instant('input.sourceUpdatedAt', input.sourceUpdatedAt) : arrival;
}
