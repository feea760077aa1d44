/**
 * A fake `product` subgraph answering `syncProduct` as the contract says (first time APPLIED, the
 * same key again DUPLICATE, an unknown customer REJECTED), and an NDJSON client for the route. The
 * gateway's own tests use them to pin the route's protocol without the domain subgraphs; the engine's
 * outcomes against real stores are the e2e tests' (tests/syncImport.e2e.ts).
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { forbidden } from '@hub/core/errors';
import { hasRole, type Viewer } from '@hub/core/viewer';
import { splitLines } from '../src/sync/lines.js';
import { startFakeSubgraph, type FakeSubgraph } from './helpers.js';
import { BRIEF_USAGE_ANALYTICS, FAKE_PRODUCT_SUBGRAPH_SDL } from './syncFixtures.js';

export type Event = {
  idempotencyKey?: string;
  source?: string;
  line?: number;
  usageAnalyticsSync: { customerId: string };
};

export interface FakeProduct {
  readonly subgraph: FakeSubgraph;
  /** Every batch received, in order. */
  readonly batches: Event[][];
  /** While set, each batch waits for it before answering. */
  hold: Promise<void> | undefined;
  /** Each batch waits this long before answering. */
  delayMs: number;
  /** APPLIED answers given, per key: a key applied twice would show 2. */
  readonly applied: Map<string, number>;
  reset(): void;
}

export async function startFakeProduct(): Promise<FakeProduct> {
  const seen = new Map<string, string>();
  const fake: FakeProduct = {
    subgraph: undefined as unknown as FakeSubgraph,
    batches: [],
    hold: undefined,
    delayMs: 0,
    applied: new Map(),
    reset() {
      seen.clear();
      fake.applied.clear();
      fake.batches.length = 0;
      fake.hold = undefined;
      fake.delayMs = 0;
    },
  };
  const subgraph = await startFakeSubgraph({
    name: 'product',
    sdl: FAKE_PRODUCT_SUBGRAPH_SDL,
    resolvers: {
      Query: { syncedEvents: () => seen.size },
      Mutation: {
        syncProduct: async (_parent: unknown, { events }: { events: Event[] }, { viewer }: { viewer: Viewer }) => {
          if (!hasRole(viewer, 'admin')) throw forbidden('only admins sync');
          fake.batches.push(events);
          await fake.hold;
          if (fake.delayMs > 0) await sleep(fake.delayMs);
          return {
            results: events.map((event, index) => {
              const key =
                event.idempotencyKey ??
                createHash('sha256').update(JSON.stringify(event.usageAnalyticsSync)).digest('hex');
              const common = { index, line: event.line, idempotencyKey: key, kind: 'usage_analytics_sync' };
              if (event.usageAnalyticsSync.customerId === 'cust_missing') {
                const reason = 'customer cust_missing was not found';
                return {
                  ...common,
                  outcome: 'REJECTED',
                  code: 'NOT_FOUND',
                  reason,
                  field: 'customerId',
                  deadLetterId: 'dl_1',
                };
              }
              const first = seen.get(key);
              if (first !== undefined) return { ...common, outcome: 'DUPLICATE', firstOutcome: first };
              seen.set(key, 'APPLIED');
              fake.applied.set(key, (fake.applied.get(key) ?? 0) + 1);
              return { ...common, outcome: 'APPLIED' };
            }),
          };
        },
      },
    },
  });
  return Object.assign(fake, { subgraph });
}

const usage = BRIEF_USAGE_ANALYTICS.usage_analytics_sync;
export const usageLine = (customerId: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ ...extra, usage_analytics_sync: { ...usage, customer_id: customerId } });

export type Answer = Record<string, unknown>;

export interface ImportResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  lines: Answer[];
}

/** POSTs `body` (text or an async iterable of chunks) and reads the NDJSON (or JSON error) answer. */
export async function postImport(
  url: string,
  body: string | AsyncIterable<string>,
  bearer: string | undefined,
  headers: Record<string, string> = {},
): Promise<ImportResponse> {
  const response = await request(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-ndjson',
      ...(bearer !== undefined ? { authorization: `Bearer ${bearer}` } : {}),
      ...headers,
    },
    body: typeof body === 'string' ? body : Readable.from(body),
  });
  const lines: Answer[] = [];
  for await (const line of splitLines(response.body)) if ('text' in line) lines.push(JSON.parse(line.text) as Answer);
  return { status: response.statusCode, headers: response.headers, lines };
}
