/**
 * `POST /sync/<domain>` over real HTTP against a real gateway and the fake `product` subgraph of
 * syncHarness.ts: streaming, batching, order, line numbers, refusals, the request budget.
 */
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startGateway, type RunningGateway } from '../src/server.js';
import { splitLines } from '../src/sync/lines.js';
import { startCustomersSubgraph, startSalesSubgraph, testConfig, token, type FakeSubgraph } from './helpers.js';
import { BRIEF_USAGE_ANALYTICS, BRIEF_USAGE_ANALYTICS_EVENT } from './syncFixtures.js';
import {
  postImport,
  startFakeProduct,
  usageLine,
  type Answer,
  type FakeProduct,
  type ImportResponse,
} from './syncHarness.js';

const usage = BRIEF_USAGE_ANALYTICS.usage_analytics_sync;

describe('POST /sync/<domain>', () => {
  let customers: FakeSubgraph;
  let sales: FakeSubgraph;
  let product: FakeProduct;
  let gateway: RunningGateway;
  let base: string;
  let admin: string;

  beforeAll(async () => {
    customers = await startCustomersSubgraph();
    sales = await startSalesSubgraph();
    product = await startFakeProduct();
    gateway = await startGateway(
      testConfig([customers, sales, product.subgraph], {
        syncImport: { batchSize: 3, lingerMs: 50, maxLineBytes: 4096, maxBatchBytes: 64 * 1024 },
      }),
    );
    base = `${new URL(gateway.url).origin}/sync`;
    admin = await token({ roles: ['admin'] });
  });
  afterAll(async () => {
    await gateway.stop();
    await Promise.allSettled([customers.stop(), sales.stop(), product.subgraph.stop()]);
  });
  beforeEach(() => product.reset());

  it("imports the brief's usage analytics line as written (snake_case), then answers DUPLICATE when it is sent again", async () => {
    const body = `${JSON.stringify(BRIEF_USAGE_ANALYTICS)}\n`;
    const first = await postImport(`${base}/product`, body, admin);
    expect(first.status).toBe(200);
    expect(first.headers['content-type']).toMatch(/^application\/x-ndjson/);
    expect(product.batches).toEqual([[{ ...BRIEF_USAGE_ANALYTICS_EVENT, line: 1 }]]);
    const key = first.lines[0]?.['idempotency_key'];
    expect(first.lines).toEqual([
      { line: 1, outcome: 'APPLIED', idempotency_key: key },
      { summary: { applied: 1, merged: 0, stale: 0, duplicate: 0, rejected: 0, lines: 1 } },
    ]);
    const again = await postImport(`${base}/product`, body, admin);
    expect(again.lines).toEqual([
      { line: 1, outcome: 'DUPLICATE', idempotency_key: key, first_outcome: 'APPLIED' },
      { summary: { applied: 0, merged: 0, stale: 0, duplicate: 1, rejected: 0, lines: 1 } },
    ]);
  });

  it('answers every line in order with its number: bad lines rejected where they are, the others applied in batches', async () => {
    const lines = [
      usageLine('c1'), // 1
      '{"usage_analytics_sync": {', // 2 bad JSON
      '', // 3 blank: numbered, not answered
      usageLine('c2'), // 4
      '{"billing_sync": {}}', // 5 unknown kind
      usageLine('cust_missing'), // 6 rejected by the domain
      JSON.stringify({ usage_analytics_sync: { ...usage, usage_count: 'x' } }), // 7 unknown field
      'x'.repeat(5000), // 8 over maxLineBytes (4096)
      usageLine('c3'), // 9
      usageLine('c4', { idempotency_key: 'k4' }), // 10
      usageLine('c5'), // 11
    ];
    const { status, lines: answers } = await postImport(`${base}/product`, `${lines.join('\r\n')}\r\n`, admin);
    expect(status).toBe(200);
    expect(answers.map((a) => [a['line'], a['outcome'], a['code'] ?? null, a['field'] ?? null])).toEqual([
      [1, 'APPLIED', null, null],
      [2, 'REJECTED', 'BAD_USER_INPUT', null],
      [4, 'APPLIED', null, null],
      [5, 'REJECTED', 'BAD_USER_INPUT', 'billing_sync'],
      [6, 'REJECTED', 'NOT_FOUND', 'customerId'],
      [7, 'REJECTED', 'BAD_USER_INPUT', 'usageCount'],
      [8, 'REJECTED', 'BAD_USER_INPUT', null],
      [9, 'APPLIED', null, null],
      [10, 'APPLIED', null, null],
      [11, 'APPLIED', null, null],
      [undefined, undefined, null, null],
    ]);
    expect(answers[2]?.['reason']).toBeUndefined();
    expect(answers[1]?.['reason']).toMatch(/not valid JSON/);
    expect(answers[6]?.['reason']).toBe('the line is longer than 4096 bytes');
    expect(answers[4]).toMatchObject({ dead_letter_id: 'dl_1', reason: 'customer cust_missing was not found' });
    expect(answers[8]).toMatchObject({ idempotency_key: 'k4' });
    expect(answers.at(-1)).toEqual({
      summary: { applied: 5, merged: 0, stale: 0, duplicate: 0, rejected: 5, lines: 10 },
    });
    // Only valid lines reach the domain, batchSize (3) per call, each with its line number.
    expect(product.batches.map((batch) => batch.map((event) => event.line))).toEqual([
      [1, 4, 6],
      [9, 10, 11],
    ]);
  });

  it('numbers lines from ?first_line= and fills a missing source from ?source=', async () => {
    const body = [usageLine('c1'), usageLine('c2', { source: 'amplitude' })].join('\n');
    const { lines } = await postImport(`${base}/product?source=mixpanel&first_line=501`, body, admin);
    expect(lines.slice(0, 2).map((a) => a['line'])).toEqual([501, 502]);
    expect(product.batches.flat().map((event) => [event.line, event.source])).toEqual([
      [501, 'mixpanel'],
      [502, 'amplitude'],
    ]);
  });

  it('streams: the first answers arrive while the body is still being sent', async () => {
    let releaseRest: () => void = () => undefined;
    const rest = new Promise<void>((resolve) => (releaseRest = resolve));
    async function* body() {
      yield `${usageLine('s1')}\n`;
      // The route flushes a partial batch after lingerMs (50); the rest waits for the first answer.
      await rest;
      for (let i = 2; i <= 7; i++) yield `${usageLine(`s${i}`)}\n`;
    }
    const response = await request(`${base}/product`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson', authorization: `Bearer ${admin}` },
      body: Readable.from(body()),
    });
    expect(response.statusCode).toBe(200);
    const answers = splitLines(response.body)[Symbol.asyncIterator]();
    const first = await answers.next();
    expect(first.done).toBe(false);
    expect(JSON.parse((first.value as { text: string }).text)).toMatchObject({ line: 1, outcome: 'APPLIED' });
    releaseRest();
    const later: Answer[] = [];
    for (let next = await answers.next(); !next.done; next = await answers.next()) {
      if ('text' in next.value) later.push(JSON.parse(next.value.text) as Answer);
    }
    expect(later.map((a) => a['line'] ?? 'summary')).toEqual([2, 3, 4, 5, 6, 7, 'summary']);
  });

  it('does not read the body ahead of the batches: a held batch stops the reads and the sender', async () => {
    const held = await startGateway(
      testConfig([customers, sales, product.subgraph], {
        syncImport: { batchSize: 1000, lingerMs: 50, maxLineBytes: 8192, maxBatchBytes: 64 * 1024 },
      }),
    );
    try {
      let release: () => void = () => undefined;
      product.hold = new Promise<void>((resolve) => (release = resolve));
      // ~4 KB lines; 40 MB in all, far beyond what socket buffers hold.
      const line = `${usageLine('big', { source: 'x'.repeat(3200) })}\n`;
      const total = 10_000;
      let produced = 0;
      let stopAt = total;
      async function* body() {
        for (let i = 0; i < stopAt; i++) {
          produced++;
          yield line.replace('"big"', `"big${i}"`);
        }
      }
      const answer = postImport(`${new URL(held.url).origin}/sync/product`, body(), admin);
      await sleep(1500);
      const whileHeld = produced;
      expect(product.batches.length).toBe(1);
      // Enough shown: end the body soon after the hold is released, and check every line was answered.
      stopAt = whileHeld + 100;
      release();
      product.hold = undefined;
      const { lines } = await answer;
      // The route holds at most two batches (64 KiB each); the rest is what socket buffers took (a few MB).
      expect(whileHeld).toBeLessThan(total / 4);
      expect(lines.at(-1)).toMatchObject({ summary: { applied: stopAt, lines: stopAt } });
      expect(lines.slice(0, -1).map((answer) => answer['line'])).toEqual(
        Array.from({ length: stopAt }, (_, i) => i + 1),
      );
    } finally {
      await held.stop();
    }
  });

  it('answers an empty body with an empty summary (a client checking its token and domain)', async () => {
    const { status, lines } = await postImport(`${base}/product`, '', admin);
    expect(status).toBe(200);
    expect(lines).toEqual([{ summary: { applied: 0, merged: 0, stale: 0, duplicate: 0, rejected: 0, lines: 0 } }]);
    expect(product.batches).toEqual([]);
  });

  it('refuses with an HTTP status and a coded JSON error: credentials, domain, method, content type, role', async () => {
    const body = `${usageLine('c1')}\n`;
    const cases: [string, Promise<ImportResponse>, number, string][] = [
      ['no token', postImport(`${base}/product`, body, undefined), 401, 'UNAUTHENTICATED'],
      ['a forged token', postImport(`${base}/product`, body, `${admin.slice(0, -4)}AAAA`), 401, 'UNAUTHENTICATED'],
      ['an unknown domain', postImport(`${base}/billing`, body, admin), 404, 'NOT_FOUND'],
      ['a domain without a sync API', postImport(`${base}/sales`, body, admin), 404, 'NOT_FOUND'],
      ['no domain', postImport(`${base}/`, body, admin), 404, 'NOT_FOUND'],
      [
        'JSON instead of NDJSON',
        postImport(`${base}/product`, body, admin, { 'content-type': 'application/json' }),
        415,
        'BAD_REQUEST',
      ],
      ['a bad ?first_line=', postImport(`${base}/product?first_line=0`, body, admin), 400, 'BAD_USER_INPUT'],
      [
        'a role the domain refuses (FORBIDDEN from the subgraph)',
        postImport(`${base}/product`, body, await token({ roles: ['marketing'] })),
        403,
        'FORBIDDEN',
      ],
    ];
    for (const [name, pending, status, code] of cases) {
      const response = await pending;
      expect(response.status, name).toBe(status);
      expect(response.lines, name).toEqual([
        { errors: [expect.objectContaining({ extensions: expect.objectContaining({ code }) })] },
      ]);
    }
    const get = await request(`${base}/product`, { method: 'GET', headers: { authorization: `Bearer ${admin}` } });
    expect(get.statusCode).toBe(405);
    expect(await get.body.json()).toMatchObject({ errors: [{ extensions: { code: 'BAD_REQUEST' } }] });
    expect(product.batches.flat().length).toBe(0);
  });

  it('counts each batch against the request budget, waiting for the window instead of dropping lines', async () => {
    const limited = await startGateway(
      testConfig([customers, sales, product.subgraph], {
        syncImport: { batchSize: 2, lingerMs: 50, maxLineBytes: 4096, maxBatchBytes: 64 * 1024 },
        limits: {
          ...gateway.hub.config.limits,
          windowSeconds: 1,
          roles: {
            ...gateway.hub.config.limits.roles,
            admin: { ...gateway.hub.config.limits.roles['admin'], requestsPerWindow: 2 } as never,
          },
        },
      }),
    );
    try {
      const url = `${new URL(limited.url).origin}/sync/product`;
      const body = Array.from({ length: 8 }, (_, i) => usageLine(`r${i}`)).join('\n');
      const started = Date.now();
      const { lines } = await postImport(url, body, admin);
      // 4 batches with 2 requests per 1 s window: at least one wait for the next window.
      expect(Date.now() - started).toBeGreaterThanOrEqual(900);
      expect(lines.at(-1)).toMatchObject({ summary: { applied: 8, lines: 8 } });
    } finally {
      await limited.stop();
    }
  });
});
