/**
 * One peer of `npm run bench:gateway` (scripts/bench-gateway.ts), run as its own process so the
 * benchmark can read its CPU seconds from /proc: plain Apollo Gateway, Hive Gateway with its
 * JavaScript planner or with Hive Router's Rust planner, or the floor. Each listens on
 * 127.0.0.1:$PORT/graphql in front of the subgraphs named in $SUPERGRAPH_PATH and logs one JSON line
 * `{"msg":"peer ready","url":…}` (what spawnService waits for).
 *
 * The subgraphs accept only the hub's signed viewer header (packages/core/src/viewer.ts: addressed
 * to one subgraph, bound to the request's hash, single use), so a pre-signed header cannot be
 * reused: every peer signs each subgraph fetch just before sending it, with the gateway's key and
 * one fixed viewer (an acme admin, as the hub's own gateway does for the bench's admin token). The
 * subgraphs then do the same work for every peer. Peers check no bearer token: that work is the
 * hub's alone and counts against it.
 *
 * BENCH_PEER:
 *  - `apollo`    `@apollo/gateway` under `@apollo/server` (standalone), a RemoteGraphQLDataSource
 *                whose willSendRequest signs; its default fetcher (make-fetch-happen), nothing tuned.
 *  - `hive`      `@graphql-hive/gateway-runtime` (the runtime of Hive Gateway 2.15) with an onFetch
 *                plugin that signs the body it is about to send; defaults otherwise (in-flight
 *                deduplication of identical queries included).
 *  - `hive-rust` the same with `unifiedGraphHandler` of `@graphql-hive/router-runtime` (Hive Router's
 *                Rust query planner as a native addon, and its executor).
 *  - `floor`     no gateway: replays, per client request, the subgraph calls Apollo Gateway made for
 *                that request (recorded by the benchmark into $BENCH_FLOOR_PLAN), stage by stage,
 *                signed, over a pooled undici agent, and answers their bodies concatenated. No
 *                parsing, planning or merging: what any gateway must at least spend.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloGateway, RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { createGatewayRuntime, type GatewayPlugin } from '@graphql-hive/gateway-runtime';
import { unifiedGraphHandler } from '@graphql-hive/router-runtime';
import { Agent, request as undiciRequest } from 'undici';
import { EnvReader } from '@hub/core/config';
import { GATEWAY_PRINCIPAL, parseSigningKey } from '@hub/core/keys';
import { createViewerSigner, REQUEST_ID_HEADER, VIEWER_HEADER, type Viewer } from '@hub/core/viewer';
import type { FloorPlan } from './bench-gateway-record.js';

const PEERS = ['apollo', 'hive', 'hive-rust', 'floor'] as const;
type Peer = (typeof PEERS)[number];

const read = new EnvReader();
const config = read.done({
  peer: read.oneOf<Peer>('BENCH_PEER', PEERS, 'apollo'),
  supergraphPath: read.string('SUPERGRAPH_PATH'),
  privateKey: read.string('HUB_GATEWAY_PRIVATE_KEY'),
  port: read.int('PORT', 0, { min: 0, max: 65535 }),
  floorPlan: read.optional('BENCH_FLOOR_PLAN'),
});

const signer = createViewerSigner({
  issuer: GATEWAY_PRINCIPAL,
  privateKey: parseSigningKey(config.privateKey, 'private'),
});
/** The fixed viewer every peer speaks for: what the hub's gateway builds from an acme admin token. */
const viewerFor = (): Viewer => ({
  userId: 'u1',
  tenantId: 'acme',
  roles: ['admin'],
  book: [],
  requestId: randomUUID(),
});
const supergraphSdl = readFileSync(config.supergraphPath, 'utf8');

/** Subgraph name (the viewer token's audience) by URL, from the supergraph's `join__Graph` enum. */
function subgraphsByUrl(sdl: string): Map<string, string> {
  const byUrl = new Map<string, string>();
  for (const match of sdl.matchAll(/@join__graph\(name:\s*"([^"]+)",\s*url:\s*"([^"]+)"\)/g)) {
    const [, name, url] = match;
    if (name && url) byUrl.set(url, name);
  }
  return byUrl;
}

