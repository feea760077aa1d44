/**
 * Each domain knows its customers locally (issue 8 item 5). Every store keeps `hub_customer_replica`
 * (tenant, customer, owner, deleted) and `hub_grant_replica` (API key id, tenant, customers, fields,
 * revoked), fed by the customers stream (replicaFeed.ts). From them a subgraph
 *   - resolves a viewer's rows once per request (`scope`): the signed viewer names only who it is
 *     (user, tenant, roles, book owners, grant id), so its size does not grow with a book;
 *   - checks that the customers a write names exist (`verifier`), once per batch, without HTTP.
 * The customers domain answers the same two questions from its own tables (`ownTablesDirectory`):
 * it is the system of record, and reading its own committed rows means it never lags itself.
 *
 * Fail closed as before (authz.ts): a book role with an empty book, an unknown or revoked grant,
 * yield no customers; a deleted customer leaves every book and grant.
 */
import type { CustomerVerifier, StoreSql } from '@hub/store';
import { LRUCache } from 'lru-cache';
import { BOOK_ROLES, TENANT_WIDE_ROLES } from './authz.js';
import { ErrorCode, hubError } from './errors.js';
import type { Role, ScopedViewer, Viewer } from './viewer.js';

/**
 * Bound (README "Authentication and authorization"): a customer created, reassigned or deleted, or a
 * grant changed, reaches every domain's rules within this time (measured 0.1–0.2 s, tests/replica.e2e.ts).
 * It is also how long a write naming a customer its replica has not seen yet waits before it is refused.
 */
export const REPLICA_BOUND_MS = 1_000;

export interface CustomerDirectory {
  /** The viewer with its rows: one indexed query when a role needs them, none for tenant-wide roles. */
  scope(viewer: Viewer): Promise<ScopedViewer>;
  /** Which of a batch's customer ids the tenant has (one query; waits for a lagging replica, see below). */
  verifier(tenantId: string | null): CustomerVerifier;
}

/** What the two tables of rows answer; the replica and the customers store each implement it. */
interface RowQueries {
  book(tenantId: string, owners: readonly string[]): Promise<string[]>;
  /** The grant's live customers and fields; `revoked` when revoked; undefined when unknown here. */
  grant(
    tenantId: string,
    grantId: string,
  ): Promise<{ customerIds: string[]; fields: string[]; revoked: boolean } | undefined>;
  known(tenantId: string, ids: readonly string[]): Promise<Set<string>>;
}

const needsRows = (roles: readonly Role[]) => roles.some((role) => !TENANT_WIDE_ROLES.includes(role));

/**
 * How a replica waits for what it may not have seen yet: `until` re-reads `read` while the replica is
 * behind the customers stream, for at most the bound; it answers the last read and whether the
 * bound passed with the replica still behind.
 */
interface Lag {
  until<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<{ value: T; timedOut: boolean }>;
}

/** Books remembered by `directory` (one list per viewer's rows; beyond it the least recently used goes). */
const BOOKS_KEPT = 1_000;

/** Whether `ids` is in ascending order (JavaScript's string order, as `sort()` leaves it). */
function inOrder(ids: readonly string[]): boolean {
  for (let i = 1; i < ids.length; i++) if ((ids[i - 1] as string) >= (ids[i] as string)) return false;
  return true;
}

/** Whether two sorted lists hold the same ids. */
function sameIds(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((id, i) => id === b[i]);
}

