/**
 * Health-specific input checks, on top of the shared ones in @hub/core/validate (re-exported so
 * resolvers import one module). Every check throws `badUserInput` naming the dotted input path.
 */
import { badUserInput } from '@hub/core/errors';
import { inRange, unitInterval } from '@hub/core/validate';

export { optionalText, requireTenant } from '@hub/core/validate';

const CUSTOMER_ID_RE = /^cust_[A-Za-z0-9_]{1,60}$/;
const MAX_TAGS = 20;
const MAX_TAG_LENGTH = 100;

export function intInRange(field: string, value: number, min: number, max: number): number {
  return inRange(field, value, min, max, true);
}

export function optionalIntInRange(
  field: string,
  value: number | null | undefined,
  min: number,
  max: number,
): number | undefined {
  return value === null || value === undefined ? undefined : inRange(field, value, min, max, true);
}

/** A ratio such as a confidence or a quality score, in [0, 1]; absent stays absent. */
export function fraction(field: string, value: number | null | undefined): number | undefined {
  return value === null || value === undefined ? undefined : unitInterval(field, value);
}

/** A list of short labels such as `declining_usage`: trimmed, de-duplicated, bounded. */
export function tags(field: string, values: readonly string[] | null | undefined): string[] | undefined {
  if (values === null || values === undefined) return undefined;
  if (values.length > MAX_TAGS) throw badUserInput(field, `must have at most ${MAX_TAGS} entries`);
  const cleaned = values.map((value, i) => {
    const tag = value.trim();
    if (tag === '' || tag.length > MAX_TAG_LENGTH) {
      throw badUserInput(`${field}.${i}`, `must be 1–${MAX_TAG_LENGTH} characters`);
    }
    return tag;
  });
  return [...new Set(cleaned)];
}

export function customerId(field: string, value: string): string {
  if (!CUSTOMER_ID_RE.test(value)) throw badUserInput(field, 'must be a customer id like cust_00001');
  return value;
}

/** Timestamps from the future would win every last-writer-wins comparison; refuse them. */
export function notInFuture(field: string, value: Date | null | undefined): Date | undefined {
  if (value === null || value === undefined) return undefined;
  if (value.getTime() > Date.now() + 5 * 60_000) throw badUserInput(field, 'must not be in the future');
  return value;
}
