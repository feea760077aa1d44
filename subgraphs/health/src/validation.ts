/**
 * Health-specific input checks, on top of the shared ones in @hub/core/validate (re-exported so
 * resolvers import one module). Every check throws `badUserInput` naming the dotted input path.
 */
import { badUserInput } from '@hub/core/errors';
import { inRange, optional, unitInterval } from '@hub/core/validate';

export { customerId, notInFuture, optionalText, provenance, requireTenant } from '@hub/core/validate';

const MAX_TAGS = 20;
const MAX_TAG_LENGTH = 100;

export function intInRange(field: string, value: number, min: number, max: number): number {
  return inRange(field, value, min, max, true);
}

/** An optional integer bound; absent (null or undefined) comes back as undefined. */
export function optionalIntInRange(
  field: string,
  value: number | null | undefined,
  min: number,
  max: number,
): number | undefined {
  return optional(inRange)(field, value, min, max, true) ?? undefined;
}

/** A ratio such as a confidence or a quality score, in [0, 1]; null and undefined pass through. */
export const fraction = optional(unitInterval);

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
