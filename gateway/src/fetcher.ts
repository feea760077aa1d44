import { AsyncLocalStorage } from 'node:async_hooks';
import { STATUS_CODES, type IncomingHttpHeaders } from 'node:http';
import type { Fetcher, FetcherHeaders, FetcherResponse } from '@apollo/utils.fetcher';
import { Agent, request } from 'undici';
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

/** A response's headers as `RemoteGraphQLDataSource` reads them (`get`, iteration), names in lower case. */
class ResponseHeaders implements FetcherHeaders {
  private readonly map = new Map<string, string>();
  constructor(raw: IncomingHttpHeaders) {
    for (const [name, value] of Object.entries(raw)) {
      if (value !== undefined) this.map.set(name, Array.isArray(value) ? value.join(', ') : value);
    }
  }
  append(name: string, value: string): void {
    const key = name.toLowerCase();
    const before = this.map.get(key);
    this.map.set(key, before === undefined ? value : `${before}, ${value}`);
  }
  delete(name: string): void {
    this.map.delete(name.toLowerCase());
  }
  get(name: string): string | null {
    return this.map.get(name.toLowerCase()) ?? null;
  }
  has(name: string): boolean {
    return this.map.has(name.toLowerCase());
  }
  set(name: string, value: string): void {
    this.map.set(name.toLowerCase(), value);
  }
  entries(): IterableIterator<[string, string]> {
    return this.map.entries();
  }
  keys(): IterableIterator<string> {
    return this.map.keys();
  }
  values(): IterableIterator<string> {
    return this.map.values();
  }
  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.map.entries();
  }
}

/** A subgraph's answer, its body already read (a subgraph's JSON is parsed whole anyway). */
class SubgraphResponse implements FetcherResponse {
  bodyUsed = false;
  readonly redirected = false;
  readonly ok: boolean;
  readonly statusText: string;
  constructor(
    readonly url: string,
    readonly status: number,
    readonly headers: FetcherHeaders,
    private readonly body: string,
  ) {
    this.ok = status >= 200 && status < 300;
    // Node's servers (ours) send the standard reason phrase; undici's request API does not report it.
    this.statusText = STATUS_CODES[status] ?? '';
  }
  async text(): Promise<string> {
    this.bodyUsed = true;
    return this.body;
  }
  async json(): Promise<unknown> {
    this.bodyUsed = true;
    return JSON.parse(this.body) as unknown;
  }
  async arrayBuffer(): Promise<ArrayBuffer> {
    this.bodyUsed = true;
    const bytes = Buffer.from(this.body);
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  }
  clone(): FetcherResponse {
    return new SubgraphResponse(this.url, this.status, this.headers, this.body);
  }
}

const isAbort = (error: unknown): boolean =>
  error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError');

/**
 * One pooled keep-alive `undici` agent for every subgraph call of a gateway, through undici's
 * `request` API rather than `@apollo/gateway`'s default make-fetch-happen (38 % of the gateway's CPU
 * when profiled: an HTTP cache policy and an `Error.stack` per fetch) or undici's WHATWG `fetch`
 * (a third of the gateway's CPU on the distinct mix when profiled, issue 10: a `Request` clone,
 * web streams teed and transferred, per fetch). The response is read whole and handed to
 * `RemoteGraphQLDataSource` as the small `FetcherResponse` it reads (`ok`, `status`, headers, `json`).
 *
 * A transport failure (refused, reset) is thrown as a `TypeError`, as `fetch` does, so that
 * resilience.ts counts it as the subgraph being unavailable.
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
  const subgraphFetch: Fetcher = async (url, init = {}) => {
    const signal = attempt.getStore();
    let status: number;
    let headers: IncomingHttpHeaders;
    let body: string;
    try {
      const response = await request(url, {
        method: (init.method ?? 'GET') as 'POST',
        ...(init.headers ? { headers: init.headers } : {}),
        ...(init.body !== undefined ? { body: init.body } : {}),
        dispatcher: agent,
        ...(signal ? { signal } : {}),
      });
      status = response.statusCode;
      headers = response.headers;
      body = await response.body.text();
    } catch (error) {
      if (isAbort(error) || signal?.aborted) throw error;
      const reason = error instanceof Error ? error.message : String(error);
      throw new TypeError(`subgraph request failed: ${reason}`, { cause: error });
    }
    // The subgraph fetch's span (datasource.ts), when tracing is on and the request sampled.
    activeSpan()?.setAttribute('http.response.status_code', status);
    return new SubgraphResponse(url, status, new ResponseHeaders(headers), body);
  };
  return {
    fetch: subgraphFetch,
    withSignal: (signal, fn) => attempt.run(signal, fn),
    close: () => agent.close(),
  };
}
