/**
 * The schema subscriptions are validated and shaped against: the composed API schema the gateway
 * serves queries from, extended with the gateway-owned `Subscription` type (schema.graphql here).
 * Plus, from the supergraph, which subgraph resolves each `Customer` field: the probes that decide
 * whether a subscriber may see a domain's event about a customer (see `probeFor`).
 */
import { readFileSync } from 'node:fs';
import { Supergraph } from '@apollo/federation-internals';
import {
  buildASTSchema,
  extendSchema,
  getNamedType,
  isCompositeType,
  isNonNullType,
  isObjectType,
  parse,
  printSchema,
  type GraphQLSchema,
} from 'graphql';
import { READ_ACCESS, rolesIn } from '@hub/core/authz';
import { classifyDocument, withoutClassification } from '@hub/core/classification';
import { DOMAINS, type Domain } from '@hub/core/domains';
import type { Viewer } from '@hub/core/viewer';
import { PROBE_ALIAS } from './payload.js';

/** The subscription SDL, also read by codegen's API schema loader (scripts/codegen-api-schema.mjs). */
export const LIVE_SDL_PATH = new URL('./schema.graphql', import.meta.url);
export const LIVE_SDL = readFileSync(LIVE_SDL_PATH, 'utf8');
/** Its fields' classification (checked by `npm run codegen:check`); served without the directive. */
export const LIVE_CLASSIFICATION = classifyDocument(LIVE_SDL);
const LIVE_DOCUMENT = withoutClassification(parse(`${LIVE_SDL}\nextend schema { subscription: Subscription }`));

export interface LiveSchema {
  /** API schema + Subscription. */
  readonly schema: GraphQLSchema;
  /** Customer fields (`Customer.renewal`) each domain's subgraph resolves; `id` only for customers. */
  readonly customerFields: Readonly<Record<Domain, readonly string[]>>;
  /**
   * Per domain, the Customer fields it resolves that need no argument, with the selection that
   * reads them (`renewal { __typename }`): what `probeFor` picks from.
   */
  readonly probes: Readonly<Record<Domain, readonly { readonly coordinate: string; readonly selection: string }[]>>;
}

/**
 * Built from the supergraph SDL on every (re)load. The API schema is printed and re-parsed with
 * this package's graphql-js: the federation packages may carry their own copy, and a schema object
 * must not cross the two.
 */
export function buildLiveSchema(coreSupergraphSdl: string): LiveSchema {
  const supergraph = Supergraph.build(coreSupergraphSdl);
  const api = buildASTSchema(parse(printSchema(supergraph.apiSchema().toGraphQLJSSchema())));
  // extendSchema, unlike buildASTSchema, does not take root types by their names.
  const schema = extendSchema(api, LIVE_DOCUMENT);
  const customerFields = Object.fromEntries(DOMAINS.map((d) => [d, [] as string[]])) as Record<Domain, string[]>;
  for (const subgraph of supergraph.subgraphs()) {
    const type = subgraph.schema.type('Customer');
    const domain = DOMAINS.find((d) => d === subgraph.name);
    if (!domain || type?.kind !== 'ObjectType') continue;
    for (const field of type.fields()) {
      if (subgraph.metadata().isFieldExternal(field) || (field.name === 'id' && domain !== 'customers')) continue;
      customerFields[domain].push(`Customer.${field.name}`);
    }
  }
  const customer = schema.getType('Customer');
  const fields = isObjectType(customer) ? customer.getFields() : {};
  const probes = Object.fromEntries(
    DOMAINS.map((domain) => [
      domain,
      customerFields[domain].flatMap((coordinate) => {
        const field = fields[coordinate.slice('Customer.'.length)];
        if (!field || field.args.some((arg) => isNonNullType(arg.type) && arg.defaultValue === undefined)) return [];
        const selection = isCompositeType(getNamedType(field.type)) ? `${field.name} { __typename }` : field.name;
        return [{ coordinate, selection }];
      }),
    ]),
  ) as Record<Domain, { coordinate: string; selection: string }[]>;
  return { schema, customerFields, probes };
}

/**
 * What to ask of the graph to learn whether `viewer` may see `domain`'s data of a customer: a
 * Customer field that domain's subgraph resolves. Its field rule passes only when a role of the
 * viewer that reads the domain also covers the customer's row (the union rule, in the subgraph:
 * never one role's rows with another's domain), and for a partner only a field its grant names.
 * Undefined: no role of the viewer reads the domain at all (nothing to ask).
 */
export function probeFor(viewer: Viewer, domain: Domain, live: LiveSchema): string | undefined {
  const readers = READ_ACCESS[domain] ?? [];
  const roles = rolesIn(viewer, domain).filter((role) => readers.includes(role));
  if (roles.length === 0) return undefined;
  const candidates = live.probes[domain];
  // A partner's grant (its fields) lives in each subgraph's replica, not in the viewer: ask every
  // field the domain resolves, each under its own alias; one that is not refused is enough.
  const asked = roles.some((role) => role !== 'partner') ? candidates.slice(0, 1) : candidates;
  if (asked.length === 0) return undefined;
  return asked.map((candidate, i) => `${PROBE_ALIAS}${i}: ${candidate.selection}`).join(' ');
}

/** The domains `probeFor` has a question for: a first filter before anything is resolved. */
export function visibleDomains(viewer: Viewer, live: LiveSchema): ReadonlySet<Domain> {
  return new Set(DOMAINS.filter((domain) => probeFor(viewer, domain, live) !== undefined));
}
