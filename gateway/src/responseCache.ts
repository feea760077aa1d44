/**
 * The gateway's response cache (issue 10 items 4 and 6; README "Response cache"): the whole HTTP
 * answer of a query, per operation text, variables, Accept header and viewer scope class
 * (viewerScope.ts), served before Apollo Server runs and dropped by the change events themselves —
 * the entity cache's generations (entityCache.ts `lookupStored`), not a clock.
 *
 * What an answer depends on, and so what drops it. An operation whose root fields are all
 * `customer(id: …)` depends on those customers only: their events, and the tenant's events that
 * name no customer, drop it (the entity cache's rule, per customer). Any other cacheable operation
 * (lists, other entities) is dropped by every event of its tenant. The tag is read before Apollo
 * runs, so an answer overtaken by an event while it executed is stored under the old tag and never
 * served. The bound is the entity cache's: a read can see an old answer only between a commit and
 * the moment this gateway's tail of the bus hands its event over, and nothing is served while a
 * tail is behind or Redis is away.
 *
 * What is cached: POSTed JSON queries (not mutations, subscriptions or incremental delivery) of a
 * first-party viewer with a tenant, whose root fields are all declared `@responseCache(policy:
 * "EVENTS")` by the subgraph that owns them (@hub/core/responseCachePolicy: the domain's rows as their
 * committed changes leave them, every change an event; clock-derived values within them are bounded
 * by the entries' maximum age, `HUB_ENTITY_CACHE_MAX_AGE`, as in the entity cache), that read no
 * PII-classified field (the subgraphs audit every read of unmasked PII; a hit would be a read they
 * never saw), and whose answer is a plain 200 `{"data":…}`: no error, no extension. Partners are
 * never cached (their grant lives in the subgraphs' replicas; see entityCache.ts). A root field
 * without an EVENTS decision is not cached (default-deny); `npm run classification:check` refuses a
 * root field of the API without a decision, so a new one is a decision, not an accident.
 *
 * A hit has passed every per-request check before it (identity, safelist, request and cost budgets,
 * demand limits, input checks): they run in front of this middleware. What Apollo decides from the
 * document and the scope class alone (validation, introspection policy, field rules in the
 * subgraphs) was decided when the answer was stored, for the same text and class.
 */
import { createHash } from 'node:crypto';
import { HeaderMap, type ApolloServer, type BaseContext } from '@apollo/server';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { Kind, type DocumentNode, type GraphQLSchema, type OperationDefinitionNode } from 'graphql';
import type { Classification } from '@hub/core/classification';
import { hubClassification, hubResponseCachePolicy } from '@hub/core/schemaFiles';
import { selectionReadsPii, type EntityCache } from './entityCache.js';
import { identityOf } from './identify.js';
import type { GatewayMetrics } from './metrics.js';
import { resolvedOperationOf } from './operation.js';
import { scopeClassOf } from './viewerScope.js';

/** An answer as Apollo Server gave it. */
export interface CachedResponse {
  readonly status: number;
  readonly headers: readonly (readonly [string, string])[];
  readonly body: string;
}

/** A cacheable request's lookup: the stored answer, or how to store the one Apollo gives. */
export interface ResponseProbe {
  readonly hit: CachedResponse | undefined;
  store(response: CachedResponse): void;
}

export interface ResponseCache {
  /** Undefined when the request is not cacheable, or the cache does not serve now. */
  probe(req: Request, res: Response): Promise<ResponseProbe | undefined>;
}

export interface ResponseCacheOptions {
  readonly cache: EntityCache;
  /** Longer answers are not stored. */
  readonly maxBodyBytes: number;
  /** The loaded API schema and the supergraph's hash (part of every key: a new graph starts afresh). */
  readonly schema: () => { readonly apiSchema: GraphQLSchema; readonly schemaId: string } | undefined;
  readonly metrics?: GatewayMetrics | undefined;
}

