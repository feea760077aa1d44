/**
 * Customer-specific input checks, on top of the shared ones in @hub/core/validate (re-exported
 * so resolvers import one module). Each throws `badUserInput` naming the dotted input path.
 */
import { badUserInput } from '@hub/core/errors';
import { optionalText } from '@hub/core/validate';

export {
  customerId,
  email,
  notNull,
  optionalText,
  provenance,
  provenanceChange,
  requiredText,
  requireTenant,
} from '@hub/core/validate';

const PHONE_RE = /^\+?[0-9 ().-]{5,30}$/;
const DOMAIN_RE = /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
const COUNTRY_RE = /^[A-Z]{2}$/;
const MAX_EMPLOYEES = 10_000_000;

export function phone(field: string, value: string | null | undefined): string | null | undefined {
  const text = optionalText(field, value, 30);
  if (text && !PHONE_RE.test(text)) throw badUserInput(field, 'must be 5–30 digits, spaces or +-().');
  return text;
}

export function domain(field: string, value: string | null | undefined): string | null | undefined {
  const text = optionalText(field, value, 253)?.toLowerCase();
  if (text && !DOMAIN_RE.test(text)) throw badUserInput(field, 'must be a domain name like example.com');
  return text;
}

export function country(field: string, value: string | null | undefined): string | null | undefined {
  const text = optionalText(field, value, 2)?.toUpperCase();
  if (text && !COUNTRY_RE.test(text)) throw badUserInput(field, 'must be an ISO 3166-1 alpha-2 code like US');
  return text;
}

export function employeeCount(field: string, value: number | null | undefined): number | null | undefined {
  if (value === null || value === undefined) return value;
  if (!Number.isInteger(value) || value < 0 || value > MAX_EMPLOYEES) {
    throw badUserInput(field, `must be an integer between 0 and ${MAX_EMPLOYEES}`);
  }
  return value;
}
