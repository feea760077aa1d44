/**
 * Whether the gateway's response cache (gateway/src/responseCache.ts) may serve a `Query` root
 * field, declared once by the subgraph that owns the field, next to it in its SDL, with the
 * `@responseCache` directive (packages/core/src/graphql/common.graphql):
 *
 *   customer(id: ID!): Customer @responseCache(policy: "EVENTS")
 *   tenant: Tenant @responseCache(policy: "NEVER", reason: "settings change without a change event")
 *
 * Policies:
 * - EVENTS: the answer is the domain's rows as their committed changes leave them, every change of
 *   which is an event on the bus; the cache keeps it until an event drops it.
 * - NEVER: state that changes without a change event, or personal data read under audit; the
 *   `reason` says which.
 *
 * Every root field of the API (not `@inaccessible`, not federation's) takes a decision, so a new
 * field is a decision, not an accident: the gateway caches only EVENTS (a field without one is not
 * cached), and `npm run classification:check` fails with the list of fields without one. A type
 * block carries no default, unlike `@classification`: a field added to `Query` never inherits
 * "cached".
 *
 * Like classification.ts, this reads AST nodes only (plain data), so any graphql-js instance can use it.
 */
import { Kind, parse, type ConstDirectiveNode, type DocumentNode, type FieldDefinitionNode } from 'graphql';

export const RESPONSE_CACHE_POLICIES = ['EVENTS', 'NEVER'] as const;
export type ResponseCachePolicyName = (typeof RESPONSE_CACHE_POLICIES)[number];

export interface RootFieldDecision {
  readonly policy: ResponseCachePolicyName;
  /** Why not (NEVER); optional for EVENTS, whose reason is the policy's. */
  readonly reason?: string;
}

export interface ResponseCachePolicy {
  /** Root field name -> its decision, for every root field of the API that declares one. */
  readonly fields: ReadonlyMap<string, RootFieldDecision>;
  /** The root fields whose policy is EVENTS: all the response cache may serve. */
  readonly cached: ReadonlySet<string>;
  /** Fields without a valid decision, and misplaced directives. */
  readonly problems: readonly string[];
}

const DIRECTIVE = 'responseCache';

/** Root fields the federation machinery adds to every subgraph; never in the API. */
const FEDERATION_FIELDS = new Set(['_entities', '_service']);

const QUERY_KINDS = new Set<Kind>([Kind.OBJECT_TYPE_DEFINITION, Kind.OBJECT_TYPE_EXTENSION]);

type Block = { kind: Kind; name: { value: string }; fields?: readonly FieldDefinitionNode[] | undefined };

function argument(directive: ConstDirectiveNode, name: string): string | undefined {
  const arg = directive.arguments?.find((a) => a.name.value === name);
  return arg?.value.kind === Kind.STRING ? arg.value.value : undefined;
}

const named = (field: FieldDefinitionNode, name: string) =>
  field.directives?.filter((d) => d.name.value === name) ?? [];

function withCached(fields: ReadonlyMap<string, RootFieldDecision>, problems: readonly string[]): ResponseCachePolicy {
  const cached = new Set([...fields].filter(([, { policy }]) => policy === 'EVENTS').map(([name]) => name));
  return { fields, cached, problems };
}

/** The decisions an SDL document declares (a subgraph's full SDL, as the subgraph kit serves it). */
export function readResponseCachePolicy(document: DocumentNode | string): ResponseCachePolicy {
  const doc = typeof document === 'string' ? parse(document) : document;
  const fields = new Map<string, RootFieldDecision>();
  const problems: string[] = [];
  for (const block of doc.definitions as readonly Block[]) {
    const isQuery = QUERY_KINDS.has(block.kind) && block.name.value === 'Query';
    for (const field of block.fields ?? []) {
      const coordinate = `${block.name.value}.${field.name.value}`;
      const found = named(field, DIRECTIVE);
      if (!isQuery) {
        if (found.length > 0) problems.push(`${coordinate}: only a Query root field takes @responseCache`);
        continue;
      }
      if (FEDERATION_FIELDS.has(field.name.value)) continue;
      if (named(field, 'inaccessible').length > 0) {
        if (found.length > 0) problems.push(`${coordinate}: @inaccessible, not in the API: no @responseCache`);
        continue;
      }
      const [directive] = found;
      if (!directive) {
        problems.push(`${coordinate}: no @responseCache decision (${RESPONSE_CACHE_POLICIES.join(' or ')})`);
        continue;
      }
      if (found.length > 1) problems.push(`${coordinate}: more than one @responseCache`);
      const policy = argument(directive, 'policy');
      const reason = argument(directive, 'reason');
      if (policy === undefined || !(RESPONSE_CACHE_POLICIES as readonly string[]).includes(policy)) {
        problems.push(
          `${coordinate}: policy must be one of ${RESPONSE_CACHE_POLICIES.join(', ')}, got ${JSON.stringify(policy)}`,
        );
        continue;
      }
      if (policy === 'NEVER' && !reason) problems.push(`${coordinate}: a NEVER decision gives its reason`);
      fields.set(field.name.value, {
        policy: policy as ResponseCachePolicyName,
        ...(reason === undefined ? {} : { reason }),
      });
    }
  }
  return withCached(fields, problems);
}

/** One policy of several subgraphs' (a `@shareable` root field, e.g. `sync`, must be decided alike). */
export function mergeResponseCachePolicies(
  named: Iterable<readonly [string, ResponseCachePolicy]>,
): ResponseCachePolicy {
  const fields = new Map<string, RootFieldDecision>();
  const problems: string[] = [];
  for (const [name, own] of named) {
    problems.push(...own.problems.map((problem) => `${name}: ${problem}`));
    for (const [field, decision] of own.fields) {
      const previous = fields.get(field);
      if (previous && previous.policy !== decision.policy)
        problems.push(`${name}: Query.${field} is ${decision.policy} here, ${previous.policy} in another subgraph`);
      else if (!previous) fields.set(field, decision);
    }
  }
  return withCached(fields, problems);
}

/** Throws, listing every problem, unless each root field of the API has a valid decision. */
export function assertResponseCacheDecided(name: string, policy: ResponseCachePolicy): void {
  if (policy.problems.length === 0) return;
  throw new Error(
    `${name}: every Query root field needs a response-cache decision (@responseCache, packages/core/src/responseCachePolicy.ts):\n  ${policy.problems.join('\n  ')}`,
  );
}
