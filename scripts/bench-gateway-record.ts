/**
 * Recording the floor of `npm run bench:gateway`: the subgraph calls Apollo Gateway makes for each
 * client request, in the stages its query plan runs them, so the floor peer
 * (scripts/bench-gateway-peer.ts, `floor`) can make exactly those calls without a gateway.
 *
 * A timed proxy sits in front of each subgraph while a recording Apollo Gateway (composed against
 * the proxies, never the one measured) answers each distinct client body once, alone. A call's
 * stage is one more than the latest stage of the calls that had answered before it started (the
 * plan waited for them); calls started together run in one stage, in parallel.
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';

/** One subgraph call: where, to whom (the viewer token's audience), the body as sent and parsed. */
export interface FloorFetch {
  readonly subgraph: string;
  readonly url: string;
  readonly text: string;
  readonly body: { query?: string; variables?: Record<string, unknown>; operationName?: string };
}

/** Client body (exact JSON text the load generator sends) -> stages of calls, in order. */
export type FloorPlan = Record<string, FloorFetch[][]>;

interface Captured {
  readonly fetch: FloorFetch;
  readonly start: number;
  end: number;
}

export interface TimedRecorder {
  /** The URL the recording gateway calls `subgraph` at. */
  urlOf(subgraph: string): string;
  /** Runs `send` alone and returns the calls it caused, staged. */
  record(send: () => Promise<void>): Promise<FloorFetch[][]>;
  stop(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Forwarded headers: everything but hop-by-hop ones (the viewer token goes through unchanged). */
const HOP_BY_HOP = new Set(['host', 'connection', 'content-length', 'transfer-encoding', 'keep-alive']);

export async function startTimedRecorder(targets: Readonly<Record<string, string>>): Promise<TimedRecorder> {
  let captured: Captured[] = [];
  const proxies = await Promise.all(
    Object.entries(targets).map(async ([subgraph, target]) => {
      const server = createServer((req, res) => {
        void (async () => {
          const text = await readBody(req);
          const entry: Captured = {
            fetch: { subgraph, url: target, text, body: JSON.parse(text) as FloorFetch['body'] },
            start: performance.now(),
            end: Number.POSITIVE_INFINITY,
          };
          captured.push(entry);
          const headers: Record<string, string> = {};
          for (const [name, value] of Object.entries(req.headers))
            if (typeof value === 'string' && !HOP_BY_HOP.has(name)) headers[name] = value;
          const upstream = await fetch(target, { method: 'POST', headers, body: text });
          const answer = Buffer.from(await upstream.arrayBuffer());
          entry.end = performance.now();
          res.writeHead(upstream.status, { 'content-type': 'application/json' }).end(answer);
        })().catch(() => {
          if (!res.headersSent) res.writeHead(502);
          res.end();
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const url = `http://127.0.0.1:${String((server.address() as AddressInfo).port)}/graphql`;
      return { subgraph, url, server };
    }),
  );
  return {
    urlOf(subgraph) {
      const proxy = proxies.find((p) => p.subgraph === subgraph);
      if (!proxy) throw new Error(`no recording proxy for ${subgraph}`);
      return proxy.url;
    },
    async record(send) {
      captured = [];
      await send();
      return stage(captured);
    },
    stop: () =>
      Promise.all(proxies.map(({ server }) => new Promise<void>((resolve) => server.close(() => resolve())))).then(
        () => undefined,
      ),
  };
}

function stage(calls: readonly Captured[]): FloorFetch[][] {
  const ordered = [...calls].sort((a, b) => a.start - b.start);
  const stageOf = new Map<Captured, number>();
  for (const call of ordered) {
    const before = ordered.filter((other) => other.end <= call.start).map((other) => stageOf.get(other) ?? 0);
    stageOf.set(call, before.length === 0 ? 0 : Math.max(...before) + 1);
  }
  const stages: FloorFetch[][] = [];
  for (const call of ordered) {
    const index = stageOf.get(call) ?? 0;
    (stages[index] ??= []).push(call.fetch);
  }
  return stages.filter((calls) => calls.length > 0);
}
