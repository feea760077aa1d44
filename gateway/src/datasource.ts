import { randomUUID } from 'node:crypto';
import { RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import type { FetcherResponse } from '@apollo/utils.fetcher';
import { BrokenCircuitError } from 'cockatiel';
import { GraphQLError, Kind, parse, type DocumentNode, type GraphQLFormattedError } from 'graphql';
import { canonicalJson } from '@hub/core/canonicalJson';
import { ErrorCode } from '@hub/core/errors';
import { activeSpan, injectTraceContext, inSpan } from '@hub/core/tracing';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { REQUEST_ID_HEADER, VIEWER_HEADER, systemViewer, type Viewer, type ViewerSigner } from '@hub/core/viewer';
import type { GatewayContext } from './context.js';
import type { EntityCache, EntityLookup } from './entityCache.js';
import type { Logger } from './logger.js';
import type { SubgraphFetcher } from './fetcher.js';
import type { GatewayMetrics } from './metrics.js';
import { isTimeout, type OperationKind, type SubgraphPolicy } from './resilience.js';
import { scopeClassOf } from './viewerScope.js';

type ProcessOptions = GraphQLDataSourceProcessOptions<GatewayContext>;
type ProcessResult = Awaited<ReturnType<RemoteGraphQLDataSource<GatewayContext>['process']>>;
type IncomingOperation = Extract<ProcessOptions, { incomingRequestContext: unknown }>;

function parseQuietly(query: string | undefined): DocumentNode | undefined {
  try {
    return query === undefined ? undefined : parse(query);
  } catch {
    return undefined;
  }
}

function operationKind(document: DocumentNode | undefined): OperationKind {
  const operation = document?.definitions.find((definition) => definition.kind === Kind.OPERATION_DEFINITION);
  return operation?.operation;
}

/**
 * A subgraph refused the request itself (4xx) and said why in GraphQL errors, e.g. its own
 * variable coercion (`BAD_USER_INPUT`). Those errors reach the client with their codes. Not 401:
 * that is the subgraph refusing the gateway's signature, which is the gateway's problem, not the caller's.
 */
class SubgraphRefusal extends GraphQLError {
  constructor(readonly body: { data?: Record<string, unknown> | null; errors: GraphQLFormattedError[] }) {
    super('subgraph refused the request');
  }
}

function refusalBody(status: number, body: unknown): SubgraphRefusal['body'] | undefined {
  if (status < 400 || status >= 500 || status === 401) return undefined;
  if (typeof body !== 'object' || body === null || !('errors' in body)) return undefined;
  const { errors } = body as { errors: unknown };
  if (!Array.isArray(errors) || errors.length === 0) return undefined;
  return body as SubgraphRefusal['body'];
}

/** Response names of the root fields a subgraph operation selects (`__typename` aside). */
function rootResponseNames(document: DocumentNode | undefined): string[] {
  const operation = document?.definitions.find((definition) => definition.kind === Kind.OPERATION_DEFINITION);
  if (!operation) return [];
  return operation.selectionSet.selections.flatMap((selection) =>
    selection.kind === Kind.FIELD && selection.name.value !== '__typename'
      ? [(selection.alias ?? selection.name).value]
      : [],
  );
}

/**
 * Query-plan fetches, as opposed to health checks and schema loading. (`@apollo/gateway` does not
 * export its `GraphQLDataSourceRequestKind` enum at run time, so we test the shape instead.)
 */
function isIncomingOperation(options: ProcessOptions): options is IncomingOperation {
  return 'incomingRequestContext' in options;
}

export interface HubDataSourceOptions {
  /** Subgraph name, as in the supergraph (`sales`). */
  readonly name: string;
  readonly url: string;
  readonly signer: ViewerSigner;
  readonly log: Logger;
  readonly metrics?: GatewayMetrics | undefined;
  /** Pooled keep-alive HTTP client shared by the gateway's data sources. */
  readonly fetcher?: SubgraphFetcher | undefined;
  /** Timeout, retries and circuit breaker of this subgraph (see resilience.ts); none: one plain attempt. */
  readonly policy?: SubgraphPolicy | undefined;
  /** Put the transport failure's own message into the error (development only: it names internal URLs). */
  readonly exposeDetails?: boolean;
  /** Identical query fetches of one viewer in flight share one call (`HUB_SUBGRAPH_DEDUP`). @default false */
  readonly deduplicate?: boolean;
  /** Customer `_entities` fetches answered from it where it can (`HUB_ENTITY_CACHE`, entityCache.ts). */
  readonly entityCache?: EntityCache | undefined;
}

/** Moves an error's `["_entities", j, …]` to the `j`-th miss's place in the whole fetch. */
function remapEntityError(error: GraphQLFormattedError, misses: readonly number[]): GraphQLFormattedError {
  const [head, index, ...rest] = error.path ?? [];
  if (head !== '_entities' || typeof index !== 'number' || misses[index] === undefined) return error;
  return { ...error, path: ['_entities', misses[index], ...rest] };
}

/**
 * The key under which identical fetches in flight share one call: the operation, its variables and
 * the viewer — its scope class (viewerScope.ts: what decides rows and fields) and its user. The
 * user is in the key although no rule reads it: the subgraphs record who read unmasked contact PII
 * (the audit trail), and a shared fetch would record only the first reader. So requests of one
 * viewer share (a dashboard's parallel panels, a client's retries, a popular page hit by one
 * service account), and two viewers never do — whatever their books.
 */
function inflightKey(request: ProcessOptions['request'], viewer: Viewer): string {
  return `${request.query ?? ''}\u0000${canonicalJson(request.variables ?? {})}\u0000${viewer.userId}\u0000${scopeClassOf(viewer)}`;
}

/**
 * The gateway's connection to one subgraph. Every request carries the viewer, signed by the
 * gateway for this subgraph and this request only, and the request id; schema loading at start-up is signed as the `system` viewer so that
 * subgraphs can refuse everything unsigned, composition included. A subgraph that cannot be reached
 * (or answers with a non-2xx status) turns into one coded error instead of failing the whole
 * operation: the gateway still returns every other subgraph's fields. Query-plan fetches run under
 * the subgraph's policy: a timeout, retries for queries, and a circuit breaker that answers at once
 * while the subgraph is down.
 */
export class HubDataSource extends RemoteGraphQLDataSource<GatewayContext> {
  readonly name: string;
  private readonly signer: ViewerSigner;
  private readonly log: Logger;
  private readonly metrics: GatewayMetrics | undefined;
  private readonly exposeDetails: boolean;
  private readonly subgraphFetcher: SubgraphFetcher | undefined;
  private readonly policy: SubgraphPolicy | undefined;
  private readonly deduplicate: boolean;
  private readonly entityCache: EntityCache | undefined;
  private readonly inflight = new Map<string, { answer: Promise<ProcessResult>; followers: number }>();

  constructor(options: HubDataSourceOptions) {
    super({ url: options.url, ...(options.fetcher ? { fetcher: options.fetcher.fetch } : {}) });
    this.subgraphFetcher = options.fetcher;
    this.policy = options.policy;
    this.name = options.name;
    this.signer = options.signer;
    this.log = options.log;
    this.metrics = options.metrics;
    this.exposeDetails = options.exposeDetails ?? false;
    this.deduplicate = options.deduplicate ?? false;
    this.entityCache = options.entityCache;
  }

  override async willSendRequest(options: ProcessOptions): Promise<void> {
    const headers = options.request.http?.headers;
    if (!headers) throw new Error('RemoteGraphQLDataSource sends HTTP requests only');
    const viewer = this.viewerFor(options);
    // Signed per fetch, just before it is sent (Ed25519 costs microseconds): addressed to this
    // subgraph, bound to this exact request and usable once, so a captured header buys nothing.
    headers.set(VIEWER_HEADER, this.signer.sign(viewer, this.name, options.request));
    headers.set(REQUEST_ID_HEADER, viewer.requestId);
    // The subgraph's server span continues this fetch's span (tracing.ts; nothing when tracing is off).
    injectTraceContext(headers);
  }

  override async process(options: ProcessOptions): Promise<ProcessResult> {
    // Composition-time failures must reach IntrospectAndCompose untouched so start-up fails loudly.
    if (!isIncomingOperation(options)) return super.process(options);
    const viewer = options.context.viewer;
    const { query, variables } = options.request;
    if (
      this.entityCache &&
      viewer &&
      query !== undefined &&
      variables &&
      'representations' in variables &&
      // A mutation's own follow-up fetches read what it has just written, before its event is back.
      options.incomingRequestContext.operation?.operation !== 'mutation'
    ) {
      const lookup = await this.entityCache.lookup(this.name, query, variables, viewer);
      if (lookup) return this.throughCache(options, lookup);
    }
    return this.shared(options);
  }

  /**
   * Hits from the cache, the misses in one fetch (in their order), merged back in the order of the
   * representations. Only entities whose fetch placed no error on them are stored, and nothing of a
   * response with an error that names no representation.
   */
  private async throughCache(options: IncomingOperation, lookup: EntityLookup): Promise<ProcessResult> {
    const representations = options.request.variables?.['representations'] as unknown[];
    const misses = representations.flatMap((_, i) => (lookup.hits.has(i) ? [] : [i]));
    if (misses.length === 0) return { data: { _entities: representations.map((_, i) => lookup.hits.get(i)) } };
    const request = {
      ...options.request,
      variables: { ...options.request.variables, representations: misses.map((i) => representations[i]) },
    };
    const response = await this.shared({ ...options, request });
    const fetched = (response.data as { _entities?: unknown } | null | undefined)?._entities;
    if (!Array.isArray(fetched) || fetched.length !== misses.length) {
      // The subgraph failed the whole fetch (unavailable, refused): as without the cache.
      return lookup.hits.size === 0
        ? response
        : { ...response, errors: response.errors?.map((e) => remapEntityError(e, misses)) };
    }
    const erred = new Set<number>();
    let unplaced = false;
    for (const error of response.errors ?? []) {
      const [head, index] = error.path ?? [];
      if (head === '_entities' && typeof index === 'number') erred.add(index);
      else unplaced = true;
    }
    if (!unplaced)
      misses.forEach((i, j) => {
        if (!erred.has(j)) lookup.store(i, fetched[j]);
      });
    const merged: unknown[] = representations.map((_, i) => lookup.hits.get(i));
    misses.forEach((i, j) => (merged[i] = fetched[j]));
    return {
      ...response,
      data: { ...response.data, _entities: merged },
      ...(response.errors ? { errors: response.errors.map((e) => remapEntityError(e, misses)) } : {}),
    };
  }

  /** One fetch, shared with identical ones of the same viewer in flight when deduplicating. */
  private async shared(options: IncomingOperation): Promise<ProcessResult> {
    const viewer = options.context.viewer;
    if (
      !this.deduplicate ||
      !viewer ||
      operationKind(options.document ?? parseQuietly(options.request.query)) !== 'query'
    )
      return this.fetchOnce(options);
    const key = inflightKey(options.request, viewer);
    const leader = this.inflight.get(key);
    if (leader) {
      leader.followers++;
      this.metrics?.subgraphDeduplicated.inc({ subgraph: this.name });
      // The fetch's span is in the leader's trace; this one only notes that it waited for it.
      activeSpan()?.addEvent('subgraph fetch shared', { 'hub.subgraph.name': this.name });
      // The executor merges answers into its own result objects: each request gets its own copy,
      // taken from the answer nobody has touched.
      return structuredClone(await leader.answer);
    }
    const entry = { answer: this.fetchOnce(options).finally(() => this.inflight.delete(key)), followers: 0 };
    this.inflight.set(key, entry);
    const answer = await entry.answer;
    return entry.followers > 0 ? structuredClone(answer) : answer;
  }

  /** One span per subgraph fetch, retries included (the fetcher notes each answer's HTTP status on it). */
  private fetchOnce(options: IncomingOperation): Promise<ProcessResult> {
    return inSpan(
      `subgraph ${this.name}`,
      { kind: SpanKind.CLIENT, attributes: { 'hub.subgraph.name': this.name } },
      (span) =>
        this.fetchUntraced(options, (outcome) => {
          if (!span) return;
          span.setAttribute('hub.subgraph.outcome', outcome);
          // A subgraph's GraphQL errors and refusals are its answer; the fetch itself worked.
          if (outcome !== 'ok' && outcome !== 'graphql_error' && outcome !== 'refused')
            span.setStatus({ code: SpanStatusCode.ERROR, message: outcome });
        }),
    );
  }

  private async fetchUntraced(
    options: IncomingOperation,
    noteOutcome: (outcome: string) => void,
  ): Promise<ProcessResult> {
    const stopTimer = this.metrics?.subgraphFetchDuration.startTimer({ subgraph: this.name });
    try {
      const response = await this.attempts(options);
      const outcome = response.errors?.length ? 'graphql_error' : 'ok';
      stopTimer?.({ outcome });
      noteOutcome(outcome);
      return response;
    } catch (error) {
      if (error instanceof SubgraphRefusal) {
        stopTimer?.({ outcome: 'refused' });
        noteOutcome('refused');
        return { data: null, ...error.body };
      }
      const outcome =
        error instanceof BrokenCircuitError
          ? 'circuit_open'
          : error instanceof Error && isTimeout(error)
            ? 'timeout'
            : 'unavailable';
      stopTimer?.({ outcome });
      noteOutcome(outcome);
      const reason = error instanceof Error ? error.message : String(error);
      // While a circuit is open every request would log the same failure: the breaker logs its opening once.
      if (outcome !== 'circuit_open')
        options.context.log.error({ subgraph: this.name, reason }, 'subgraph fetch failed');
      return { data: null, errors: this.downstreamErrors(reason, options) };
    }
  }

  /** Each attempt goes through `super.process` again, so `willSendRequest` signs it afresh. */
  private attempts(options: IncomingOperation): Promise<ProcessResult> {
    const { policy, subgraphFetcher } = this;
    if (!policy) return super.process(options);
    const kind = operationKind(options.document ?? parseQuietly(options.request.query));
    return policy.run(kind, (signal) =>
      subgraphFetcher ? subgraphFetcher.withSignal(signal, () => super.process(options)) : super.process(options),
    );
  }

  override async errorFromResponse(response: FetcherResponse): Promise<GraphQLError> {
    const error = await super.errorFromResponse(response);
    const body = refusalBody(response.status, (error.extensions['response'] as { body?: unknown } | undefined)?.body);
    return body ? new SubgraphRefusal(body) : error;
  }

  private viewerFor(options: ProcessOptions): Viewer {
    if (!isIncomingOperation(options)) return systemViewer(randomUUID());
    const viewer = options.context.viewer;
    // The context factory refuses unauthenticated requests, so this only guards against wiring mistakes.
    if (!viewer) throw new Error('no viewer in the request context; refusing to call a subgraph unsigned');
    return viewer;
  }

  /**
   * The errors the gateway reports for a failed fetch, each pointing at a part that is missing.
   * An entity fetch points at the list it would have filled (`["customers","@"]`, as Apollo Router
   * does; the gateway prefixes its own position to our empty path). A root fetch gets one error per
   * root field it was asked for.
   */
  private downstreamErrors(reason: string, options: IncomingOperation): GraphQLFormattedError[] {
    const error = (path?: string[]): GraphQLFormattedError => ({
      message: `Subgraph "${this.name}" is unavailable; its fields are missing from this response`,
      ...(path ? { path } : {}),
      extensions: {
        code: ErrorCode.DownstreamServiceError,
        serviceName: this.name,
        ...(this.exposeDetails ? { reason } : {}),
      },
    });
    const inEntities = Array.isArray(options.pathInIncomingRequest) && options.pathInIncomingRequest.length > 0;
    if (inEntities) return [error([])];
    const fields = rootResponseNames(options.document ?? parseQuietly(options.request.query));
    return fields.length > 0 ? fields.map((name) => error([name])) : [error()];
  }
}
