/**
 * A real graphql-ws client (`graphql-transport-ws` over `ws`) for the subscription tests: one
 * connection per subscriber, every `next` collected, the close code kept.
 */
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

export interface Received<T = Record<string, unknown>> {
  data?: T | null;
  errors?: { message: string; path?: readonly (string | number)[]; extensions?: Record<string, unknown> }[];
}

export interface LiveSubscriber<T = Record<string, unknown>> {
  readonly received: Received<T>[];
  /** Resolves with the close code once the socket closed (4401, 4403, 1000, …). */
  readonly closed: Promise<number>;
  /** Resolves when the subscription completed (server `complete`) or errored. */
  readonly done: Promise<unknown>;
  /** Waits until `predicate` holds over what arrived, or fails after `timeoutMs`. */
  until(predicate: (received: Received<T>[]) => boolean, timeoutMs?: number, what?: string): Promise<void>;
  close(): Promise<void>;
}

export function wsUrlOf(gatewayUrl: string): string {
  return gatewayUrl.replace(/^http/, 'ws');
}

/** A `ws` client class whose every socket is handed to `onSocket` as it is made. */
function socketHandedTo(onSocket: (socket: WebSocket) => void) {
  return class extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols);
      onSocket(this);
    }
  };
}

export function subscribeLive<T = Record<string, unknown>>(
  gatewayUrl: string,
  connectionParams: Record<string, unknown>,
  query: string,
  variables: Record<string, unknown> = {},
  extensions?: Record<string, unknown>,
  /** Hands over the client's socket (e.g. to `pause()` it: a client that stops reading). */
  onSocket?: (socket: WebSocket) => void,
): LiveSubscriber<T> {
  const received: Received<T>[] = [];
  let onClosed: (code: number) => void = () => undefined;
  const closed = new Promise<number>((resolve) => (onClosed = resolve));
  const client: Client = createClient({
    url: wsUrlOf(gatewayUrl),
    webSocketImpl: onSocket ? socketHandedTo(onSocket) : WebSocket,
    connectionParams,
    retryAttempts: 0,
    lazy: false,
    on: { closed: (event) => onClosed((event as { code: number }).code) },
  });
  const done = new Promise((resolve) => {
    client.subscribe<T>(
      { query, variables, ...(extensions ? { extensions } : {}) },
      {
        next: (value) => void received.push(value as Received<T>),
        error: (error) => {
          if (Array.isArray(error)) received.push({ errors: error as Received['errors'] });
          resolve(error);
        },
        complete: () => resolve(undefined),
      },
    );
  });
  return {
    received,
    closed,
    done,
    async until(predicate, timeoutMs = 30_000, what = 'events') {
      const deadline = Date.now() + timeoutMs;
      while (!predicate(received)) {
        if (Date.now() > deadline)
          throw new Error(`timed out waiting for ${what}; received ${JSON.stringify(received).slice(0, 2000)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async close() {
      await client.dispose();
    },
  };
}
