/**
 * The schema subscriptions are validated and shaped against: the composed API schema the gateway
 * serves queries from, extended with the gateway-owned `Subscription` type (schema.graphql here).
 * Plus, from the supergraph, which subgraph resolves each `Customer` field: a partner receives a
 * domain's events only when its grant names a field of that domain (see `visibleDomains`).
 */
import { readFileSync } from 'node:fs';
import { Supergraph } from '@apollo/federation-internals';
import { buildASTSchema, extendSchema, parse, printSchema, type GraphQLSchema } from 'graphql';
import { READ_ACCESS, rolesIn } from '@hub/core/authz';
import { DOMAINS, type Domain } from '@hub/core/domains';
import type { Viewer } from '@hub/core/viewer';

/** The subscription SDL, also read by codegen's API schema loader (scripts/codegen-api-schema.mjs). */
export const LIVE_SDL_PATH = new URL('./schema.graphql', import.meta.url);
export const LIVE_SDL = readFileSync(LIVE_SDL_PATH, 'utf8');

export interface LiveSchema {
  /** API schema + Subscription. */
  readonly schema: GraphQLSchema;
  /** Customer fields (`Customer.renewal`) each domain's subgraph resolves; `id` only for customers. */
  readonly customerFields: Readonly<Record<Domain, readonly string[]>>;
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
  const schema = extendSchema(api, parse(`${LIVE_SDL}\nextend schema { subscription: Subscription }`));
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
  return { schema, customerFields };
}

/**
 * The domains whose events a viewer may receive: those one of its roles may read (the role matrix,
 * as every subgraph applies it), and for a partner only those where its grant names a `Customer`
 * field the domain resolves (or `Customer.*`). Which customers, and which fields of them, is then
 * decided per event by resolving the payload through the graph with the viewer.
 */
export function visibleDomains(viewer: Viewer, live: LiveSchema): ReadonlySet<Domain> {
  const visible = new Set<Domain>();
  for (const domain of DOMAINS) {
    const readers = READ_ACCESS[domain] ?? [];
    const roles = rolesIn(viewer, domain).filter((role) => readers.includes(role));
    const human = roles.some((role) => role !== 'partner');
    const grant = viewer.grant?.fields ?? [];
    const partner =
      roles.includes('partner') &&
      (grant.includes('Customer.*') || live.customerFields[domain].some((field) => grant.includes(field)));
    if (human || partner) visible.add(domain);
  }
  return visible;
}
