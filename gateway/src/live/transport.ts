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
import { decodeJwt } from 'jose';
import { parse, specifiedRules, validate, type DocumentNode, type ExecutionArgs, type GraphQLError } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import { ErrorCode, badUserInput, forbidden, hubError } from '@hub/core/errors';
import { hasRole, type Viewer } from '@hub/core/viewer';
import { identifyCredentials, type IdentifyOptions } from '../identify.js';
import type { Logger } from '../logger.js';
import { isSafelisted, type Safelists } from '../plugins/usePersistedOperations.js';
import type { LiveConfig } from '../config.js';
import type { LiveEngine } from './engine.js';
import { planPayload, type PayloadPlan } from './payload.js';
import { visibleDomains, type LiveSchema } from './schema.js';

export const CLOSE_UNAUTHORIZED = 4401;
export const CLOSE_FORBIDDEN = 4403;
export const CLOSE_INTERNAL = 4500;
const MAX_QUERY_LENGTH = 100_000;

interface Credentials {
  readonly authorization: string | undefined;
  readonly apiKey: string | undefined;
}

interface Session {
  credentials: Credentials;
  viewer: Viewer;
  timers: NodeJS.Timeout[];
}

function credentialsOf(params: Readonly<Record<string, unknown>> | undefined): Credentials {
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

export interface LiveTransportOptions {
  readonly httpServer: Server;
  readonly path: string;
  readonly identify: IdentifyOptions;
  readonly engine: LiveEngine;
  readonly schema: () => LiveSchema | undefined;
  readonly safelists: Safelists;
  readonly config: LiveConfig;
  readonly log: Logger;
  /** Demand control of the query a payload is resolved with (OPERATION_TOO_COMPLEX), per viewer. */
  readonly demand: (viewer: Viewer, query: string, variables: Record<string, unknown>) => GraphQLError | undefined;
}

export function attachLiveTransport(options: LiveTransportOptions): { close(): Promise<void> } {
  const { log, config } = options;
  const wsServer = new WebSocketServer({ server: options.httpServer, path: options.path });
  const sessions = new WeakMap<object, Session>();

  const check = (credentials: Credentials) => identifyCredentials(credentials, randomUUID(), options.identify);

  function document(viewer: Viewer, payload: { query?: unknown; extensions?: unknown }): DocumentNode | GraphQLError {
    let text: string;
    if (isSafelisted(viewer)) {
      const persisted = (payload.extensions as { persistedQuery?: { sha256Hash?: unknown } } | undefined)
        ?.persistedQuery?.sha256Hash;
      const operation =
        typeof persisted === 'string' ? options.safelists.get(viewer.app ?? '')?.get(persisted) : undefined;
      if (!operation || operation.type !== 'subscription')
        return hubError(
          ErrorCode.PersistedQueryNotInList,
          'Partner subscriptions must name a subscription of their persisted query list (extensions.persistedQuery.sha256Hash)',
        );
      text = operation.body;
    } else {
      if (typeof payload.query !== 'string' || payload.query === '') return badUserInput('query', 'is required');
      text = payload.query;
    }
    if (text.length > MAX_QUERY_LENGTH) return badUserInput('query', 'is too long');
    try {
      return parse(text);
    } catch (error) {
      return badUserInput('query', error instanceof Error ? error.message : String(error));
    }
  }

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
        const session: Session = { credentials, viewer: identity.viewer, timers: [] };
        sessions.set(ctx, session);
        const end = (reason: string) => {
          log.info({ userId: session.viewer.userId, reason }, 'live: connection ended');
          ctx.extra.socket.close(CLOSE_UNAUTHORIZED, reason);
        };
        // A token ends its connection at its own expiry, whatever the check interval.
        if (credentials.authorization !== undefined) {
          const exp = decodeJwt(credentials.authorization.replace(/^Bearer\s+/i, '')).exp;
          if (exp !== undefined)
            session.timers.push(setTimeout(() => end('Token expired'), Math.min(2 ** 31 - 1, exp * 1000 - Date.now())));
        }
        // Revoked keys, changed books and grants: the same checks again, on the same credentials.
        session.timers.push(
          setInterval(() => {
            check(credentials).then(
              (again) => {
                if (again.ok) session.viewer = again.viewer;
                else if (again.error.extensions['code'] === ErrorCode.Unauthenticated)
                  end('Credentials no longer valid');
                else log.warn({ reason: again.reason }, 'live: credential check failed; keeping the connection');
              },
              (error: unknown) => log.warn({ err: error }, 'live: credential check failed'),
            );
          }, config.credentialCheckMs),
        );
        return true;
      },
      onClose: (ctx) => {
        for (const timer of sessions.get(ctx)?.timers ?? []) clearTimeout(timer);
      },
      onSubscribe: (ctx, _id, payload): ExecutionArgs | readonly GraphQLError[] => {
        const session = sessions.get(ctx);
        const live = options.schema();
        if (!session) return [hubError(ErrorCode.Unauthenticated, 'Not connected')];
        if (!live)
          return [hubError(ErrorCode.DownstreamServiceError, 'The graph is not loaded yet; try again shortly')];
        const parsed = document(session.viewer, payload);
        if (!('kind' in parsed)) return [parsed];
        const errors = validate(live.schema, parsed, specifiedRules);
        if (errors.length > 0) return errors.map((e) => hubError(ErrorCode.BadUserInput, e.message));
        let plan: PayloadPlan;
        try {
          plan = planPayload(live.schema, parsed, payload.operationName ?? undefined, payload.variables ?? {});
        } catch (error) {
          return [error as GraphQLError];
        }
        // What runs per event is the resolution query: it is held to the viewer's limits, once, here.
        const refusal = options.demand(
          session.viewer,
          plan.resolutionFor(plan.field === 'syncStatus' ? undefined : 'id').query,
          {
            ...plan.variables,
            hubLiveId: '',
          },
        );
        if (refusal) return [refusal];
        if (plan.field === 'syncStatus' && !hasRole(session.viewer, 'admin'))
          return [forbidden('syncStatus is for admins')];
        if (plan.field !== 'syncStatus' && visibleDomains(session.viewer, live).size === 0)
          return [forbidden('Your roles read no domain whose changes you could receive')];
        return {
          schema: live.schema,
          document: parsed,
          variableValues: payload.variables ?? {},
          contextValue: { plan, session },
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
