/**
 * A recording HTTP proxy to put in front of a subgraph (via `SUBGRAPH_<NAME>_URL` and
 * `HUB_CUSTOMERS_URL`): what an attacker on the wire between the gateway and a subgraph sees.
 * It forwards every request and keeps the GraphQL POSTs' headers and bodies; told to `drop`, it
 * keeps the next one without forwarding it, so the token it carries is never used.
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface CapturedRequest {
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Record<string, unknown>;
  /** Whether it was forwarded (false: dropped, its token unused). */
  readonly forwarded: boolean;
}

export interface RecordingProxy {
  /** `http://127.0.0.1:<port>/graphql`. */
  readonly url: string;
  /** The subgraph's own URL; set once it is known (requests before that get 502). */
  target: string | undefined;
  readonly captured: CapturedRequest[];
  /** How many of the next GraphQL POSTs to record and answer 503 without forwarding. */
  drop: number;
  /**
   * Which POSTs `drop` applies to (default: all). The other subgraphs' replicas long-poll the
   * customers stream through the proxy all the time; a test dropping the gateway's requests skips them.
   */
  dropOnly: ((request: Omit<CapturedRequest, 'forwarded'>) => boolean) | undefined;
  stop(): Promise<void>;
}

const HOP_BY_HOP = new Set(['host', 'connection', 'content-length', 'transfer-encoding', 'keep-alive']);

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export async function startRecordingProxy(): Promise<RecordingProxy> {
  const server = createServer((req, res) => {
    void (async () => {
      const body = await readBody(req);
      if (!proxy.target) {
        res.writeHead(502).end();
        return;
      }
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(req.headers)) {
        if (typeof value === 'string' && !HOP_BY_HOP.has(name)) headers[name] = value;
      }
      const graphql = req.method === 'POST' && (req.url ?? '').startsWith('/graphql');
      const request = graphql
        ? { headers, body: JSON.parse(body.toString('utf8')) as Record<string, unknown> }
        : undefined;
      const dropped = request !== undefined && proxy.drop > 0 && (proxy.dropOnly?.(request) ?? true);
      if (request) proxy.captured.push({ ...request, forwarded: !dropped });
      if (dropped) {
        proxy.drop--;
        res.writeHead(503, { 'content-type': 'application/json' }).end('{"errors":[{"message":"dropped"}]}');
        return;
      }
      const upstream = await fetch(new URL(req.url ?? '/', proxy.target), {
        method: req.method ?? 'GET',
        headers,
        ...(req.method === 'GET' || req.method === 'HEAD' ? {} : { body }),
      });
      const answer = Buffer.from(await upstream.arrayBuffer());
      res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/json' });
      res.end(answer);
    })().catch(() => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const proxy: RecordingProxy = {
    url: `http://127.0.0.1:${port}/graphql`,
    target: undefined,
    captured: [],
    drop: 0,
    dropOnly: undefined,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return proxy;
}
