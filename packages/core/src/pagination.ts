import { badUserInput } from './errors.js';

/** Arguments every Relay connection field takes. */
export interface PageArgs {
  first?: number | null;
  after?: string | null;
}

export interface Edge<T> {
  cursor: string;
  node: T;
}

export interface PageInfo {
  hasNextPage: boolean;
  hasPreviousPage: boolean;
  startCursor: string | null;
  endCursor: string | null;
}

export interface Connection<T> {
  edges: Edge<T>[];
  pageInfo: PageInfo;
  /** Resolved lazily: the count query runs only when a client selects `totalCount`. */
  totalCount: number;
}

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 500;

export function encodeCursor(id: string): string {
  return Buffer.from(`c:${id}`, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string, field = 'after'): string {
  const decoded = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!decoded.startsWith('c:') || decoded.length < 3)
    throw badUserInput(field, 'is not a cursor returned by this API');
  return decoded.slice(2);
}

/**
 * Keyset window for a page ordered by `id`: ask for one row more than `first` to learn whether
 * another page follows. Validates `first` and `after`, naming the argument on error.
 */
export function pageWindow(args: PageArgs, maxPageSize = MAX_PAGE_SIZE): { take: number; afterId: string | undefined } {
  const first = args.first ?? DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(first) || first < 0 || first > maxPageSize) {
    throw badUserInput('first', `must be an integer between 0 and ${maxPageSize}`);
  }
  return { take: first + 1, afterId: args.after ? decodeCursor(args.after) : undefined };
}

/** A promise-like that runs `fn` only when awaited, so unselected `totalCount` costs no SQL. */
export function lazy<T>(fn: () => Promise<T>): PromiseLike<T> {
  let promise: Promise<T> | undefined;
  return {
    then(onFulfilled, onRejected) {
      promise ??= fn();
      return promise.then(onFulfilled, onRejected);
    },
  };
}

/**
 * Builds a Relay connection from rows ordered by ascending `id`.
 *
 * ```ts
 * return paginate(args, ({ take, afterId }) =>
 *   ctx.db.customer.findMany({ where: { ...filter, ...(afterId ? { id: { gt: afterId } } : {}) }, orderBy: { id: 'asc' }, take }),
 *   () => ctx.db.customer.count({ where: filter }));
 * ```
 */
export async function paginate<T extends { id: string }>(
  args: PageArgs,
  fetch: (window: { take: number; afterId: string | undefined }) => Promise<T[]>,
  count: () => Promise<number>,
  maxPageSize = MAX_PAGE_SIZE,
): Promise<Connection<T>> {
  const window = pageWindow(args, maxPageSize);
  const rows = await fetch(window);
  return connectionFromRows(rows, window.take - 1, window.afterId !== undefined, count);
}

/** Same shape from rows already fetched with `take = first + 1` (e.g. by a DataLoader). */
export function connectionFromRows<T extends { id: string }>(
  rows: readonly T[],
  first: number,
  hasPreviousPage: boolean,
  count: () => Promise<number>,
): Connection<T> {
  const page = rows.slice(0, first);
  const edges = page.map((node) => ({ cursor: encodeCursor(node.id), node }));
  return {
    edges,
    pageInfo: {
      hasNextPage: rows.length > first,
      hasPreviousPage,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges[edges.length - 1]?.cursor ?? null,
    },
    // graphql-js awaits any thenable; typed as number so generated resolver types accept it.
    totalCount: lazy(count) as unknown as number,
  };
}

/** Prisma `where` fragment for the keyset window. */
export function afterIdWhere(afterId: string | undefined): { id?: { gt: string } } {
  return afterId === undefined ? {} : { id: { gt: afterId } };
}

/**
 * A connection over a list already loaded in full (e.g. one customer's rows from a grouped
 * DataLoader), in the same id order and cursor format as the root connections.
 */
export function connectionFromList<T extends { id: string }>(
  all: readonly T[],
  args: PageArgs,
  maxPageSize = MAX_PAGE_SIZE,
): Connection<T> {
  const { take, afterId } = pageWindow(args, maxPageSize);
  const sorted = [...all].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const rest = afterId === undefined ? sorted : sorted.filter((row) => row.id > afterId);
  return connectionFromRows(rest.slice(0, take), take - 1, afterId !== undefined, async () => all.length);
}