class SigningDataSource extends RemoteGraphQLDataSource {
  constructor(
    private readonly subgraph: string,
    url: string,
  ) {
    super({ url });
  }
  override willSendRequest({ request }: GraphQLDataSourceProcessOptions): void {
    const viewer = viewerFor();
    request.http?.headers.set(VIEWER_HEADER, signer.sign(viewer, this.subgraph, request));
    request.http?.headers.set(REQUEST_ID_HEADER, viewer.requestId);
  }
}

async function startApollo(): Promise<string> {
  const gateway = new ApolloGateway({
    supergraphSdl,
    buildService: ({ name, url }) => new SigningDataSource(name, url ?? ''),
  });
  const server = new ApolloServer({ gateway });
  const { url } = await startStandaloneServer(server, { listen: { port: config.port, host: '127.0.0.1' } });
  return new URL('/graphql', url).toString();
}

/** Signs the body Hive is about to send, addressed to the subgraph its URL belongs to. */
function signingPlugin(byUrl: Map<string, string>): GatewayPlugin {
  return {
    onFetch({ url, options, setOptions }) {
      const subgraph = byUrl.get(url);
      if (!subgraph || typeof options.body !== 'string') return;
      const viewer = viewerFor();
      const token = signer.sign(viewer, subgraph, JSON.parse(options.body) as Record<string, never>);
      setOptions({
        ...options,
        headers: {
          ...(options.headers as Record<string, string>),
          [VIEWER_HEADER]: token,
          [REQUEST_ID_HEADER]: viewer.requestId,
        },
      });
    },
  };
}

function listen(handler: RequestListener): Promise<string> {
  const server = createServer(handler);
  server.keepAliveTimeout = 30_000;
  return new Promise((resolve) =>
    server.listen(config.port, '127.0.0.1', () => {
      resolve(`http://127.0.0.1:${String((server.address() as AddressInfo).port)}/graphql`);
    }),
  );
}

function startHive(rust: boolean): Promise<string> {
  const gateway = createGatewayRuntime({
    supergraph: config.supergraphPath,
    // BENCH_PEER_LOG=error (or debug) shows why a request failed; Hive masks errors to clients.
    logging: (process.env['BENCH_PEER_LOG'] as 'error' | undefined) ?? false,
    plugins: () => [signingPlugin(subgraphsByUrl(supergraphSdl))],
    ...(rust ? { unifiedGraphHandler } : {}),
  });
  return listen(gateway as unknown as RequestListener);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function startFloor(): Promise<string> {
  if (!config.floorPlan) throw new Error('BENCH_PEER=floor needs BENCH_FLOOR_PLAN');
  const plan = JSON.parse(readFileSync(config.floorPlan, 'utf8')) as FloorPlan;
  const agent = new Agent({ connections: 64, keepAliveTimeout: 30_000 });
  const call = async (fetch: FloorPlan[string][number][number]): Promise<string> => {
    const viewer = viewerFor();
    const response = await undiciRequest(fetch.url, {
      method: 'POST',
      dispatcher: agent,
      headers: {
        'content-type': 'application/json',
        [VIEWER_HEADER]: signer.sign(viewer, fetch.subgraph, fetch.body),
        [REQUEST_ID_HEADER]: viewer.requestId,
      },
      body: fetch.text,
    });
    return response.body.text();
  };
  return listen((req, res) => {
    void (async () => {
      const stages = plan[await readBody(req)];
      if (!stages) {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"errors":[{"message":"not recorded"}]}');
        return;
      }
      const answers: string[] = [];
      for (const stage of stages) answers.push(...(await Promise.all(stage.map(call))));
      res.writeHead(200, { 'content-type': 'application/json' }).end(`[${answers.join(',')}]`);
    })().catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(502);
      res.end(String(error));
    });
  });
}

const url = await (config.peer === 'apollo'
  ? startApollo()
  : config.peer === 'floor'
    ? startFloor()
    : startHive(config.peer === 'hive-rust'));
process.stdout.write(`${JSON.stringify({ msg: 'peer ready', peer: config.peer, url })}\n`);
process.on('SIGTERM', () => process.exit(0));
