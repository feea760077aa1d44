/**
 * What both transports (graphql-ws, multipart HTTP) do before a subscription runs: pick the
 * document (a partner's from its manifest), validate it against the live schema, plan its payload,
 * hold the payload's query to the viewer's demand limits, and check who may subscribe to what; and
 * watch a connection's credentials while it is open.
 */
import { decodeJwt } from 'jose';
import { parse, specifiedRules, validate, type DocumentNode, type GraphQLError } from 'graphql';
import { ErrorCode, badUserInput, forbidden, hubError } from '@hub/core/errors';
import { SYNC_TEAM } from '@hub/core/authz';
import { hasRole, type Viewer } from '@hub/core/viewer';
import type { Identity } from '../identify.js';
import type { Logger } from '../logger.js';
import { isSafelisted, type Safelists } from '../plugins/usePersistedOperations.js';
import { planPayload, type PayloadPlan } from './payload.js';
import { visibleDomains, type LiveSchema } from './schema.js';

const MAX_QUERY_LENGTH = 100_000;

export interface SubscribeRequest {
  readonly query?: unknown;
  readonly operationName?: string | null | undefined;
  readonly variables?: Record<string, unknown> | null | undefined;
  readonly extensions?: unknown;
}

export interface PrepareOptions {
  readonly schema: () => LiveSchema | undefined;
  readonly safelists: Safelists;
  /** Demand control of the query a payload is resolved with (OPERATION_TOO_COMPLEX), per viewer. */
  readonly demand: (viewer: Viewer, query: string, variables: Record<string, unknown>) => GraphQLError | undefined;
}

function documentOf(
  options: PrepareOptions,
  viewer: Viewer,
  request: SubscribeRequest,
  /** HTTP: the safelist middleware already replaced a partner's hash by its manifest body. */
  resolvedByMiddleware: boolean,
): DocumentNode | GraphQLError {
  let text: string;
  if (isSafelisted(viewer) && !resolvedByMiddleware) {
    const persisted = (request.extensions as { persistedQuery?: { sha256Hash?: unknown } } | undefined)?.persistedQuery
      ?.sha256Hash;
    const operation =
      typeof persisted === 'string' ? options.safelists.get(viewer.app ?? '')?.get(persisted) : undefined;
    if (!operation || operation.type !== 'subscription')
      return hubError(
        ErrorCode.PersistedQueryNotInList,
        'Partner subscriptions must name a subscription of their persisted query list (extensions.persistedQuery.sha256Hash)',
      );
    text = operation.body;
  } else {
    if (typeof request.query !== 'string' || request.query === '') return badUserInput('query', 'is required');
    text = request.query;
  }
  if (text.length > MAX_QUERY_LENGTH) return badUserInput('query', 'is too long');
  try {
    return parse(text);
  } catch (error) {
    return badUserInput('query', error instanceof Error ? error.message : String(error));
  }
}

export function prepareSubscription(
  options: PrepareOptions,
  viewer: Viewer,
  request: SubscribeRequest,
  resolvedByMiddleware = false,
): { readonly plan: PayloadPlan; readonly live: LiveSchema } | readonly GraphQLError[] {
  const live = options.schema();
  if (!live) return [hubError(ErrorCode.DownstreamServiceError, 'The graph is not loaded yet; try again shortly')];
  const parsed = documentOf(options, viewer, request, resolvedByMiddleware);
  if (!('kind' in parsed)) return [parsed];
  const errors = validate(live.schema, parsed, specifiedRules);
  if (errors.length > 0) return errors.map((e) => hubError(ErrorCode.BadUserInput, e.message));
  let plan: PayloadPlan;
  try {
    plan = planPayload(live.schema, parsed, request.operationName ?? undefined, request.variables ?? {});
  } catch (error) {
    return [error as GraphQLError];
  }
  // What runs per event is the resolution query: it is held to the viewer's limits, once, here.
  const probe = plan.field === 'syncStatus' ? undefined : 'id';
  const refusal = options.demand(viewer, plan.resolutionFor(probe).query, { ...plan.variables, hubLiveId: '' });
  if (refusal) return [refusal];
  // Each domain's status is then decided by its subgraph: an integration account's of its domains only.
  if (plan.field === 'syncStatus' && !SYNC_TEAM.some((role) => hasRole(viewer, role)))
    return [forbidden('syncStatus is for admins and integration accounts')];
  if (plan.field !== 'syncStatus' && visibleDomains(viewer, live).size === 0)
    return [forbidden('Your roles read no domain whose changes you could receive')];
  return { plan, live };
}

export interface Credentials {
  readonly authorization: string | undefined;
  readonly apiKey: string | undefined;
}

/**
 * Ends a connection at its token's `exp`, and re-checks its credentials every `intervalMs`:
 * a new viewer (changed book or grant) replaces the old; a refusal ends it.
 */
export function watchCredentials(options: {
  readonly credentials: Credentials;
  readonly check: (credentials: Credentials) => Promise<Identity>;
  readonly intervalMs: number;
  readonly log: Logger;
  onViewer(viewer: Viewer): void;
  onEnd(reason: string): void;
}): () => void {
  const timers: NodeJS.Timeout[] = [];
  const { credentials, log } = options;
  if (credentials.authorization !== undefined) {
    let exp: number | undefined;
    try {
      exp = decodeJwt(credentials.authorization.replace(/^Bearer\s+/i, '')).exp;
    } catch {
      exp = undefined;
    }
    if (exp !== undefined)
      timers.push(setTimeout(() => options.onEnd('Token expired'), Math.min(2 ** 31 - 1, exp * 1000 - Date.now())));
  }
  timers.push(
    setInterval(() => {
      options.check(credentials).then(
        (again) => {
          if (again.ok) options.onViewer(again.viewer);
          else if (again.error.extensions['code'] === ErrorCode.Unauthenticated)
            options.onEnd('Credentials no longer valid');
          else log.warn({ reason: again.reason }, 'live: credential check failed; keeping the connection');
        },
        (error: unknown) => log.warn({ err: error }, 'live: credential check failed'),
      );
    }, options.intervalMs),
  );
  return () => {
    for (const timer of timers) clearTimeout(timer);
  };
}
