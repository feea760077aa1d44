/**
 * The pages talk to the gateway like any other client: POST /graphql with the credential's
 * headers, subscriptions over graphql-ws (`graphql-transport-ws`) with the credential in
 * `connection_init`. No endpoint of its own.
 */
import { createClient, type Client } from 'graphql-ws';
import { connectionParams, credentialHeaders, type Credential } from './credentials.js';

export const GRAPHQL_PATH = '/graphql';

export function httpUrl(): string {
  return new URL(GRAPHQL_PATH, window.location.origin).toString();
}

export function wsUrl(): string {
  const url = new URL(GRAPHQL_PATH, window.location.origin);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.toString();
}

export interface GraphQLErrorShape {
  readonly message: string;
  readonly path?: readonly (string | number)[];
  readonly extensions?: { readonly code?: string } & Record<string, unknown>;
}

export interface GraphQLResult<T> {
  readonly data?: T | null;
  readonly errors?: readonly GraphQLErrorShape[];
}

/** A fetch that adds the credential's headers unless the caller set its own. */
export function fetchWithCredential(credential: () => Credential | undefined): typeof fetch {
  return (input, init) => {
    const headers = new Headers(init?.headers);
    for (const [name, value] of Object.entries(credentialHeaders(credential()))) {
      if (!headers.has(name)) headers.set(name, value);
    }
    return fetch(input, { ...init, headers });
  };
}

/** One GraphQL request over HTTP. Transport failures become a result with a `NETWORK_ERROR` code. */
export async function request<T>(
  credential: Credential | undefined,
  query: string,
  variables: Record<string, unknown> = {},
): Promise<GraphQLResult<T>> {
  try {
    const response = await fetchWithCredential(() => credential)(httpUrl(), {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ query, variables }),
    });
    return (await response.json()) as GraphQLResult<T>;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { errors: [{ message, extensions: { code: 'NETWORK_ERROR' } }] };
  }
}

/** A lazy graphql-ws client that sends the current credential each time it (re)connects. */
export function createWsClient(credential: () => Credential | undefined): Client {
  return createClient({
    url: wsUrl(),
    lazy: true,
    retryAttempts: Infinity,
    shouldRetry: () => true,
    connectionParams: () => connectionParams(credential()),
  });
}

export function errorText(errors: readonly GraphQLErrorShape[] | undefined): string | undefined {
  if (errors === undefined || errors.length === 0) return undefined;
  return errors.map((e) => `${e.extensions?.code ?? 'ERROR'}: ${e.message}`).join('; ');
}
