import { connectionFromRows, pageWindow, type Connection, type PageArgs } from '@hub/core/pagination';

/**
 * A connection over a list already loaded in full by a DataLoader (a customer's few rows), in the
 * same id order and cursor format as the root connections.
 */
export function connectionFromList<T extends { id: string }>(all: readonly T[], args: PageArgs): Connection<T> {
  const { take, afterId } = pageWindow(args);
  const sorted = [...all].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const rest = afterId === undefined ? sorted : sorted.filter((row) => row.id > afterId);
  return connectionFromRows(rest.slice(0, take), take - 1, afterId !== undefined, async () => all.length);
}
