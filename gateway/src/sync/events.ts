/**
 * One NDJSON line -> one `<Domain>SyncEventInput`, checked against the gateway's API schema, so a
 * malformed line is refused on its own (with its line number) and never fails the batch it would
 * have joined.
 *
 * A line is a brief payload exactly as the brief writes it, `{"usage_analytics_sync": {...}}`, with
 * optional `"idempotency_key"` and `"source"` beside the payload key. The GraphQL input is derived
 * from it by rules driven by the input types at each position, not by per-domain code:
 * - keys snake_case -> camelCase (`sync_timestamp` -> `syncTimestamp`); a key starting with a digit
 *   gets a leading underscore (`30_day_change` -> `_30DayChange`), as GraphQL names cannot start
 *   with one;
 * - where the input type is a list of input objects with a key field (`name`, `key` or `id`, else
 *   its only required String/ID field) and the JSON is an object, each entry becomes one list item
 *   carrying its key in that field: `{"email_campaigns": {...}}` -> `[{name: "email_campaigns", ...}]`
 *   (the brief writes such maps keyed by name; GraphQL has no map type);
 * - where the input type is an enum and the string is not one of its values but its upper case is,
 *   the upper case is taken (`"intermediate"` -> `INTERMEDIATE`).
 * Then graphql-js's `coerceInputValue` checks types, required fields and unknown fields, and core's
 * `checkValue` the custom scalars (Money, DateTime, Date) and NUL bytes, as the GraphQL route does.
 */
import {
  coerceInputValue,
  getNamedType,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  isScalarType,
  type GraphQLEnumType,
  type GraphQLInputObjectType,
  type GraphQLInputType,
  type GraphQLSchema,
} from 'graphql';
import { ErrorCode } from '@hub/core/errors';
import { DOMAINS, type Domain } from '@hub/core/domains';
import { checkValue } from '@hub/core/inputs';
import { camelKey, snakeKey } from '@hub/core/sync/keys';
import { pascal } from '@hub/core/sync/sdl';
import type { RawLine } from './lines.js';

/** What the import needs to know about one domain's sync API, read from the API schema. */
export interface SyncApi {
  readonly domain: Domain;
  /** `syncProduct` */
  readonly mutation: string;
  readonly eventType: GraphQLInputObjectType;
  /** camelCase event field -> the kind's name as the brief writes it (`usageAnalyticsSync` -> `usage_analytics_sync`). */
  readonly kinds: ReadonlyMap<string, string>;
  /** The document the import sends, one per batch, with `$events`. */
  readonly document: string;
}

export type ParsedLine =
  | { readonly ok: true; readonly line: number; readonly event: Record<string, unknown> }
  | {
      readonly ok: false;
      readonly line: number;
      readonly code: string;
      readonly reason: string;
      readonly field: string | null;
      readonly idempotencyKey: string | null;
    };

/** Event fields that are not payload kinds (the contract's envelope fields). */
const ENVELOPE_FIELDS = new Set(['idempotencyKey', 'source', 'line']);

// One home for the key mapping (core); re-exported for the gateway's callers.
export { camelKey, snakeKey };

const apis = new WeakMap<GraphQLSchema, Map<string, SyncApi | null>>();

/** The sync API of `domain` in `schema`, or undefined when the domain is unknown or has none. */
export function syncApiOf(schema: GraphQLSchema, domain: string): SyncApi | undefined {
  let byDomain = apis.get(schema);
  if (byDomain === undefined) {
    byDomain = new Map();
    apis.set(schema, byDomain);
  }
  const cached = byDomain.get(domain);
  if (cached !== undefined) return cached ?? undefined;
  const api = readSyncApi(schema, domain);
  byDomain.set(domain, api ?? null);
  return api;
}

function readSyncApi(schema: GraphQLSchema, domain: string): SyncApi | undefined {
  if (!(DOMAINS as readonly string[]).includes(domain)) return undefined;
  const mutation = `sync${pascal(domain)}`;
  const field = schema.getMutationType()?.getFields()[mutation];
  const events = field?.args.find((arg) => arg.name === 'events');
  const eventType = events ? getNamedType(events.type) : undefined;
  if (!eventType || !isInputObjectType(eventType)) return undefined;
  const kinds = new Map(
    Object.keys(eventType.getFields())
      .filter((name) => !ENVELOPE_FIELDS.has(name))
      .map((name) => [name, snakeKey(name)]),
  );
  const document = `mutation SyncImport($events: [${eventType.name}!]!) {
  ${mutation}(events: $events) { results { index idempotencyKey outcome firstOutcome code reason field deadLetterId } }
}`;
  return { domain: domain as Domain, mutation, eventType, kinds, document };
}

