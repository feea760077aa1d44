/**
 * Marketing's input vocabulary on top of the shared checks in @hub/core/validate (re-exported so
 * resolvers import one module). Each throws `badUserInput` naming the dotted input path.
 */
import { badUserInput } from '@hub/core/errors';
import {
  inRange as range,
  nonNegativeInt as wholeNumber,
  optional,
  requiredText,
  unitInterval,
} from '@hub/core/validate';

export {
  externalId,
  notBefore,
  notNull,
  optionalText,
  requiredText,
  requireTenant,
  toDay as calendarDate,
  today,
} from '@hub/core/validate';

const SEGMENT_RE = /^[a-z0-9]+(?:_[a-z0-9]+)*$/;

/** A segment name in lower snake case, e.g. `at_risk_customers`. */
export function segment(field: string, value: string | null | undefined): string {
  const text = requiredText(field, value, 100);
  if (!SEGMENT_RE.test(text)) throw badUserInput(field, 'must be lower snake case, e.g. at_risk_customers');
  return text;
}

/** Metric inputs are optional: null and undefined pass through. */
export const inRange = optional(range);
/** A rate or share: within [0, 1]. */
export const rate = optional(unitInterval);
export const nonNegativeInt = optional(wholeNumber);