interface Shape {
  readonly cacheable: boolean;
  /** Where each root `customer(id:)` takes its id; undefined when a root field is anything else. */
  readonly customerIds: readonly ({ readonly variable: string } | { readonly literal: string })[] | undefined;
}

const UNCACHEABLE: Shape = { cacheable: false, customerIds: undefined };

const INCREMENTAL = /@(?:defer|stream)\b/;

function shapeOf(
  schema: GraphQLSchema,
  classification: Classification,
  cached: ReadonlySet<string>,
  source: string,
  document: DocumentNode,
  operation: OperationDefinitionNode,
): Shape {
  if (operation.operation !== 'query' || operation.directives?.length) return UNCACHEABLE;
  // Incremental delivery is never one complete answer; named anywhere in the text, not cached.
  if (INCREMENTAL.test(source)) return UNCACHEABLE;
  const customerIds: ({ variable: string } | { literal: string })[] = [];
  let onlyCustomers = true;
  for (const selection of operation.selectionSet.selections) {
    // Fragments at the root are legal but rare: not cached rather than resolved here.
    if (selection.kind !== Kind.FIELD) return UNCACHEABLE;
    const name = selection.name.value;
    if (name === '__typename') continue;
    if (!cached.has(name)) return UNCACHEABLE;
    const id = selection.arguments?.find((a) => a.name.value === 'id')?.value;
    if (name === 'customer' && id?.kind === Kind.VARIABLE) customerIds.push({ variable: id.name.value });
    else if (name === 'customer' && id?.kind === Kind.STRING) customerIds.push({ literal: id.value });
    else onlyCustomers = false;
  }
  const root = schema.getQueryType() ?? undefined;
  if (selectionReadsPii(schema, classification, document, root, operation.selectionSet)) return UNCACHEABLE;
  return { cacheable: true, customerIds: onlyCustomers && customerIds.length > 0 ? customerIds : undefined };
}

/** The customers an operation of `shape` depends on, or null for the whole tenant. */
function customersOf(shape: Shape, variables: Record<string, unknown>): string[] | null {
  if (!shape.customerIds) return null;
  const ids: string[] = [];
  for (const source of shape.customerIds) {
    const id = 'literal' in source ? source.literal : variables[source.variable];
    if (typeof id !== 'string') return null;
    ids.push(id);
  }
  return ids;
}

/** Whether Apollo's answer may be stored: a 200 with data only (Apollo writes `errors` first, then `data`, then `extensions`). */
function storable(response: CachedResponse, maxBodyBytes: number): boolean {
  return (
    response.status === 200 &&
    response.body.length <= maxBodyBytes &&
    response.body.startsWith('{"data":') &&
    !response.body.includes('"extensions":')
  );
}

/** `<status>\n<headers JSON>\n<body>`: a hit parses the few headers, never the body. */
function encode(response: CachedResponse): string {
  return `${String(response.status)}\n${JSON.stringify(response.headers)}\n${response.body}`;
}

function decode(text: string): CachedResponse | undefined {
  const first = text.indexOf('\n');
  const second = text.indexOf('\n', first + 1);
  if (first < 0 || second < 0) return undefined;
  return {
    status: Number(text.slice(0, first)),
    headers: JSON.parse(text.slice(first + 1, second)) as [string, string][],
    body: text.slice(second + 1),
  };
}

