/**
 * What the store benchmarks share (`bench:sync`, `bench:events`): the CPU the PostgreSQL server
 * spends on a database, read from /proc beside the Node process's own, which a loaded machine
 * inflates far less than wall time.
 */
import { readFile } from 'node:fs/promises';
import type { StoreSql } from '@hub/store';

/**
 * CPU seconds of the PostgreSQL client backends of `database` so far, from /proc (the server is
 * local in this bench); null when /proc cannot tell. A backend that exits takes its CPU with it,
 * so read it while the stores' pools are open.
 */
export async function pgCpuSeconds(sql: Pick<StoreSql, 'query'>, database: string): Promise<number | null> {
  const rows = await sql.query<{ pid: number }>(
    `SELECT pid FROM pg_stat_activity WHERE datname = $1 AND backend_type = 'client backend'`,
    [database],
  );
  let ticks = 0;
  for (const { pid } of rows) {
    try {
      // Fields 14 and 15 (utime, stime) in clock ticks, counted after the command name's ')'.
      const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]?.split(' ') ?? [];
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      return null;
    }
  }
  return ticks / 100;
}