function directory(queries: RowQueries, lag?: Lag) {
  // The last list each viewer's rows (tenant, book owners, grant) came to. A request whose rows read
  // the same gets that same frozen object, not an equal copy: its scoped client is then found by the
  // list's identity (@hub/store tenant.ts `viewerClients`) instead of by serializing thousands of
  // ids. Reused only when equal id for id, so the key only finds the candidate: no staleness, no
  // sharing of unequal books, whatever the key.
  const books = new LRUCache<string, readonly string[]>({ max: BOOKS_KEPT });
  return {
    async scope(viewer: Viewer): Promise<ScopedViewer> {
      if (!needsRows(viewer.roles) || viewer.tenantId === null) return Object.freeze({ ...viewer, customerIds: null });
      const ids = new Set<string>();
      let fields: readonly string[] | undefined;
      const book = [...new Set(viewer.book)];
      if (viewer.roles.some((role) => BOOK_ROLES.includes(role)) && book.length > 0)
        for (const id of await queries.book(viewer.tenantId, book)) ids.add(id);
      if (viewer.roles.includes('partner') && viewer.grantId !== undefined) {
        const { tenantId, grantId } = viewer;
        let grant = await queries.grant(tenantId, grantId);
        // A key created a moment ago may not have reached this replica: waited for, within the bound.
        // Still unknown after it, or revoked: no field and no row (fail closed).
        if (!grant && lag) grant = (await lag.until(() => queries.grant(tenantId, grantId), Boolean)).value;
        if (grant && !grant.revoked) {
          for (const id of grant.customerIds) ids.add(id);
          fields = grant.fields;
        }
      }
      // The queries answer in byte order (COLLATE "C"), which is JavaScript's order for the ids in use
      // (it differs only past U+FFFF); checked in one pass, sorted only if not. For a book of 5,000 ids
      // the directory's CPU per request fell from 1.9–2.4 ms to 1.2 ms (bench-subgraph-calls.ts).
      const listed = [...ids];
      const sorted = inOrder(listed) ? listed : listed.sort();
      const rowsKey = JSON.stringify([viewer.tenantId, book, viewer.grantId ?? null, viewer.roles]);
      let customerIds = books.get(rowsKey);
      if (!customerIds || !sameIds(customerIds, sorted)) books.set(rowsKey, (customerIds = Object.freeze(sorted)));
      return Object.freeze({
        ...viewer,
        customerIds,
        ...(viewer.roles.includes('partner')
          ? { grant: Object.freeze({ fields: Object.freeze([...(fields ?? [])]) }) }
          : {}),
      });
    },
    verifier(tenantId: string | null): CustomerVerifier {
      return async (ids) => {
        if (tenantId === null || ids.length === 0) return new Set();
        const wanted = [...new Set(ids)];
        const found = await queries.known(tenantId, wanted);
        if (found.size === wanted.length || !lag) return found;
        const waited = await lag.until(
          () => queries.known(tenantId, wanted),
          (known) => known.size === wanted.length,
        );
        if (waited.timedOut) throw replicaBehind(wanted.filter((id) => !waited.value.has(id)));
        return waited.value;
      };
    },
  } satisfies CustomerDirectory;
}

/** Ids as one text[] parameter: one statement whatever the book's size. */
const idList = (ids: readonly string[]) => [...ids];

export function replicaQueries(sql: StoreSql): RowQueries {
  return {
    async book(tenantId, owners) {
      const rows = await sql.query<{ customer_id: string }>(
        `SELECT "customer_id" FROM "hub_customer_replica"
         WHERE "tenant_id" = $1 AND "owner_id" = ANY($2::text[]) AND NOT "deleted"
         ORDER BY "customer_id" COLLATE "C"`,
        [tenantId, idList(owners)],
      );
      return rows.map((row) => row.customer_id);
    },
    async grant(tenantId, grantId) {
      // A deleted customer leaves the grant.
      const [row] = await sql.query<{ customer_ids: string[]; fields: string[]; revoked: boolean }>(
        `SELECT array(SELECT r."customer_id" FROM "hub_customer_replica" r
                      WHERE r."tenant_id" = g."tenant_id" AND r."customer_id" = ANY(g."customer_ids") AND NOT r."deleted"
                      ORDER BY r."customer_id" COLLATE "C")
                  AS "customer_ids", g."fields", g."revoked"
         FROM "hub_grant_replica" g WHERE g."id" = $1 AND g."tenant_id" = $2`,
        [grantId, tenantId],
      );
      return row ? { customerIds: row.customer_ids, fields: row.fields, revoked: row.revoked } : undefined;
    },
    async known(tenantId, ids) {
      const rows = await sql.query<{ customer_id: string }>(
        `SELECT "customer_id" FROM "hub_customer_replica"
         WHERE "tenant_id" = $1 AND "customer_id" = ANY($2::text[]) AND NOT "deleted"`,
        [tenantId, idList(ids)],
      );
      return new Set(rows.map((row) => row.customer_id));
    },
  };
}

