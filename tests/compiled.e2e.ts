/**
 * The hub on its production runtime (issue 10 item 2): `npm run build:server` bundles the gateway
 * and the seven subgraphs, and every process then runs on plain node from dist/server — no tsx —
 * over a fresh PostgreSQL database. The bundles read their assets (schemas, migrations, persisted
 * operations) from the checkout, answer the README tour with the same row rules, write through
 * the sync pipeline and keep errors coded and stack-free.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DOMAINS } from '@hub/core/domains';
import { REPO_ROOT, compiledEntry } from '@hub/core/process';
import { startHub, type Hub } from './support/hub.js';
import { readmeTour, tokenClaimsOf } from './support/readme.js';

let hub: Hub;
let buildOutput: string;

beforeAll(async () => {
  buildOutput = execFileSync('npm', ['run', '-s', 'build:server'], { cwd: REPO_ROOT, encoding: 'utf8' });
  hub = await startHub({ runtime: 'compiled' });
}, 600_000);
afterAll(async () => {
  await hub?.stop();
});

const cmdline = (pid: number | undefined) => readFileSync(`/proc/${String(pid)}/cmdline`, 'utf8').split('\0');

describe('the hub compiled (npm run build:server, HUB_RUNTIME=compiled)', () => {
  it('builds one bundle per process and runs each on plain node, without tsx', () => {
    expect(buildOutput).toMatch(/built 8 processes into dist\/server/);
    const entries = ['gateway/src/index.ts', ...DOMAINS.map((d) => `subgraphs/${d}/src/index.ts`)];
    for (const entry of entries) expect(statSync(path.join(REPO_ROOT, compiledEntry(entry))).size).toBeGreaterThan(0);
    const processes = [hub.gateway, ...DOMAINS.map((d) => hub.subgraphs[d])];
    for (const service of processes) {
      const args = cmdline(service.child.pid);
      expect(args.join(' ')).not.toMatch(/tsx/);
      expect(args.some((arg) => arg.includes(`${path.sep}dist${path.sep}server${path.sep}`))).toBe(true);
    }
  });

  it('serves the browser pages from the checkout (the bundle finds console/dist beside its source)', async () => {
    const origin = new URL(hub.gatewayUrl).origin;
    for (const page of ['/console', '/graphiql']) {
      const response = await fetch(`${origin}${page}`);
      expect(response.status, page).toBe(200);
      expect(await response.text()).toMatch(/<script type="module"/);
    }
  });

  it.each(readmeTour().map((example) => [example.title, example] as const))(
    'README tour %s: the full role reads it all, the narrower one is refused exactly the fields named',
    async (_title, example) => {
      const answer = await hub.query(example.query, {}, await hub.token(tokenClaimsOf(example.full)));
      expect(answer.errors).toBeUndefined();
      expect(Object.values(answer.data ?? {}).every((value) => value !== null)).toBe(true);
      const refused = await hub.query(example.query, {}, await hub.token(tokenClaimsOf(example.narrower)));
      const errors = refused.errors ?? [];
      expect(errors.map((error) => error.extensions?.['code'])).toEqual(errors.map(() => 'FORBIDDEN'));
      const fields = errors.map((error) => (error.path ?? []).filter((key) => typeof key === 'string').at(-1));
      expect(new Set(fields)).toEqual(new Set(example.forbidden));
    },
  );

  it('answers bad input and missing credentials with coded errors and no stack', async () => {
    const admin = await hub.token({ tenant: 'acme', roles: ['admin'] });
    const bad = await hub.query(
      'mutation { createOpportunity(input: { customerId: "cust_00001", ownerId: "u1", type: UPSELL, value: "100.00", probability: 1.7, timeline: "q1_2026", successFactors: [] }) { id } }',
      {},
      admin,
    );
    expect(bad.errors?.[0]?.extensions?.['code']).toBe('BAD_USER_INPUT');
    const anonymous = await hub.query('{ customers(first: 1) { edges { node { id } } } }');
    for (const answer of [bad, anonymous]) {
      expect(answer.errors?.length).toBeGreaterThan(0);
      for (const error of answer.errors ?? []) {
        expect(typeof error.extensions?.['code']).toBe('string');
        expect(JSON.stringify(error)).not.toMatch(/stacktrace|\.(ts|js):\d+/);
      }
    }
    expect(anonymous.errors?.[0]?.extensions?.['code']).toBe('UNAUTHENTICATED');
  });
});
