/**
 * graphql-ws (`graphql-transport-ws`) on the gateway's own port and path. Credentials come in
 * `connection_init` — `{ "authorization": "Bearer <JWT>" }` or `{ "x-api-key": "hub_…" }` — and
 * are checked by the same code as HTTP requests (identify.ts: auth.ts, apiKeys.ts, scope.ts).
 *
 * Close codes (the protocol's): 4401 Unauthorized for missing, bad, expired or revoked
 * credentials (also later: at a token's `exp`, or at the next credential check after a key is
 * revoked), 4403 Forbidden for both credentials at once, 4500 when the credentials cannot be
 * checked (customers subgraph down). Keep-alive: ws pings every `keepAliveMs`.
 *
 * A partner subscribes only with an operation of its app's manifest, named by
 * `extensions.persistedQuery.sha256Hash`: the manifest's body runs, whatever `query` says.
 */
import type { Server } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { ExecutionArgs, GraphQLError } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import { ErrorCode, hubError } from '@hub/core/errors';
import type { Viewer } from '@hub/core/viewer';
import { identifyCredentials, type IdentifyOptions } from '../identify.js';
import type { Logger } from '../logger.js';
import type { LiveConfig } from '../config.js';
import type { LiveEngine } from './engine.js';
import type { PayloadPlan } from './payload.js';
import { prepareSubscription, watchCredentials, type Credentials, type PrepareOptions } from './prepare.js';

export const CLOSE_UNAUTHORIZED = 4401;
export const CLOSE_FORBIDDEN = 4403;
export const CLOSE_INTERNAL = 4500;

interface Session {
  viewer: Viewer;
  stop: () => void;
}

export function credentialsOf(params: Readonly<Record<string, unknown>> | undefined): Credentials {
  const text = (...names: string[]) => {
    for (const name of names) if (typeof params?.[name] === 'string') return params[name] as string;
    return undefined;
  };
  return { authorization: text('authorization', 'Authorization'), apiKey: text('x-api-key', 'apiKey') };
}

function closeCodeOf(error: GraphQLError): number {
  const code = error.extensions['code'];
  if (code === ErrorCode.Unauthenticated) return CLOSE_UNAUTHORIZED;
  if (code === ErrorCode.BadUserInput || code === ErrorCode.Forbidden) return CLOSE_FORBIDDEN;
  return CLOSE_INTERNAL;
}

export interface LiveTransportOptions extends PrepareOptions {
  readonly httpServer: Server;
  readonly path: string;
  readonly identify: IdentifyOptions;
  readonly engine: LiveEngine;
  readonly config: LiveConfig;
  readonly log: Logger;
}

export function attachLiveTransport(options: LiveTransportOptions): { close(): Promise<void> } {
  const { log, config } = options;
  const wsServer = new WebSocketServer({ server: options.httpServer, path: options.path });
  const sessions = new WeakMap<object, Session>();
  const check = (credentials: Credentials) => identifyCredentials(credentials, randomUUID(), options.identify);

  const disposable = useServer<Record<string, unknown>>(
    {
      connectionInitWaitTimeout: 10_000,
      onConnect: async (ctx) => {
        const credentials = credentialsOf(ctx.connectionParams);
        const identity = await check(credentials);
        if (!identity.ok) {
          log.info({ reason: identity.reason }, 'live: connection refused');
          ctx.extra.socket.close(closeCodeOf(identity.error), identity.error.message.slice(0, 120));
          return false;
        }
        const session: Session = { viewer: identity.viewer, stop: () => undefined };
        session.stop = watchCredentials({
          credentials,
          check,
          intervalMs: config.credentialCheckMs,
          log,
          onViewer: (viewer) => (session.viewer = viewer),
          onEnd: (reason) => {
            log.info({ userId: session.viewer.userId, reason }, 'live: connection ended');
            ctx.extra.socket.close(CLOSE_UNAUTHORIZED, reason);
          },
        });
        sessions.set(ctx, session);
        return true;
      },
      onClose: (ctx) => sessions.get(ctx)?.stop(),
      onSubscribe: (ctx, _id, payload): ExecutionArgs | readonly GraphQLError[] => {
        const session = sessions.get(ctx);
        if (!session) return [hubError(ErrorCode.Unauthenticated, 'Not connected')];
        const prepared = prepareSubscription(options, session.viewer, payload);
        if (!('plan' in prepared)) return prepared;
        return {
          schema: prepared.live.schema,
          document: prepared.plan.document,
          variableValues: payload.variables ?? {},
          contextValue: { plan: prepared.plan, session },
        };
      },
      subscribe: (args) => {
        const { plan, session } = args.contextValue as { plan: PayloadPlan; session: Session };
        return options.engine.subscribe(plan, { viewer: () => session.viewer });
      },
      // Queries and mutations go over HTTP, where demand control and rate limits apply.
      execute: () => ({ errors: [hubError(ErrorCode.BadRequest, 'Send queries and mutations over HTTP')] }) as never,
    },
    wsServer,
    config.keepAliveMs,
  );

  return {
    async close() {
      await disposable.dispose();
      await new Promise<void>((resolve) => wsServer.close(() => resolve()));
    },
  };
}
