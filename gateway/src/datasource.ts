import { randomUUID } from 'node:crypto';
import { RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { Kind, parse, type DocumentNode, type GraphQLFormattedError } from 'graphql';
import { ErrorCode } from '@hub/core/errors';
import { REQUEST_ID_HEADER, VIEWER_HEADER, systemViewer, type Viewer, type ViewerSigner } from '@hub/core/viewer';
import type { GatewayContext } from './context.js';
import type { Logger } from './logger.js';
import type { GatewayMetrics } from './metrics.js';

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
  /** Put the transport failure's own message into the error (development only: it names internal URLs). */
  readonly exposeDetails?: boolean;
}

/**
 * The gateway's connection to one subgraph. Every request carries the viewer, signed by the
 * gateway for this subgraph and this request only, and the request id; schema loading at start-up is signed as the `system` viewer so that
 * subgraphs can refuse everything unsigned, composition included. A subgraph that cannot be reached
 * (or answers with a non-2xx status) turns into one coded error instead of failing the whole
 * operation: the gateway still returns every other subgraph's fields.
 */
export class HubDataSource extends RemoteGraphQLDataSource<GatewayContext> {
  readonly name: string;
  private readonly signer: ViewerSigner;
  private readonly log: Logger;
  private readonly metrics: GatewayMetrics | undefined;
  private readonly exposeDetails: boolean;

  constructor(options: HubDataSourceOptions) {
    super({ url: options.url });
    this.name = options.name;
    this.signer = options.signer;
    this.log = options.log;
    this.metrics = options.metrics;
    this.exposeDetails = options.exposeDetails ?? false;
  }

  override async willSendRequest(options: ProcessOptions): Promise<void> {
    const headers = options.request.http?.headers;
    if (!headers) throw new Error('RemoteGraphQLDataSource sends HTTP requests only');
    const viewer = this.viewerFor(options);
    // Signed per fetch, just before it is sent (Ed25519 costs microseconds): addressed to this
    // subgraph, bound to this exact request and usable once, so a captured header buys nothing.
    headers.set(VIEWER_HEADER, this.signer.sign(viewer, this.name, options.request));
    headers.set(REQUEST_ID_HEADER, viewer.requestId);
  }

  override async process(options: ProcessOptions): Promise<ProcessResult> {
    // Composition-time failures must reach IntrospectAndCompose untouched so start-up fails loudly.
    if (!isIncomingOperation(options)) return super.process(options);
    const stopTimer = this.metrics?.subgraphFetchDuration.startTimer({ subgraph: this.name });
    try {
      const response = await super.process(options);
      stopTimer?.({ outcome: response.errors?.length ? 'graphql_error' : 'ok' });
      return response;
    } catch (error) {
      stopTimer?.({ outcome: 'unavailable' });
      const reason = error instanceof Error ? error.message : String(error);
      options.context.log.error({ subgraph: this.name, reason }, 'subgraph fetch failed');
      return { data: null, errors: this.downstreamErrors(reason, options) };
    }
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
