/**
 * Which customer ids exist in a tenant. Customers live in the customers store, so the other six
 * domains cannot use a foreign key; before writing a row that refers to a customer they ask the
 * customers subgraph (its internal `_knownCustomers` field) as themselves: a service principal of
 * the request's tenant, signed with the calling subgraph's own key, which the customers subgraph
 * accepts for that one field only. Answers are cached for the request. If the customers subgraph cannot answer,
 * the write is refused (DOWNSTREAM_SERVICE_ERROR): fail closed.
 */
import type { CustomerVerifier } from '@hub/store';
import { ErrorCode, hubError } from './errors.js';
import {
  REQUEST_ID_HEADER,
  VIEWER_HEADER,
  servicePrincipal,
  serviceOf,
  type Viewer,
  type ViewerSigner,
} from './viewer.js';

const KNOWN_CUSTOMERS = 'query KnownCustomers($ids: [ID!]!) { _knownCustomers(ids: $ids) }';

/** A write waits at most this long for the customers subgraph; past it the write fails closed. */
const LOOKUP_TIMEOUT_MS = 5000;

function unavailable(reason: string) {
  return hubError(ErrorCode.DownstreamServiceError, 'Customer ids cannot be checked right now; try again shortly', {
    serviceName: 'customers',
    reason,
  });
}

export function createCustomerVerifier(customersUrl: string, signer: ViewerSigner, viewer: Viewer): CustomerVerifier {
  const known = new Map<string, boolean>();
  return async (ids) => {
    const unchecked = ids.filter((id) => !known.has(id));
    if (unchecked.length > 0) {
      let found: string[];
      try {
        if (viewer.tenantId === null) throw new Error('no tenant to check customer ids in');
        const request = { query: KNOWN_CUSTOMERS, variables: { ids: unchecked } };
        const service = servicePrincipal(serviceOf(signer.issuer) ?? signer.issuer, viewer.tenantId, viewer.requestId);
        const headers = {
          'content-type': 'application/json',
          [VIEWER_HEADER]: signer.sign(service, 'customers', request),
          [REQUEST_ID_HEADER]: viewer.requestId,
        };
        const response = await fetch(customersUrl, {
          method: 'POST',
          headers,
          body: JSON.stringify(request),
          signal: AbortSignal.timeout(LOOKUP_TIMEOUT_MS),
        });
        const body = (await response.json()) as {
          data?: { _knownCustomers?: string[] };
          errors?: { message: string }[];
        };
        if (!response.ok || body.errors || !body.data?._knownCustomers) {
          throw new Error(body.errors?.[0]?.message ?? `HTTP ${response.status}`);
        }
        found = body.data._knownCustomers;
      } catch (error) {
        throw unavailable(error instanceof Error ? error.message : String(error));
      }
      const present = new Set(found);
      for (const id of unchecked) known.set(id, present.has(id));
    }
    return new Set(ids.filter((id) => known.get(id) === true));
  };
}

/**
 * The customers domain's own check for the sync pipeline: its Customer table, one query per batch
 * (the engine writes with raw SQL, so a missing customer must be refused before, not by a foreign key).
 */
export function createLocalCustomerVerifier(client: unknown, tenantId: string | null): CustomerVerifier {
  const raw = client as { $queryRawUnsafe<T>(sql: string, ...values: unknown[]): Promise<T> };
  return async (ids) => {
    if (tenantId === null || ids.length === 0) return new Set();
    const rows = await raw.$queryRawUnsafe<{ id: string }[]>(
      `SELECT "id" FROM "Customer" WHERE "tenantId" = $1 AND "id" IN (SELECT json_array_elements_text($2::json))`,
      tenantId,
      JSON.stringify(ids),
    );
    return new Set(rows.map((r) => r.id));
  };
}
