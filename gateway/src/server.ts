import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloGateway, IntrospectAndCompose, type ServiceEndpointDefinition } from '@apollo/gateway';
import { Supergraph } from '@apollo/federation-internals';
import express, { type Express } from 'express';
import type { GraphQLSchema } from 'graphql';
import { createErrorFormatter } from '@hub/core/errors';
import { GATEWAY_PRINCIPAL } from '@hub/core/keys';
import { useErrorLogging } from '@hub/core/errorLogging';
import { serveMetrics, startMetricsServer, type MetricsServer } from '@hub/core/metricsEndpoint';
import { createViewerSigner, hasRole } from '@hub/core/viewer';
import { serverSpans, startTracing, tracingPlugin } from '@hub/core/tracing';
import { createApiKeyAuthenticator } from './apiKeys.js';
import { createAuthenticator } from './auth.js';
import { BoundedLruCache, RedisKeyValueCache } from './apqCache.js';
import { createEntityCache, type EntityCache } from './entityCache.js';
import { createResponseCache, serveGraphQL, type ResponseCache } from './responseCache.js';
import { createSharedRedis, type SharedRedis } from './redis.js';
import type { GatewayConfig, SubgraphEndpoint } from './config.js';
import type { GatewayContext } from './context.js';
import { HubDataSource } from './datasource.js';
import { createSubgraphFetcher, type SubgraphFetcher } from './fetcher.js';
import { checkSubgraphs, waitForSubgraphs, type ReadinessReport } from './health.js';
import { cors, requestContext, requestIdOf } from './http.js';
import { identifyRequests, identityOf } from './identify.js';
import { resolvedOperationOf } from './operation.js';
import { createInternalClient } from './internal.js';
import { createGatewayLogger, type Logger } from './logger.js';
import { createGatewayMetrics, type GatewayMetrics } from './metrics.js';
import { useIntrospectionPolicy } from './plugins/useIntrospectionPolicy.js';
import { useLandingPage } from './plugins/useLandingPage.js';
import { useObservability } from './plugins/useObservability.js';
import { loadSafelists, usePersistedOperations } from './plugins/usePersistedOperations.js';
import { createSubgraphResilience } from './resilience.js';
import { createCostModel, type CostModel } from './cost.js';
import { createRateLimiter } from './rateLimiter.js';
import { useDemandControl } from './plugins/useDemandControl.js';
import { useFieldSuggestions } from './plugins/useFieldSuggestions.js';
import { useInputValidation } from './plugins/useInputValidation.js';
import { useRateLimits } from './plugins/useRateLimits.js';
import { useRequestErrors } from './plugins/useRequestErrors.js';
import { SYNC_PATH, syncImportRoute } from './sync/route.js';
import { createLive } from './live/index.js';
import { uiRoutes } from './ui.js';

export const GRAPHQL_PATH = '/graphql';

export interface GatewayDependencies {
  logger?: Logger;
  metrics?: GatewayMetrics;
}

/** A gateway wired but not yet listening; `startGateway` starts it. */
export interface HubGateway {
  readonly config: GatewayConfig;
  readonly app: Express;
  readonly httpServer: Server;
  readonly apollo: ApolloServer<GatewayContext>;
  readonly gateway: ApolloGateway;
  readonly metrics: GatewayMetrics;
  readonly logger: Logger;
  /** The loaded supergraph's API schema, its hash and cost model (demand control, input checks, response cache). */
  readonly loaded: () => Loaded | undefined;
  readonly apqCache: BoundedLruCache | RedisKeyValueCache;
  /** `REDIS_URL`'s one connection (rate limits, APQ, entity cache); closed when the gateway stops. */
  readonly redis: SharedRedis | undefined;
  /** Undefined with `HUB_ENTITY_CACHE=false`; it serves once it follows the change events (startGateway). */
  readonly entityCache: EntityCache | undefined;
  /** On the entity cache's generations; undefined with either cache off. */
  readonly responseCache: ResponseCache | undefined;
  /** Where each subgraph is called: an explicit `SUBGRAPH_<NAME>_URL`, else the supergraph file's URL. */
  readonly subgraphs: readonly SubgraphEndpoint[];
  /** The pooled HTTP client of every subgraph call; closed when the gateway stops. */
  readonly fetcher: SubgraphFetcher;
  readiness(): Promise<ReadinessReport>;
}

interface Loaded {
  readonly apiSchema: GraphQLSchema;
  /** sha256 of the core supergraph SDL: the same graph has the same id on every replica. */
  readonly schemaId: string;
  readonly costModel: CostModel;
}

