/**
 * Live sync over GraphQL subscriptions (issue 9), wired into the gateway by two seams of
 * server.ts: `createLive` before Apollo Server starts (it must see the first schema load), and
 * `attach` once it has. See the README, "Live updates", for the design and its guarantees.
 */
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { ApolloServer } from '@apollo/server';
import type { ApolloGateway } from '@apollo/gateway';
import { DOMAINS, type Domain } from '@hub/core/domains';
import { createNatsStreamPager, type NatsStreamPager } from '@hub/core/events/natsTail';
import { createRemoteStreamReader, STREAM_TENANT } from '@hub/core/events/remote';
import { systemViewer, type ViewerSigner } from '@hub/core/viewer';
import type { GatewayConfig, SubgraphEndpoint } from '../config.js';
import type { GatewayContext } from '../context.js';
import type { IdentifyOptions } from '../identify.js';
import type { Logger } from '../logger.js';
import type { GatewayMetrics } from '../metrics.js';
import type { GraphQLSchema } from 'graphql';
import type { CostModel } from '../cost.js';
import { limitsFor } from '../limits.js';
import { demandRefusal } from '../plugins/useDemandControl.js';
import type { Safelists } from '../plugins/usePersistedOperations.js';
import type { RequestHandler } from 'express';
import { createLiveEngine, type LiveEngine, type LiveExecutor } from './engine.js';
import { liveMultipart } from './multipart.js';
import type { PrepareOptions } from './prepare.js';
import { buildLiveSchema, type LiveSchema } from './schema.js';
import { createEventSource, embeddedPager, natsPager } from './source.js';
import { attachLiveTransport } from './transport.js';

export interface LiveOptions {
  readonly config: GatewayConfig;
  readonly gateway: ApolloGateway;
  readonly apollo: ApolloServer<GatewayContext>;
  readonly subgraphs: readonly SubgraphEndpoint[];
  readonly signer: ViewerSigner;
  readonly log: Logger;
  readonly metrics: GatewayMetrics;
  /** The loaded supergraph's API schema and cost model (demand control). */
  readonly loaded: () => { readonly apiSchema: GraphQLSchema; readonly costModel: CostModel } | undefined;
}

export function createLive(options: LiveOptions) {
  const log = options.log.child({ component: 'live' });
  let schema: LiveSchema | undefined;
  options.gateway.onSchemaLoadOrUpdate(({ coreSupergraphSdl }) => {
    try {
      schema = buildLiveSchema(coreSupergraphSdl);
    } catch (error) {
      log.error({ err: error }, 'live: the subscription schema does not extend the new supergraph');
    }
  });

  const execute: LiveExecutor = async (query, variables, viewer) => {
    const requestId = randomUUID();
    const response = await options.apollo.executeOperation(
      { query, variables, operationName: 'HubLivePayload' },
      {
        contextValue: {
          viewer: { ...viewer, requestId },
          requestId,
          log: log.child({ requestId, userId: viewer.userId, tenantId: viewer.tenantId }),
        },
      },
    );
    const body = response.body.kind === 'single' ? response.body.singleResult : undefined;
    return { data: (body?.data as Record<string, unknown> | null | undefined) ?? null, errors: body?.errors ?? [] };
  };

  const urls = Object.fromEntries(
    DOMAINS.map((d) => [d, options.subgraphs.find((s) => s.name === d)?.url ?? '']),
  ) as Record<Domain, string>;
  const reader = createRemoteStreamReader({
    self: 'gateway',
    urls,
    signer: options.signer,
    principal: (requestId) => systemViewer(requestId, STREAM_TENANT),
  });
  let source: ReturnType<typeof createEventSource> | undefined;
  let nats: Promise<NatsStreamPager> | undefined;
  let transport: ReturnType<typeof attachLiveTransport> | undefined;
  let engine: LiveEngine | undefined;
  let identifyLive: IdentifyOptions | undefined;
  let safelistsLive: Safelists = new Map();
  const demand: PrepareOptions['demand'] = (viewer, query, variables) => {
    const loaded = options.loaded();
    return loaded ? demandRefusal(loaded, query, variables, limitsFor(viewer, options.config.limits)) : undefined;
  };

  return {
    schema: () => schema,
    /** The tails of every domain's stream (after `attach`); the entity cache follows them too. */
    events: () => source,
    /** Starts tailing the streams and serves graphql-ws on `path` of `httpServer`. */
    attach(httpServer: Server, path: string, identify: IdentifyOptions, safelists: Safelists) {
      // Only the streams of subgraphs this gateway routes to (a partial graph in tests has fewer).
      const { natsUrl, natsPrefix } = options.config.live;
      // Connected by the first read (a gateway nobody subscribes to holds no connection); a failed
      // connect is tried again by the tails' next read.
      const connectNats = (url: string) => () =>
        (nats ??= createNatsStreamPager({ servers: url, prefix: natsPrefix, name: 'gateway-live' }).catch((error) => {
          nats = undefined;
          throw error;
        }));
      source = createEventSource({
        pager: natsUrl ? natsPager(connectNats(natsUrl)) : embeddedPager(reader),
        log,
        domains: DOMAINS.filter((d) => urls[d] !== ''),
      });
      identifyLive = identify;
      safelistsLive = safelists;
      engine = createLiveEngine({
        source,
        execute,
        schema: () => schema,
        log,
        bufferLimit: options.config.live.bufferLimit,
        metrics: options.metrics,
      });
      transport = attachLiveTransport({
        httpServer,
        path,
        identify,
        engine,
        schema: () => schema,
        safelists,
        config: options.config.live,
        log,
        demand,
      });
    },
    /** Express middleware of the multipart HTTP protocol (after identify, safelist and rate limit). */
    multipart(): RequestHandler {
      return liveMultipart({
        engine: () => engine,
        prepare: {
          schema: () => schema,
          get safelists() {
            return safelistsLive;
          },
          demand,
        },
        get identify(): IdentifyOptions {
          if (!identifyLive) throw new Error('live.attach() first');
          return identifyLive;
        },
        config: options.config.live,
        log,
      });
    },
    async close() {
      await transport?.close();
      await source?.close();
      await (await nats?.catch(() => undefined))?.close();
    },
  };
}
