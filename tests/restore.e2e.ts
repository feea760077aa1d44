/**
 * The restore procedure end to end (README "Restore"): `npm run restore:drill` against real processes
 * — the hub's seven subgraphs and the gateway on the local PostgreSQL with the NATS JetStream bus —
 * loses the sales store after writes in sales and in the domains it consumes, restores it from the
 * dump taken before them, and the operator's restore is killed mid-replay and run again (the crash
 * point). Then every domain reconciles with no difference left, the other domains' stores are
 * unchanged, and nothing was applied twice: the events replayed are exactly the ones lost, each
 * committed once.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DOMAINS } from '@hub/core/domains';
import { REPO_ROOT } from '@hub/core/process';
import { finished } from '../gateway/tests/syncCli.js';

interface DrillResult {
  domain: string;
  totalMs: number;
  lostOutboxRows: number;
  consumedAfterT: Record<string, number>;
  restore: {
    crashed: string | null;
    replay: { read: number; present: number; replayed: number; loggedOnly: number; outcomes: Record<string, number> };
    rewound: { consumer: string; stream: string; cursor: string | null }[];
  };
  differences: Record<string, { checked: number; differing: number }>;
  restoredAsLost: boolean;
  notRestored: string[];
  othersUntouched: boolean;
  changedTables: string[];
}

describe('restore of one domain', () => {
  it('restores sales to the dump, replays what came after from its stream, and leaves no difference anywhere', async () => {
    const res = await finished(
      spawn(
        process.execPath,
        ['--import', 'tsx', path.join(REPO_ROOT, 'scripts/restore-drill.ts'), '--json', '--crash-after', '5'],
        { cwd: REPO_ROOT, env: process.env, stdio: ['ignore', 'pipe', 'pipe'] },
      ),
    );
    const line = res.stdout.trim().split('\n').at(-1) ?? '';
    expect(line.startsWith('{'), res.stdout + res.stderr).toBe(true);
    const result = JSON.parse(line) as DrillResult;
    expect(res.code, line).toBe(0);

    // The loss was real: sales wrote after T, and consumed other domains' events after T.
    expect(result.lostOutboxRows).toBeGreaterThan(40);
    expect(result.consumedAfterT['sales.health-signals']).toBeGreaterThan(0);
    expect(result.consumedAfterT['sales.customer-replica']).toBeGreaterThan(0);
    // Killed after 5 replayed events; the rerun (no dump) resumed and re-applied each lost event once.
    expect(result.restore.crashed).toMatch(/exiting mid-replay/);
    const { replay } = result.restore;
    expect(replay.replayed + replay.loggedOnly + 5).toBe(result.lostOutboxRows);
    expect(replay.outcomes['DUPLICATE'] ?? 0).toBe(0);
    expect(replay.outcomes['REJECTED'] ?? 0).toBe(0);
    expect(result.restore.rewound.map((r) => r.consumer).sort()).toEqual([
      'sales.customer-replica',
      'sales.health-signals',
    ]);

    for (const domain of DOMAINS) {
      expect(result.differences[domain]?.differing, domain).toBe(0);
    }
    expect(result.differences['sales']?.checked).toBeGreaterThan(300);
    // Sales' rows are what the loss destroyed (values, provenance with its source times, the replica).
    expect(result.restoredAsLost, result.notRestored.join(', ')).toBe(true);
    expect(result.othersUntouched, result.changedTables.join(', ')).toBe(true);
  }, 1_500_000);
});
