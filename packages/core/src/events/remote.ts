/**
 * Reads another subgraph's stream on the embedded bus: its internal `_events` field, called as this
 * subgraph's service principal (signed with its own key, like customerDirectory.ts). A stream holds
 * every tenant's events, so the principal names the pseudo-tenant STREAM_TENANT; `_events` is the
 * only field that accepts it (authz grants `service` nothing else that reads rows without a tenant).
 */
import type { Domain } from '../domains.js';
import { REQUEST_ID_HEADER, VIEWER_HEADER, servicePrincipal, type Viewer, type ViewerSigner } from '../viewer.js';
import { randomUUID } from 'node:crypto';
import type { EventEnvelope } from './types.js';

/** The tenant a stream-reading service principal names: a stream is not one tenant's. */
export const STREAM_TENANT = '*';

export interface StreamPage {
  readonly events: EventEnvelope[];
  /** The position read up to; pass it as `after` next time. */
  readonly position: string;
}

export interface StreamQuery {
  /** A cursor, `now`, or undefined (then `since`, or the beginning). */
  readonly after?: string | undefined;
  readonly since?: Date | undefined;
  readonly limit: number;
  readonly waitMs: number;
  readonly types?: readonly string[] | undefined;
  readonly signal?: AbortSignal | undefined;
}

export type StreamReader = (domain: Domain, query: StreamQuery) => Promise<StreamPage>;

const EVENTS_QUERY = `query HubEvents($after: String, $limit: Int, $waitMs: Int, $types: [String!], $since: DateTime) {
  _events(after: $after, limit: $limit, waitMs: $waitMs, types: $types, since: $since) {
    cursor
    events { id type tenantId customerId domain source occurredAt committedAt schemaVersion cursor payload }
  }
}`;

interface WireEvent extends Omit<EventEnvelope, 'payload'> {
  payload: string;
}

export function createRemoteStreamReader(options: {
  /** The reading subgraph (it signs as its service principal), or the gateway with `principal`. */
  readonly self: Domain | 'gateway';
  readonly urls: Readonly<Record<Domain, string>>;
  readonly signer: ViewerSigner;
  /** Who the call speaks as; default the subgraph's service principal in STREAM_TENANT. */
  readonly principal?: (requestId: string) => Viewer;
}): StreamReader {
  const principalOf =
    options.principal ?? ((requestId: string) => servicePrincipal(options.self, STREAM_TENANT, requestId));
  return async (domain, query) => {
    const request = {
      query: EVENTS_QUERY,
      variables: {
        after: query.after ?? null,
        limit: query.limit,
        waitMs: query.waitMs,
        types: query.types ? [...query.types] : null,
        since: query.since?.toISOString() ?? null,
      },
    };
    const requestId = randomUUID();
    const principal = principalOf(requestId);
    const timeout = AbortSignal.timeout(query.waitMs + 15_000);
    const response = await fetch(options.urls[domain], {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        [VIEWER_HEADER]: options.signer.sign(principal, domain, request),
        [REQUEST_ID_HEADER]: requestId,
      },
      body: JSON.stringify(request),
      signal: query.signal ? AbortSignal.any([query.signal, timeout]) : timeout,
    });
    const body = (await response.json()) as {
      data?: { _events?: { cursor: string; events: WireEvent[] } };
      errors?: { message: string }[];
    };
    const page = body.data?._events;
    if (!response.ok || body.errors || !page)
      throw new Error(`${domain} _events: ${body.errors?.[0]?.message ?? `HTTP ${response.status}`}`);
    return {
      position: page.cursor,
      events: page.events.map((e) => ({ ...e, payload: JSON.parse(e.payload) as Record<string, unknown> })),
    };
  };
}
