import {
  BrokenCircuitError,
  CircuitState,
  ConsecutiveBreaker,
  ExponentialBackoff,
  TaskCancelledError,
  TimeoutStrategy,
  circuitBreaker,
  handleWhen,
  retry,
  timeout,
  wrap,
  type CircuitBreakerPolicy,
  type IPolicy,
} from 'cockatiel';
import type { SubgraphResilienceConfig } from './config.js';
import type { Logger } from './logger.js';
import type { GatewayMetrics } from './metrics.js';

/** Retry backoff: exponential with decorrelated jitter (cockatiel's default generator), capped. */
const RETRY_INITIAL_DELAY_MS = 50;
const RETRY_MAX_DELAY_MS = 1000;

/** Statuses that mean "the subgraph (or a proxy before it) is unavailable right now". */
const UNAVAILABLE_STATUSES = new Set([502, 503, 504]);

function responseStatus(error: Error): number | undefined {
  const extensions = (error as { extensions?: { response?: { status?: unknown } } }).extensions;
  const status = extensions?.response?.status;
  return typeof status === 'number' ? status : undefined;
}

/** The attempt ran past the timeout (and was aborted). */
export function isTimeout(error: Error): boolean {
  return error instanceof TaskCancelledError || error.name === 'AbortError' || error.name === 'TimeoutError';
}

/**
 * A failure that says the subgraph is unreachable or overloaded, not that the request was wrong:
 * transport errors (undici reports refused/reset connections as `TypeError`), timeouts, 502-504.
 * These count towards the circuit breaker. A GraphQL error, a 4xx or a 500 does not: the subgraph
 * answered.
 */
export function isUnavailable(error: Error): boolean {
  if (error instanceof BrokenCircuitError) return false;
  const status = responseStatus(error);
  if (status !== undefined) return UNAVAILABLE_STATUSES.has(status);
  return isTimeout(error) || error instanceof TypeError;
}

/**
 * Worth another attempt: an unavailable subgraph, except after a timeout — a subgraph that hangs
 * would most likely hang again, and retrying would multiply the wait past the fetch timeout.
 */
export function isRetryable(error: Error): boolean {
  return isUnavailable(error) && !isTimeout(error);
}

export type OperationKind = 'query' | 'mutation' | 'subscription' | undefined;

export interface SubgraphPolicy {
  /**
   * Runs one subgraph call under the subgraph's timeout and circuit breaker; queries are retried
   * (`attempt` is called again, so it must build its request afresh), anything else is tried once.
   * An open circuit throws `BrokenCircuitError` at once.
   */
  run<T>(kind: OperationKind, attempt: (signal: AbortSignal) => Promise<T>): Promise<T>;
  readonly breaker: CircuitBreakerPolicy;
}

export interface SubgraphResilience {
  /** The policy of one subgraph; the same instance for every data source built for that name. */
  forSubgraph(name: string): SubgraphPolicy;
}

/**
 * Per-subgraph timeout, retries and circuit breaker, with cockatiel (well-kept, typed, tested)
 * rather than hand-written loops. Memoized per name: `@apollo/gateway` builds new data sources on
 * every supergraph update, and a breaker must outlive them to remember a subgraph's failures.
 */
export function createSubgraphResilience(
  config: SubgraphResilienceConfig,
  observe: { metrics?: GatewayMetrics | undefined; log?: Logger | undefined } = {},
): SubgraphResilience {
  const { metrics, log } = observe;
  const policies = new Map<string, SubgraphPolicy>();
  const build = (name: string): SubgraphPolicy => {
    // Aggressive: the attempt is given up at the deadline even if something under it ignores the
    // signal. Not abortOnReturn: aborting the signal of a fetch that already finished makes undici
    // build an AbortError (a stack trace) per fetch, which cost ~350 µs CPU per fetch when measured.
    const attemptTimeout = timeout(config.timeoutMs, { strategy: TimeoutStrategy.Aggressive, abortOnReturn: false });
    const breaker = circuitBreaker(handleWhen(isUnavailable), {
      halfOpenAfter: config.halfOpenAfterMs,
      breaker: new ConsecutiveBreaker(config.breakerFailures),
    });
    const retries = retry(handleWhen(isRetryable), {
      maxAttempts: config.retries,
      backoff: new ExponentialBackoff({ initialDelay: RETRY_INITIAL_DELAY_MS, maxDelay: RETRY_MAX_DELAY_MS }),
    });
    metrics?.subgraphCircuitState.set({ subgraph: name }, CircuitState.Closed);
    breaker.onStateChange((state) => metrics?.subgraphCircuitState.set({ subgraph: name }, state));
    breaker.onBreak((reason) => {
      metrics?.subgraphCircuitOpened.inc({ subgraph: name });
      const cause = 'error' in reason ? reason.error.message : 'isolated';
      log?.warn({ subgraph: name, reason: cause }, 'subgraph circuit open: failing fast until a probe succeeds');
    });
    breaker.onReset(() => log?.info({ subgraph: name }, 'subgraph circuit closed'));
    retries.onRetry(() => metrics?.subgraphRetries.inc({ subgraph: name }));
    const once: IPolicy = wrap(breaker, attemptTimeout);
    const retried: IPolicy = wrap(retries, breaker, attemptTimeout);
    return {
      breaker,
      run: (kind, attempt) => (kind === 'query' ? retried : once).execute(({ signal }) => attempt(signal)),
    };
  };
  return {
    forSubgraph(name) {
      let policy = policies.get(name);
      if (!policy) {
        policy = build(name);
        policies.set(name, policy);
      }
      return policy;
    },
  };
}