export interface RunningGateway {
  /** GraphQL endpoint, e.g. `http://localhost:4000/graphql`. */
  readonly url: string;
  readonly port: number;
  /** `/metrics`: its own listener when `METRICS_PORT` is set (always in production), else on `port`. */
  readonly metricsUrl: string;
  readonly hub: HubGateway;
  stop(): Promise<void>;
}

function readSupergraph(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`SUPERGRAPH_PATH ${path} cannot be read (run \`npm run compose\`): ${reason}`);
  }
}

/**
 * The subgraphs the gateway calls. From a supergraph file: its routing URLs, overridden only by an
 * explicitly set `SUBGRAPH_<NAME>_URL` (never by the default ports, which would send a supergraph
 * composed for another host to 127.0.0.1:400x). Without a file: the configured (or default) URLs.
 */
function resolveSubgraphs(config: GatewayConfig, supergraphSdl: string | undefined): SubgraphEndpoint[] {
  if (supergraphSdl === undefined) return config.subgraphs.map(({ name, url }) => ({ name, url }));
  return Supergraph.build(supergraphSdl)
    .subgraphsMetadata()
    .map(({ name, url }) => ({ name, url: config.subgraphUrlOverrides[name] ?? url }));
}

/** Builds the express app, the federation gateway and Apollo Server for `config`. Starts nothing. */
export function createGateway(config: GatewayConfig, deps: GatewayDependencies = {}): HubGateway {
  const logger = deps.logger ?? createGatewayLogger(config.logLevel);
  const metrics = deps.metrics ?? createGatewayMetrics();
  const development = config.nodeEnv === 'development';
  const signer = createViewerSigner({ issuer: GATEWAY_PRINCIPAL, privateKey: config.gatewayPrivateKey });
  const supergraphSdl = config.supergraphPath !== undefined ? readSupergraph(config.supergraphPath) : undefined;
  const subgraphs = resolveSubgraphs(config, supergraphSdl);
  const fetcher = createSubgraphFetcher();
  const resilience = createSubgraphResilience(config.resilience, { metrics, log: logger });
  const redis = config.redisUrl === undefined ? undefined : createSharedRedis(config.redisUrl, logger);
  let loaded: Loaded | undefined;
  const entityCache = config.entityCache.enabled
    ? createEntityCache({
        ...config.entityCache,
        redis,
        keyPrefix: config.redisPrefix,
        responseBytes: config.responseCache.maxBytes,
        schema: () => loaded?.apiSchema,
        metrics,
        log: logger,
      })
    : undefined;
  const responseCache =
    entityCache && config.responseCache.enabled
      ? createResponseCache({
          cache: entityCache,
          maxBodyBytes: config.responseCache.maxBodyBytes,
          schema: () => loaded,
          metrics,
        })
      : undefined;

  // `url` is the supergraph file's routing URL (or the introspected one); only an explicit variable wins.
  const buildService = ({ name, url }: ServiceEndpointDefinition) =>
    new HubDataSource({
      name,
      url: config.subgraphUrlOverrides[name] ?? url ?? '',
      signer,
      log: logger,
      metrics,
      fetcher,
      policy: resilience.forSubgraph(name),
      exposeDetails: development,
      deduplicate: config.deduplicateFetches,
      entityCache,
    });

  const gateway = new ApolloGateway({
    supergraphSdl:
      supergraphSdl !== undefined
        ? supergraphSdl
        : new IntrospectAndCompose({
            subgraphs: config.subgraphs.map(({ name, url }) => ({ name, url })),
            ...(config.supergraphPollMs > 0 ? { pollIntervalInMs: config.supergraphPollMs } : {}),
          }),
    buildService,
    logger: logger.child({ component: 'apollo-gateway' }),
    // Each fetch of a cached plan carries its parsed operation, so the data source learns a fetch's
    // kind (query or mutation: retries, deduplication) without parsing its text on every call.
    queryPlannerConfig: { exposeDocumentNodeInFetchNode: true },
  });
  let supergraphLoaded = false;
  gateway.onSchemaLoadOrUpdate(({ apiSchema, coreSupergraphSdl }) => {
    supergraphLoaded = true;
    loaded = {
      apiSchema,
      schemaId: createHash('sha256').update(coreSupergraphSdl).digest('base64url'),
      costModel: createCostModel(coreSupergraphSdl, config.costDefaultListSize),
    };
  });
  // Shared by the replicas with Redis: a query registered on one is known to all.
  const apqCache = redis
    ? new RedisKeyValueCache(redis.client, `${config.redisPrefix}:apq:`)
    : new BoundedLruCache(config.apqCacheSize);

  const app = express();
  app.disable('x-powered-by');
  // No ETag on every response: express hashes each body for it (a GraphQL POST is never revalidated;
  // the bundled pages' static files keep theirs, serve-static sets its own).
  app.set('etag', false);
  const httpServer = createServer(app);

  const apollo = new ApolloServer<GatewayContext>({
    gateway,
    logger: logger.child({ component: 'apollo-server' }),
    nodeEnv: config.nodeEnv,
    formatError: createErrorFormatter({ expose: development }),
    includeStacktraceInErrorResponses: development,
    // The introspection policy plugin decides per viewer; Apollo's switch is all-or-nothing.
    introspection: true,
    csrfPrevention: true,
    persistedQueries: { cache: apqCache },
    stopOnTerminationSignals: false,
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer }),
      // Apollo Sandbox (from Apollo's CDN); where it cannot load, its page links the bundled /graphiql.
      useLandingPage({ embed: true, includeCookies: false }),
      // Introspection, and with it the Sandbox's schema, is for admins; HUB_INTROSPECTION=false turns it off for all.
      useIntrospectionPolicy({ allow: (viewer) => config.introspection && hasRole(viewer, 'admin') }),
      useObservability({ metrics }),
      tracingPlugin<GatewayContext>(),
      // Schema names in "Did you mean" are for the viewers who may introspect the schema.
      useFieldSuggestions({ allow: (viewer) => config.introspection && hasRole(viewer, 'admin') }),
      useErrorLogging<GatewayContext>({ log: logger }),
    ],
  });

  const readiness = async (): Promise<ReadinessReport> => {
    const health = await checkSubgraphs(subgraphs);
    return { ready: supergraphLoaded && health.every((s) => s.ok), supergraphLoaded, subgraphs: health };
  };

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    const report = await readiness();
    res.status(report.ready ? 200 : 503).json(report);
  });
  // Development keeps /metrics on the main port unless METRICS_PORT is set; production never does.
  if (config.metrics.port === undefined) {
    app.get('/metrics', (req, res) => serveMetrics(req, res, metrics.registry, config.metrics.token));
  }
  app.get('/', (_req, res) => {
    res.redirect(GRAPHQL_PATH);
  });
  // The bundled pages (console/): /graphiql, /console and their assets, under a strict CSP (src/ui.ts).
  app.use(uiRoutes({ ...config.ui, claims: config.jwt.claims, log: logger }));

  return {
    config,
    app,
    httpServer,
    apollo,
    gateway,
    metrics,
    logger,
    loaded: () => loaded,
    apqCache,
    redis,
    entityCache,
    responseCache,
    subgraphs,
    fetcher,
    readiness,
  };
}