function unwrap(type: GraphQLInputType | undefined): GraphQLInputType | undefined {
  return type && isNonNullType(type) ? type.ofType : type;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The field a list item carries its map key in, or undefined when the item type has none. */
function keyFieldOf(type: GraphQLInputObjectType): string | undefined {
  const fields = type.getFields();
  const named = ['name', 'key', 'id'].find((name) => fields[name] !== undefined);
  if (named) return named;
  const required = Object.values(fields).filter((field) => {
    const inner = isNonNullType(field.type) ? field.type.ofType : undefined;
    return inner !== undefined && isScalarType(inner) && (inner.name === 'String' || inner.name === 'ID');
  });
  return required.length === 1 ? required[0]?.name : undefined;
}

function enumValue(type: GraphQLEnumType, value: string): string {
  if (type.getValue(value)) return value;
  const upper = value.toUpperCase();
  return type.getValue(upper) ? upper : value;
}

/** Lists built from JSON objects remember their keys, so an error path names `email_campaigns`, not `0`. */
type ListKeys = WeakMap<unknown[], string[]>;

/** The JSON value as the GraphQL input at `type` (see the rules at the top). */
function toInput(value: unknown, type: GraphQLInputType | undefined, keys: ListKeys): unknown {
  const inner = unwrap(type);
  if (inner && isListType(inner)) {
    const itemType = inner.ofType as GraphQLInputType;
    const item = unwrap(itemType);
    if (isPlainObject(value) && item && isInputObjectType(item)) {
      const keyField = keyFieldOf(item);
      if (keyField !== undefined) {
        const names = Object.keys(value);
        const list = names.map((name) => {
          const entry = value[name];
          return isPlainObject(entry) ? { [keyField]: name, ...(toInput(entry, itemType, keys) as object) } : entry;
        });
        keys.set(list, names);
        return list;
      }
    }
    return Array.isArray(value) ? value.map((entry) => toInput(entry, itemType, keys)) : toInput(value, itemType, keys);
  }
  if (isPlainObject(value)) {
    // A custom scalar (a JSON blob) keeps its keys as sent; input objects and unknown positions convert.
    if (inner && !isInputObjectType(inner)) return value;
    const fields = inner && isInputObjectType(inner) ? inner.getFields() : {};
    return Object.fromEntries(
      Object.entries(value).map(([key, entry]) => {
        const name = camelKey(key);
        return [name, toInput(entry, fields[name]?.type, keys)];
      }),
    );
  }
  if (typeof value === 'string' && inner && isEnumType(inner)) return enumValue(inner, value);
  return value;
}

/** A dotted path through `root` in the caller's terms: map keys instead of the indices they became. */
function dottedPath(root: unknown, path: readonly (string | number)[], keys: ListKeys): string {
  const segments: string[] = [];
  let current: unknown = root;
  for (const step of path) {
    const names = Array.isArray(current) ? keys.get(current) : undefined;
    segments.push(names && typeof step === 'number' ? (names[step] ?? String(step)) : String(step));
    current = isPlainObject(current) || Array.isArray(current) ? (current as Record<string, unknown>)[step] : undefined;
  }
  return segments.join('.');
}

/** graphql-js messages without "Did you mean" (schema names are for those who may introspect). */
function plainMessage(message: string): string {
  return message.replace(/\s*Did you mean .*$/s, '');
}

function rejected(
  line: number,
  reason: string,
  field: string | null,
  idempotencyKey: string | null = null,
): Extract<ParsedLine, { ok: false }> {
  return { ok: false, line, code: ErrorCode.BadUserInput, reason, field, idempotencyKey };
}

export interface LineDefaults {
  /** `?source=` of the request: the source of events that name none. */
  readonly source?: string | undefined;
  readonly maxLineBytes: number;
}

/** Parses, converts and checks one line. Never throws: a bad line is a rejection naming what is wrong. */
export function parseLine(api: SyncApi, raw: RawLine, defaults: LineDefaults): ParsedLine {
  const line = raw.number;
  if ('tooLong' in raw) return rejected(line, `the line is longer than ${defaults.maxLineBytes} bytes`, null);
  if ('invalidUtf8' in raw) return rejected(line, 'the line is not valid UTF-8', null);
  let json: unknown;
  try {
    json = JSON.parse(raw.text);
  } catch (error) {
    return rejected(line, `not valid JSON (${error instanceof Error ? error.message : String(error)})`, null);
  }
  if (!isPlainObject(json)) return rejected(line, 'a line must be a JSON object such as {"<kind>": {...}}', null);
  const givenKey = typeof json['idempotency_key'] === 'string' ? json['idempotency_key'] : null;

  const keys: ListKeys = new WeakMap();
  const event = toInput(json, api.eventType, keys) as Record<string, unknown>;
  const accepted = [...api.kinds.values()].join(', ');
  const present = Object.keys(event).filter((name) => !ENVELOPE_FIELDS.has(name));
  const unknown = present.find((name) => !api.kinds.has(name));
  if (unknown !== undefined) {
    const sent = Object.keys(json).find((key) => camelKey(key) === unknown) ?? unknown;
    return rejected(line, `unknown payload kind "${sent}"; ${api.domain} accepts ${accepted}`, sent, givenKey);
  }
  if (present.length !== 1) {
    const reason =
      present.length === 0 ? `no payload; ${api.domain} accepts ${accepted}` : 'one payload per line, not several';
    return rejected(line, reason, null, givenKey);
  }
  const kind = present[0] as string;
  if (event['source'] === undefined && defaults.source !== undefined) event['source'] = defaults.source;
  // The line number is the hub's to set, where the event input has room for it (dead letters keep it).
  if (api.eventType.getFields()['line']) event['line'] = line;

  let problem: { field: string; reason: string } | undefined;
  coerceInputValue(event, api.eventType, (path, _invalid, error) => {
    if (problem) return;
    const named = /^Field "([^"]+)"/.exec(error.message)?.[1];
    const full = named !== undefined && path.at(-1) !== named ? [...path, named] : [...path];
    problem = { field: dottedPath(event, full, keys), reason: plainMessage(error.message) };
  });
  if (!problem) {
    const error = checkValue(event[kind], api.eventType.getFields()[kind]?.type, kind);
    const field = error?.extensions['field'];
    if (error && typeof field === 'string') {
      const path = field.split('.').map((step) => (/^\d+$/.test(step) ? Number(step) : step));
      problem = { field: dottedPath(event, path, keys), reason: error.message.replace(/^[^:]*: /, '') };
    }
  }
  if (problem) {
    // Paths inside the payload are relative to it, as the engine reports them (`featureUsage.…`).
    const field = problem.field.startsWith(`${kind}.`) ? problem.field.slice(kind.length + 1) : problem.field;
    return rejected(line, problem.reason, field, givenKey);
  }
  return { ok: true, line, event };
}
