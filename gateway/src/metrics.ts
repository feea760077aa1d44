import { Counter, Gauge, Histogram } from 'prom-client';
import { createMetrics, type ProcessMetrics } from '@hub/core/metrics';

/**
 * The gateway's Prometheus metrics: the process metrics every hub process exposes (HTTP latency by
 * route and status, GraphQL errors by code) plus the latency of each query-plan fetch by subgraph.
 * One registry per gateway instance, so several gateways in one process (tests) never collide.
 */
export interface GatewayMetrics extends ProcessMetrics {
  readonly subgraphFetchDuration: Histogram<'subgraph' | 'outcome'>;
  /** Circuit breaker state per subgraph: 0 closed, 1 open, 2 half-open (cockatiel's `CircuitState`). */
  readonly subgraphCircuitState: Gauge<'subgraph'>;
  readonly subgraphCircuitOpened: Counter<'subgraph'>;
  readonly subgraphRetries: Counter<'subgraph'>;
  /** Subscriptions (src/live/): payload resolutions asked of the graph (shared ones count once). */
  readonly liveResolutions: Counter<'field'>;
  /** Subscription payloads shaped (live/shared.ts SharedPayloads: once per shared resolution and document). */
  readonly livePayloads: Counter<'field'>;
  readonly liveDelivered: Counter<'field'>;
  readonly liveSubscriptions: Gauge<'field'>;
  readonly liveQueries: Histogram;
  readonly subgraphDeduplicated: Counter<'subgraph'>;
  /** Entity cache (entityCache.ts): representations answered from it, fetched, or passed by while it is not serving. */
  readonly entityCacheLookups: Counter<'subgraph' | 'outcome'>;
  /** Change events applied to the entity cache, by what they drop (one customer, or a whole tenant). */
  readonly entityCacheInvalidations: Counter<'scope'>;
  /** Response cache (responseCache.ts): cacheable queries answered from it, run, or run while it is not serving. */
  readonly responseCacheLookups: Counter<'outcome'>;
  /** Commit of the event -> its payload handed to the subscriber's socket. */
  readonly liveDeliveryLag: Histogram<'field'>;
}

export function createGatewayMetrics(): GatewayMetrics {
  const metrics = createMetrics('gateway');
  return {
    ...metrics,
    subgraphFetchDuration: new Histogram({
      name: 'hub_gateway_subgraph_fetch_duration_seconds',
      help: 'Latency of query-plan fetches from the gateway to each subgraph, by outcome',
      labelNames: ['subgraph', 'outcome'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [metrics.registry],
    }),
    subgraphCircuitState: new Gauge({
      name: 'hub_subgraph_circuit_state',
      help: 'Circuit breaker state per subgraph: 0 closed, 1 open (failing fast), 2 half-open (probing)',
      labelNames: ['subgraph'] as const,
      registers: [metrics.registry],
    }),
    subgraphCircuitOpened: new Counter({
      name: 'hub_subgraph_circuit_opened_total',
      help: 'Times a subgraph circuit opened after consecutive failures',
      labelNames: ['subgraph'] as const,
      registers: [metrics.registry],
    }),
    subgraphRetries: new Counter({
      name: 'hub_subgraph_retries_total',
      help: 'Retried query fetches per subgraph (transport failures and 502-504 only)',
      labelNames: ['subgraph'] as const,
      registers: [metrics.registry],
    }),
    liveResolutions: new Counter({
      name: 'hub_live_resolutions_total',
      help: 'Subscription payloads resolved through the graph (one per event, payload shape and scope class)',
      labelNames: ['field'] as const,
      registers: [metrics.registry],
    }),
    livePayloads: new Counter({
      name: 'hub_live_payloads_total',
      help: 'Subscription payloads shaped (one per shared resolution, subscription document and event fields; sent to each subscriber of the group)',
      labelNames: ['field'] as const,
      registers: [metrics.registry],
    }),
    liveDelivered: new Counter({
      name: 'hub_live_delivered_total',
      help: 'Subscription events delivered to subscribers',
      labelNames: ['field'] as const,
      registers: [metrics.registry],
    }),
    subgraphDeduplicated: new Counter({
      name: 'hub_subgraph_fetches_deduplicated_total',
      help: 'Subgraph fetches answered by an identical fetch of the same viewer already in flight',
      labelNames: ['subgraph'] as const,
      registers: [metrics.registry],
    }),
    entityCacheLookups: new Counter({
      name: 'hub_gateway_entity_cache_lookups_total',
      help: 'Customer representations of _entities fetches: hit (answered from the entity cache), miss (fetched), bypass (cache not serving)',
      labelNames: ['subgraph', 'outcome'] as const,
      registers: [metrics.registry],
    }),
    entityCacheInvalidations: new Counter({
      name: 'hub_gateway_entity_cache_invalidations_total',
      help: 'Change events that invalidated entity cache entries, by scope (customer, or tenant for events naming none)',
      labelNames: ['scope'] as const,
      registers: [metrics.registry],
    }),
    responseCacheLookups: new Counter({
      name: 'hub_gateway_response_cache_lookups_total',
      help: 'Cacheable queries: hit (answered from the response cache), miss (run and stored), bypass (cache not serving)',
      labelNames: ['outcome'] as const,
      registers: [metrics.registry],
    }),
    liveQueries: new Histogram({
      name: 'hub_live_resolution_batch_size',
      help: 'Customers resolved per query of live payload resolution (its count: the queries sent)',
      buckets: [1, 2, 4, 8, 16, 32, 64],
      registers: [metrics.registry],
    }),
    liveSubscriptions: new Gauge({
      name: 'hub_live_subscriptions',
      help: 'Open subscriptions',
      labelNames: ['field'] as const,
      registers: [metrics.registry],
    }),
    liveDeliveryLag: new Histogram({
      name: 'hub_live_delivery_lag_seconds',
      help: 'From the commit of an event to its delivery to a subscriber',
      labelNames: ['field'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [metrics.registry],
    }),
  };
}
