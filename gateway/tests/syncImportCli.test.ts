/**
 * `npm run sync:import` spawned as a user runs it, against a real gateway and the fake `product`
 * subgraph of syncHarness.ts: summary and exit codes, rejected lines, resume after SIGKILL, errors.
 * The same against the real engine and stores: tests/syncImport.e2e.ts.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startGateway, type RunningGateway } from '../src/server.js';
import { startCustomersSubgraph, testConfig, token, type FakeSubgraph } from './helpers.js';
import { finished, spawnCli, waitForProgress, type CliResult } from './syncCli.js';
import { startFakeProduct, usageLine, type FakeProduct } from './syncHarness.js';

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

describe('npm run sync:import', () => {
  let customers: FakeSubgraph;
  let product: FakeProduct;
  let gateway: RunningGateway;
  let origin: string;
  let admin: string;
  let dir: string;

  beforeAll(async () => {
    customers = await startCustomersSubgraph();
    product = await startFakeProduct();
    gateway = await startGateway(
      testConfig([customers, product.subgraph], {
        syncImport: { batchSize: 100, lingerMs: 50, maxLineBytes: 4096, maxBatchBytes: 90 * 1024 },
      }),
    );
    origin = new URL(gateway.url).origin;
    admin = await token({ roles: ['admin'] });
    dir = await mkdtemp(path.join(tmpdir(), 'sync-import-'));
  });
  afterAll(async () => {
    await gateway.stop();
    await Promise.allSettled([customers.stop(), product.subgraph.stop()]);
    await rm(dir, { recursive: true, force: true });
  });
  beforeEach(() => product.reset());

  const run = (args: string[], env: Record<string, string | undefined> = { HUB_TOKEN: admin }) =>
    finished(spawnCli(args, env));

  it('imports a file, lists the rejected lines with their numbers, exits 2, and a second run answers DUPLICATE', async () => {
    const file = path.join(dir, 'small.ndjson');
    const lines = Array.from({ length: 30 }, (_, i) => usageLine(`c${i}`));
    lines[6] = '{"usage_analytics_sync": {"customer_id": 7'; // line 7
    lines[19] = '{"billing_sync": {}}'; // line 20
    await writeFile(file, `${lines.join('\n')}\n`);
    const args = ['--domain', 'product', '--url', origin, '--json', file];

    const first = await run(args);
    expect(first.stderr).toMatch(/^line 7: BAD_USER_INPUT: not valid JSON/m);
    expect(first.stderr).toMatch(/^line 20: BAD_USER_INPUT billing_sync: unknown payload kind/m);
    expect(first.code).toBe(2);
    expect(JSON.parse(first.stdout)).toMatchObject({ applied: 28, duplicate: 0, rejected: 2, lines: 30, skipped: 0 });
    // Complete: no progress file is left behind.
    expect(existsSync(`${file}.progress`)).toBe(false);

    const second = await run(args);
    expect(JSON.parse(second.stdout)).toMatchObject({ applied: 0, duplicate: 28, rejected: 2, lines: 30 });
    expect([...product.applied.values()].every((count) => count === 1)).toBe(true);
    expect(product.applied.size).toBe(28);

    const human = await run(['--domain', 'product', '--url', `${origin}/graphql`, file]);
    expect(human.stdout).toMatch(/product import of .*small\.ndjson: 30 lines answered/);
    expect(human.stdout).toMatch(/applied 0 {2}merged 0 {2}stale 0 {2}duplicate 28 {2}rejected 2/);
    expect(human.stdout).toMatch(/2 lines were rejected .*exit code 2/);
  });

  it('resumes after SIGKILL from the last acknowledged line: every line applied exactly once', async () => {
    const file = path.join(dir, 'big.ndjson');
    const total = 4000;
    // Blank lines and a last line without a newline: resume must still cut at line boundaries.
    const lines = Array.from({ length: total }, (_, i) => (i % 997 === 500 ? '' : usageLine(`k${i}`)));
    const events = lines.filter((line) => line !== '').length;
    await writeFile(file, lines.join('\n'));
    product.delayMs = 40;
    const args = ['--domain', 'product', '--url', origin, '--json', '--lines-per-request', '1500', file];

    const child = spawnCli(args, { HUB_TOKEN: admin });
    const done = finished(child);
    await waitForProgress(file, 1200);
    child.kill('SIGKILL');
    const killed = await done;
    expect(killed.signal).toBe('SIGKILL');
    // A batch in flight at the kill still completes at the hub (and is answered DUPLICATE on resume).
    await sleep(500);
    const progress = JSON.parse(await readFile(`${file}.progress`, 'utf8')) as { line: number; offset: number };
    expect(progress.line).toBeGreaterThanOrEqual(1200);
    expect(progress.line).toBeLessThan(total);
    const appliedBeforeResume = product.applied.size;
    expect(appliedBeforeResume).toBeGreaterThanOrEqual(progress.line - 10);

    product.delayMs = 0;
    const resumed = await run(args);
    expect(resumed.code).toBe(0);
    expect(resumed.stderr).toMatch(new RegExp(`resuming after line ${progress.line}`));
    const summary = JSON.parse(resumed.stdout) as Record<string, number>;
    const blankSkipped = lines.slice(0, progress.line).filter((line) => line === '').length;
    expect(summary).toMatchObject({ skipped: progress.line, rejected: 0 });
    // What the first run had acknowledged was not sent again; what it sent unanswered came back DUPLICATE.
    expect(summary['lines']).toBe(events - (progress.line - blankSkipped));
    expect(summary['duplicate']).toBe(appliedBeforeResume - (progress.line - blankSkipped));
    expect(product.applied.size).toBe(events);
    expect([...product.applied.values()].every((count) => count === 1)).toBe(true);
    expect(existsSync(`${file}.progress`)).toBe(false);
  });

  it('refuses a progress file of another domain unless --restart', async () => {
    const file = path.join(dir, 'other.ndjson');
    await writeFile(file, `${usageLine('o1')}\n${usageLine('o2')}\n`);
    await writeFile(`${file}.progress`, JSON.stringify({ version: 1, domain: 'sales', line: 1, offset: 10 }));
    const refused = await run(['--domain', 'product', '--url', origin, file]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/it is an import into sales; pass --restart/);
    const restarted = await run(['--domain', 'product', '--url', origin, '--restart', '--json', file]);
    expect(JSON.parse(restarted.stdout)).toMatchObject({ applied: 2, skipped: 0 });
  });

  it('says what is wrong: no file, no token, a refused token, an unknown domain, no hub', async () => {
    const file = path.join(dir, 'one.ndjson');
    await writeFile(file, `${usageLine('e1')}\n`);
    const cases: [string, Promise<CliResult>, RegExp][] = [
      [
        'missing file',
        run(['--domain', 'product', '--url', origin, path.join(dir, 'nope.ndjson')]),
        /nope\.ndjson: no such file/,
      ],
      ['no token', run(['--domain', 'product', '--url', origin, file], {}), /no token: set HUB_TOKEN/],
      [
        'refused token',
        run(['--domain', 'product', '--url', origin, file], { HUB_TOKEN: 'not-a-jwt' }),
        /HTTP 401 \(UNAUTHENTICATED: .*\)\n {2}HUB_TOKEN was refused/,
      ],
      [
        'unknown domain',
        run(['--domain', 'billing', '--url', origin, file]),
        /HTTP 404 \(NOT_FOUND: no sync API for domain "billing"\)/,
      ],
      [
        'no hub',
        run(['--domain', 'product', '--url', `http://127.0.0.1:${await closedPort()}`, file]),
        /the hub is not reachable at http:\/\/127\.0\.0\.1:\d+ \(.*ECONNREFUSED.*\)/,
      ],
      ['no domain', run(['--url', origin, file]), /--domain is required/],
    ];
    for (const [name, pending, message] of cases) {
      const result = await pending;
      expect(result.code, name).toBe(1);
      expect(result.stderr, name).toMatch(message);
    }
    expect(product.batches).toEqual([]);
  });
});
