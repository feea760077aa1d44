import { REQUEST_ID_HEADER, VIEWER_HEADER, systemViewer, type ViewerSigner } from '@hub/core/viewer';

/** Internal lookups must not hold a request for long: past this, the request fails closed. */
const DEFAULT_TIMEOUT_MS = 5000;

export interface InternalClientOptions {
  /** GraphQL endpoint of the subgraph, e.g. `http://127.0.0.1:4001/graphql`. */
  readonly url: string;
  /** The subgraph's name, the audience its viewer tokens are addressed to (`customers`). */
  readonly audience: string;
  readonly signer: ViewerSigner;
  readonly timeoutMs?: number;
}

/** Failure of an internal lookup, with the reason for the logs (the client gets a generic error). */
export class InternalLookupError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'InternalLookupError';
  }
}

/**
 * Runs one operation against a subgraph directly, as the gateway's own `system` viewer, for the
 * `@inaccessible` fields the supergraph does not expose (`_apiKeyByHash`).
 * `tenantId` is the tenant the lookup is confined to, or null for a cross-tenant lookup.
 */
export type InternalQuery = <T>(
  query: string,
  variables: Record<string, unknown>,
  scope: { tenantId: string | null; requestId: string },
) => Promise<T>;

export function createInternalClient(options: InternalClientOptions): InternalQuery {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return async <T>(
    query: string,
    variables: Record<string, unknown>,
    scope: { tenantId: string | null; requestId: string },
  ) => {
    const viewer = systemViewer(scope.requestId, scope.tenantId);
    const request = { query, variables };
    let response: Response;
    try {
      response = await fetch(options.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          [VIEWER_HEADER]: options.signer.sign(viewer, options.audience, request),
          [REQUEST_ID_HEADER]: scope.requestId,
        },
        body: JSON.stringify(request),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      throw new InternalLookupError(
        `${options.url} unreachable: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    let body: { data?: T | null; errors?: { message: string }[] };
    try {
      body = (await response.json()) as typeof body;
    } catch {
      throw new InternalLookupError(`${options.url} answered HTTP ${response.status} without JSON`);
    }
    if (!response.ok || body.errors?.length || body.data === undefined || body.data === null) {
      const messages = body.errors?.map((error) => error.message).join('; ') ?? 'no data';
      throw new InternalLookupError(`${options.url} answered HTTP ${response.status}: ${messages}`);
    }
    return body.data;
  };
}
