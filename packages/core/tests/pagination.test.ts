import { describe, expect, it } from 'vitest';
import { GraphQLError } from 'graphql';
import { decodeCursor, encodeCursor, paginate, type Connection } from '../src/pagination.js';

const rows = Array.from({ length: 45 }, (_, i) => ({ id: `cust_${String(i + 1).padStart(5, '0')}` }));
const fetchWindow = async ({ take, afterId }: { take: number; afterId: string | undefined }) =>
  rows.filter((row) => afterId === undefined || row.id > afterId).slice(0, take);

describe('Relay pagination', () => {
  it('walks every row exactly once page by page', async () => {
    const seen: string[] = [];
    let after: string | null = null;
    let counted = 0;
    for (let page = 0; page < 10; page++) {
      const connection: Connection<{ id: string }> = await paginate({ first: 20, after }, fetchWindow, async () => {
        counted++;
        return rows.length;
      });
      seen.push(...connection.edges.map((edge) => edge.node.id));
      if (!connection.pageInfo.hasNextPage) break;
      after = connection.pageInfo.endCursor;
    }
    expect(seen).toEqual(rows.map((row) => row.id));
    expect(counted).toBe(0); // totalCount was never selected, so it never ran
  });

  it('counts only when totalCount is awaited', async () => {
    const connection = await paginate({ first: 5 }, fetchWindow, async () => rows.length);
    expect(await Promise.resolve(connection.totalCount)).toBe(45);
    expect(connection.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false });
  });

  it('rejects a bad page size and a forged cursor naming the argument', async () => {
    await expect(paginate({ first: -1 }, fetchWindow, async () => 0)).rejects.toMatchObject({
      extensions: { code: 'BAD_USER_INPUT', field: 'first' },
    });
    expect(() => decodeCursor('garbage')).toThrow(GraphQLError);
    expect(decodeCursor(encodeCursor('cust_00007'))).toBe('cust_00007');
  });
});