function displayHost(host: string): string {
  return ['', '0.0.0.0', '::', '127.0.0.1', '::1'].includes(host) ? 'localhost' : host;
}

/**
 * Composes (from the running subgraphs or from `SUPERGRAPH_PATH`), then listens. Every GraphQL
 * request needs a valid bearer token or partner API key; the Sandbox landing page (GET,
 * `Accept: text/html`) does not.
 */
export async function startGateway(config: GatewayConfig, deps: GatewayDependencies = {}): Promise<RunningGateway> {
  const tracing = startTracing(config.tracing);
  const hub = createGateway(config, deps);
  const { app, apollo, httpServer, logger, metrics, loaded } = hub;

  if (config.supergraphPath === undefined && config.subgraphWaitMs > 0) {
    const unhealthy = await waitForSubgraphs(config.subgraphs, config.subgraphWaitMs);
    if (unhealthy.length > 0) logger.warn({ unhealthy }, 'composing although some subgraphs are not healthy');
  }
  const customersUrl = hub.subgraphs.find((subgraph) => subgraph.name === 'customers')?.url;
  if (customersUrl === undefined) throw new Error('the gateway needs the customers subgraph (API keys)');
  const customers = createInternalClient({
    url: customersUrl,
    audience: 'customers',
    signer: createViewerSigner({ issuer: GATEWAY_PRINCIPAL, privateKey: config.gatewayPrivateKey }),
    timeoutMs: config.resilience.timeoutMs,
  });
  // Read before Apollo starts, so a malformed manifest or a missing subgraph stops nothing half-started.
  const safelists = loadSafelists(config.persistedOperationsDir);
  const identifyOptions = {
    bearer: createAuthenticator(config.jwt),
    apiKey: createApiKeyAuthenticator({ customers }),
  };
  const limiter = createRateLimiter({
    redis: hub.redis,
    keyPrefix: config.rateLimitPrefix,
    windowSeconds: config.limits.windowSeconds,
    log: logger,
  });
  const rateLimits = useRateLimits({ limiter, limits: config.limits });
  // Subscriptions (src/live/): registered before the first schema load, served once Apollo runs.
  const live = createLive({
    config,
    gateway: hub.gateway,
    apollo,
    subgraphs: hub.subgraphs,
    signer: createViewerSigner({ issuer: GATEWAY_PRINCIPAL, privateKey: config.gatewayPrivateKey }),
    log: logger,
    metrics,
    loaded,
  });
  await apollo.start();
  live.attach(
    httpServer,
    GRAPHQL_PATH,
    // Same checks; API keys cached no longer than the re-check interval, so revocation is seen in time.
    {
      ...identifyOptions,
      apiKey: createApiKeyAuthenticator({ customers, ttlSeconds: Math.ceil(config.live.credentialCheckMs / 1000) }),
    },
    safelists,
  );
  const events = live.events();
  if (hub.entityCache && events) hub.entityCache.follow(events);

  app.use(
    GRAPHQL_PATH,
    requestContext(metrics),
    cors(),
    express.json({ limit: '1mb' }),
    // One trace per request. A client's traceparent is honoured as its parent (the usual practice:
    // it only links our spans into the caller's trace); the subgraphs accept only the gateway's.
    serverSpans({ trustParent: () => true, requestId: (_req, res) => requestIdOf(res) }),
    identifyRequests(identifyOptions),
    usePersistedOperations({ safelists }),
    // Limits, then input checks, before Apollo Server parses, validates or plans anything.
    rateLimits.requests,
    // Subscriptions over multipart HTTP (src/live/multipart.ts); everything else goes on.
    live.multipart(),
    useDemandControl({ schema: loaded, apq: hub.apqCache, limits: config.limits }),
    useInputValidation({ schema: () => loaded()?.apiSchema }),
    rateLimits.cost,
    serveGraphQL({
      apollo,
      cache: hub.responseCache,
      // Identity and safelist were decided by the middlewares above; a refusal is thrown here so that
      // Apollo Server answers it with its code and HTTP status and the metrics count it.
      context: async (_req, res): Promise<GatewayContext> => {
        const requestId = requestIdOf(res);
        const identity = identityOf(res);
        if (!identity.ok) {
          logger.info({ requestId, reason: identity.reason }, 'request refused');
          throw identity.error;
        }
        const { viewer } = identity;
        const log = logger.child({ requestId, userId: viewer.userId, tenantId: viewer.tenantId });
        return { viewer, requestId, log };
      },
      // The operation's log line, as useObservability writes it for the ones Apollo runs.
      onHit: (_req, res) => {
        const identity = identityOf(res);
        const resolved = resolvedOperationOf(res);
        logger.info(
          {
            requestId: requestIdOf(res),
            ...(identity.ok ? { userId: identity.viewer.userId, tenantId: identity.viewer.tenantId } : {}),
            operationName: resolved?.request.operationName ?? resolved?.operation.name?.value,
            operationType: resolved?.operation.operation,
            cache: 'hit',
          },
          'graphql operation',
        );
      },
    }),
    useRequestErrors({ log: logger }),
  );
  // Bulk import (NDJSON): the same identity and request budget as GraphQL; it executes sync<Domain>
  // through Apollo Server itself (src/sync/route.ts).
  app.use(
    SYNC_PATH,
    requestContext(metrics, 'sync'),
    cors(),
    // One trace per import request, as for GraphQL: the sync<Domain> executions and their subgraph
    // fetches are its children.
    serverSpans({ trustParent: () => true, requestId: (_req, res) => requestIdOf(res) }),
    identifyRequests(identifyOptions),
    rateLimits.requests,
    syncImportRoute({
      apollo,
      schema: () => loaded()?.apiSchema,
      logger,
      limiter,
      limits: config.limits,
      ...config.syncImport,
    }),
    useRequestErrors({ log: logger }),
  );

  try {
    await new Promise<void>((resolve, reject) => {
      httpServer.once('error', reject);
      httpServer.listen(config.port, config.host, () => {
        httpServer.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    await live.close();
    await apollo.stop();
    await limiter.close();
    hub.redis?.close();
    throw error;
  }
  const { port } = httpServer.address() as AddressInfo;
  const url = `http://${displayHost(config.host)}:${port}${GRAPHQL_PATH}`;
  let metricsServer: MetricsServer | undefined;
  if (config.metrics.port !== undefined) {
    try {
      metricsServer = await startMetricsServer(metrics.registry, { ...config.metrics, port: config.metrics.port });
    } catch (error) {
      await live.close();
      await apollo.stop();
      throw error;
    }
  }
  return {
    url,
    port,
    metricsUrl: metricsServer?.url ?? `http://${displayHost(config.host)}:${port}/metrics`,
    hub,
    // ApolloServer.stop drains the HTTP server (drain plugin) and stops the gateway's polling.
    stop: async () => {
      await metricsServer?.stop();
      await live.close();
      await apollo.stop();
      await limiter.close();
      hub.entityCache?.close();
      hub.redis?.close();
      await hub.fetcher.close();
      await tracing.shutdown();
    },
  };
}
