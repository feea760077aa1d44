import { AsyncLocalStorage } from 'node:async_hooks';
import type { Fetcher } from '@apollo/utils.fetcher';
import { Agent, fetch } from 'undici';
import { activeSpan } from '@hub/core/tracing';

export interface SubgraphFetcherOptions {
  /**
   * Sockets kept open per subgraph origin.
   * @default 64
   */
  readonly connections?: number;
  /**
   * How long an idle keep-alive socket stays open.
   * @default 30000
   */
  readonly keepAliveTimeoutMs?: number;
}

export interface SubgraphFetcher {
  /** Passed to `RemoteGraphQLDataSource` as its `fetcher`. */
  readonly fetch: Fetcher;
  /** Runs `fn` so that every fetch it makes is aborted by `signal` (one resilience attempt). */
  withSignal<T>(signal: AbortSignal, fn: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/**
 * One pooled keep-alive `undici` agent for every subgraph call of a gateway, instead of
 * `@apollo/gateway`'s default make-fetch-happen (38 % of the gateway's CPU when profiled: it builds
 * an HTTP cache policy and formats an `Error.stack` per fetch).
 *
 * `RemoteGraphQLDataSource` calls `fetcher(url, init)` from a private method without an abort
 * signal, so the signal of the current attempt (timeout / cancellation) is handed over through the
 * async context rather than through its arguments.
 */
export function createSubgraphFetcher(options: SubgraphFetcherOptions = {}): SubgraphFetcher {
  const agent = new Agent({
    connections: options.connections ?? 64,
    keepAliveTimeout: options.keepAliveTimeoutMs ?? 30_000,
  });
  const attempt = new AsyncLocalStorage<AbortSignal>();
  const subgraphFetch = (async (url, init) => {
    const signal = attempt.getStore();
    const response = await fetch(url, { ...init, dispatcher: agent, ...(signal ? { signal } : {}) });
    // The subgraph fetch's span (datasource.ts), when tracing is on and the request sampled.
    activeSpan()?.setAttribute('http.response.status_code', response.status);
    return response;
  }) as Fetcher;
  return {
    fetch: subgraphFetch,
    withSignal: (signal, fn) => attempt.run(signal, fn),
    close: () => agent.close(),
  };
}