/** The customers domain's own answers: its Customer and ApiKey tables (no replica of itself). */
export function ownTablesQueries(sql: StoreSql): RowQueries {
  return {
    async book(tenantId, owners) {
      const rows = await sql.query<{ id: string }>(
        `SELECT "id" FROM "Customer" WHERE "tenantId" = $1 AND "ownerId" = ANY($2::text[]) ORDER BY "id" COLLATE "C"`,
        [tenantId, idList(owners)],
      );
      return rows.map((row) => row.id);
    },
    async grant(tenantId, grantId) {
      const [row] = await sql.query<{ customer_ids: string[]; fields: string[]; revoked: boolean }>(
        `SELECT array(SELECT c."id" FROM "Customer" c WHERE c."tenantId" = k."tenantId" AND c."id" = ANY(k."customerIds")
                      ORDER BY c."id" COLLATE "C")
                  AS "customer_ids", k."fields", k."revokedAt" IS NOT NULL AS "revoked"
         FROM "ApiKey" k WHERE k."id" = $1 AND k."tenantId" = $2`,
        [grantId, tenantId],
      );
      return row ? { customerIds: row.customer_ids, fields: row.fields, revoked: row.revoked } : undefined;
    },
    async known(tenantId, ids) {
      const rows = await sql.query<{ id: string }>(
        `SELECT "id" FROM "Customer" WHERE "tenantId" = $1 AND "id" = ANY($2::text[])`,
        [tenantId, idList(ids)],
      );
      return new Set(rows.map((row) => row.id));
    },
  };
}

export function ownTablesDirectory(sql: StoreSql): CustomerDirectory {
  return directory(ownTablesQueries(sql));
}

export interface ReplicaDirectoryOptions {
  readonly sql: StoreSql;
  /**
   * Whether the replica is behind the customers stream's head (events it has not applied). Throws
   * when that cannot be told (the bus is unreachable): the write is refused as retryable.
   */
  readonly behind: () => Promise<boolean>;
  /** @default REPLICA_BOUND_MS */
  readonly boundMs?: number;
  /** Between re-checks while waiting. @default 25 */
  readonly pollMs?: number;
}

/** A write naming customers a lagging replica has not seen yet: refused as retryable. */
function replicaBehind(missing: readonly string[]) {
  return hubError(
    ErrorCode.DownstreamServiceError,
    `Customer ${missing.map((id) => JSON.stringify(id)).join(', ')} is not known here yet; retry shortly`,
    { serviceName: 'customers', reason: 'customer replica behind', retryable: true },
  );
}

/**
 * Replica lag: a write may name a customer created a moment ago that this domain's replica has not
 * applied yet. Ids it does not know are looked at again while the replica is behind the customers
 * stream, for at most the bound; caught up and still unknown, they do not exist (the engine answers
 * NOT_FOUND); still behind after the bound, the write is refused as retryable
 * (DOWNSTREAM_SERVICE_ERROR, `extensions.retryable`), and nothing of it is written.
 */
export function replicaDirectory(options: ReplicaDirectoryOptions): CustomerDirectory {
  const bound = options.boundMs ?? REPLICA_BOUND_MS;
  const pollMs = options.pollMs ?? 25;
  return directory(replicaQueries(options.sql), {
    async until(read, done) {
      const deadline = Date.now() + bound;
      for (;;) {
        let behind: boolean;
        try {
          behind = await options.behind();
        } catch {
          behind = true;
        }
        // Read after the lag check: what the replica applied before it reported caught up is visible.
        const value = await read();
        if (done(value) || !behind) return { value, timedOut: false };
        if (Date.now() >= deadline) return { value, timedOut: true };
        await new Promise((resolve) => setTimeout(resolve, pollMs));
      }
    },
  });
}