export function createResponseCache(options: ResponseCacheOptions): ResponseCache {
  const { cache, metrics } = options;
  let classification: Classification | undefined;
  let cached: ReadonlySet<string> | undefined;
  // Per parsed operation: demand control keeps one parsed document per text and schema, so this
  // is decided once per text (and dropped with its document).
  const shapes = new WeakMap<OperationDefinitionNode, Shape>();
  return {
    async probe(req, res) {
      const identity = identityOf(res);
      const resolved = resolvedOperationOf(res);
      const loaded = options.schema();
      if (!identity.ok || resolved === undefined || loaded === undefined || req.method !== 'POST') return undefined;
      const { viewer } = identity;
      const tenant = viewer.tenantId;
      if (tenant === null || tenant === '' || viewer.grantId !== undefined || viewer.app !== undefined)
        return undefined;
      if (!String(req.headers['content-type'] ?? '').startsWith('application/json')) return undefined;
      let shape = shapes.get(resolved.operation);
      if (!shape) {
        shape = shapeOf(
          loaded.apiSchema,
          (classification ??= hubClassification()),
          (cached ??= hubResponseCachePolicy().cached),
          resolved.request.source,
          resolved.document,
          resolved.operation,
        );
        shapes.set(resolved.operation, shape);
      }
      if (!shape.cacheable) return undefined;
      const { source, operationName, variables } = resolved.request;
      const key = createHash('sha256')
        .update(
          [
            loaded.schemaId,
            scopeClassOf(viewer),
            req.headers['accept'] ?? '',
            operationName ?? '',
            source,
            resolved.variablesKey,
          ].join('\u0000'),
        )
        .digest('base64url');
      const stored = await cache.lookupStored(tenant, customersOf(shape, variables), key);
      if (!stored) {
        metrics?.responseCacheLookups.inc({ outcome: 'bypass' });
        return undefined;
      }
      const hit = stored.value === undefined ? undefined : decode(stored.value);
      metrics?.responseCacheLookups.inc({ outcome: hit ? 'hit' : 'miss' });
      return {
        hit,
        store(response) {
          if (storable(response, options.maxBodyBytes)) stored.store(encode(response));
        },
      };
    },
  };
}

/**
 * Express middleware of the GraphQL route, last: answers a request from the response cache, or
 * runs it through Apollo Server — as `@as-integrations/express5` does, which offers no way to see
 * the answer it writes — and stores a cacheable answer. `onHit` observes a served hit (the log line
 * Apollo's pipeline would have written).
 */
export function serveGraphQL<C extends BaseContext>(options: {
  readonly apollo: ApolloServer<C>;
  readonly context: (req: Request, res: Response) => Promise<C>;
  readonly cache: ResponseCache | undefined;
  readonly onHit?: (req: Request, res: Response) => void;
}): RequestHandler {
  const { apollo } = options;
  apollo.assertStarted('serveGraphQL()');
  const send = (res: Response, answer: CachedResponse) => {
    for (const [name, value] of answer.headers) res.setHeader(name, value);
    res.statusCode = answer.status;
    res.send(answer.body);
  };
  const handle = async (req: Request, res: Response) => {
    const probe = options.cache ? await options.cache.probe(req, res) : undefined;
    if (probe?.hit) {
      send(res, probe.hit);
      options.onHit?.(req, res);
      return;
    }
    const headers = new HeaderMap();
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
    }
    const query = req.url.indexOf('?');
    const response = await apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest: {
        method: req.method.toUpperCase(),
        headers,
        search: query < 0 ? '' : req.url.slice(query),
        body: req.body as unknown,
      },
      context: () => options.context(req, res),
    });
    if (response.body.kind === 'complete') {
      const answer = { status: response.status ?? 200, headers: [...response.headers], body: response.body.string };
      probe?.store(answer);
      send(res, answer);
      return;
    }
    for (const [name, value] of response.headers) res.setHeader(name, value);
    res.statusCode = response.status ?? 200;
    for await (const chunk of response.body.asyncIterator) {
      res.write(chunk);
      // Incremental delivery through a compression middleware must reach the client chunk by chunk.
      const flushable = res as Response & { flush?: () => void };
      if (typeof flushable.flush === 'function') flushable.flush();
    }
    res.end();
  };
  return (req: Request, res: Response, next: NextFunction) => {
    if (!('body' in req)) {
      next(new Error('serveGraphQL() needs the json middleware before it'));
      return;
    }
    handle(req, res).catch(next);
  };
}
