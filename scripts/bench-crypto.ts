/**
 * `npm run bench:crypto`: what encryption at rest (packages/core/src/crypto) costs the 100-customer
 * read. Two customers subgraphs in this process, both seeded with the demo data (300 customers per
 * tenant, 1–3 contacts each): one with encryption on (the default: every contact email and phone is
 * ciphertext, decrypted on read), one with it off (`masterKeys: null`, plaintext columns). Each is
 * asked, over HTTP as acme's admin (unmasked, so every value is decrypted), for 100 customers with
 * their contacts' names, emails and phones. A third subgraph reads the encrypted data with the
 * decrypted-value cache off (HUB_ENCRYPTION_CACHE=0): every value decrypted on every read. The three
 * are asked in rotation, so load on the machine hits them alike. Prints p50 / p95 / mean per side and
 * the ratios to the plaintext side (target: p50 <= 1.10x).
 *
 * Options: BENCH_ITERATIONS (default 300), BENCH_WARMUP (30), BENCH_STORES (`postgres,pglite`).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { EnvReader } from '@hub/core/config';
import { startSubgraph, type RunningSubgraph } from '@hub/core/subgraph';
import { acme, createTestDatabase, gql, registerTestSubgraph } from '@hub/core/testing';
import type { StoreConfig } from '@hub/store';
import { subgraph } from '@hub/subgraph-customers/src/server.js';

const read = new EnvReader();
const config = read.done({
  iterations: read.int('BENCH_ITERATIONS', 300, { min: 10 }),
  warmup: read.int('BENCH_WARMUP', 30, { min: 0 }),
  stores: read.string('BENCH_STORES', 'postgres,pglite').split(','),
});

const QUERY = /* GraphQL */ `
  {
    customers(first: 100) {
      edges {
        node {
          id
          name
          contacts(first: 10) {
            edges {
              node {
                id
                firstName
                lastName
                email
                phone
              }
            }
          }
        }
      }
    }
  }
`;

function stats(samples: number[]): { p50: number; p95: number; mean: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  return { p50: at(0.5), p95: at(0.95), mean: sorted.reduce((a, b) => a + b, 0) / sorted.length };
}

async function once(url: string): Promise<{ ms: number; contacts: number }> {
  const started = performance.now();
  const res = await gql<{ customers: { edges: { node: { contacts: { edges: { node: { email: string } }[] } } }[] } }>(
    url,
    QUERY,
    {},
    acme,
  );
  const ms = performance.now() - started;
  if (res.errors) throw new Error(JSON.stringify(res.errors));
  const edges = res.data?.customers.edges ?? [];
  const contacts = edges.reduce((n, e) => n + e.node.contacts.edges.length, 0);
  if (edges.length !== 100 || !edges[0]?.node.contacts.edges[0]?.node.email.includes('@'))
    throw new Error('unexpected answer');
  return { ms, contacts };
}

/** `cold`: the encrypted store a second, cache-less process reads (PostgreSQL: `on`'s; PGlite: its own copy). */
async function bench(label: string, stores: { on: StoreConfig; cold?: StoreConfig; off: StoreConfig }): Promise<void> {
  const common = {
    port: 0,
    seedDemo: true,
    migrate: true,
    logLevel: 'warn',
    jobs: false,
    relay: false,
    consumers: false,
  };
  const on = await startSubgraph(subgraph, { ...common, store: stores.on });
  // The same store read by a second process that keeps no decrypted values: every read decrypts.
  const cold = await startSubgraph(subgraph, {
    ...common,
    store: stores.cold ?? stores.on,
    seedDemo: stores.cold !== undefined,
    encryptionCache: 0,
  });
  const off: RunningSubgraph = await startSubgraph(subgraph, { ...common, store: stores.off, masterKeys: null });
  for (const running of [on, cold, off]) registerTestSubgraph(running.url, 'customers');
  try {
    const raw = await on.store.sql.query<{ email: string }>(`SELECT "email" FROM "Contact" LIMIT 1`);
    const plain = await off.store.sql.query<{ email: string }>(`SELECT "email" FROM "Contact" LIMIT 1`);
    if (!raw[0]?.email.startsWith('v1:') || plain[0]?.email.startsWith('v1:'))
      throw new Error('the two stores are not encrypted / plaintext as intended');
    const sides = { off: off.url, on: on.url, cold: cold.url } as const;
    const names = Object.keys(sides) as (keyof typeof sides)[];
    for (let i = 0; i < config.warmup; i++) for (const side of names) await once(sides[side]);
    const samples = { off: [] as number[], on: [] as number[], cold: [] as number[] };
    let contacts = 0;
    for (let i = 0; i < config.iterations; i++) {
      // Rotate which side goes first, so none always follows another's garbage.
      for (let k = 0; k < names.length; k++) {
        const side = names[(i + k) % names.length] ?? 'off';
        const result = await once(sides[side]);
        samples[side].push(result.ms);
        contacts = result.contacts;
      }
    }
    const base = stats(samples.off);
    const fmt = (s: { p50: number; p95: number; mean: number }) =>
      `p50 ${s.p50.toFixed(2)} ms  p95 ${s.p95.toFixed(2)} ms  mean ${s.mean.toFixed(2)} ms`;
    console.log(
      `\n${label}: 100 customers, ${contacts} contacts (email + phone each), ${config.iterations} requests per side`,
    );
    console.log(`  encryption off:                  ${fmt(base)}`);
    for (const [side, title] of [
      ['on', 'encryption on:                 '],
      ['cold', 'encryption on, no value cache: '],
    ] as const) {
      const s = stats(samples[side]);
      const ratio = s.p50 / base.p50;
      console.log(
        `  ${title} ${fmt(s)}  ratio p50 ${ratio.toFixed(3)}x, p95 ${(s.p95 / base.p95).toFixed(3)}x, mean ${(s.mean / base.mean).toFixed(3)}x (target p50 <= 1.10x: ${ratio <= 1.1 ? 'met' : 'NOT met'})`,
      );
    }
  } finally {
    await on.stop();
    await cold.stop();
    await off.stop();
  }
}

console.log(
  `bench:crypto — load average ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);
if (config.stores.includes('postgres')) {
  const database = await createTestDatabase('hub_bench_crypto');
  try {
    await bench('PostgreSQL', {
      on: { kind: 'postgres', url: database.url, schema: 'customers_enc' },
      off: { kind: 'postgres', url: database.url, schema: 'customers_plain' },
    });
  } finally {
    await database.drop();
  }
}
if (config.stores.includes('pglite')) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'hub-bench-crypto-'));
  try {
    await bench('PGlite', {
      on: { kind: 'embedded', dataDir: path.join(dir, 'enc') },
      cold: { kind: 'embedded', dataDir: path.join(dir, 'cold') },
      off: { kind: 'embedded', dataDir: path.join(dir, 'plain') },
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
console.log(
  `\nload average after: ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);
