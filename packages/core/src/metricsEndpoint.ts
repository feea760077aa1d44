/**
 * Where a hub process serves Prometheus `/metrics`, and who may read it. Metrics name internal
 * routes, subgraphs and error rates, so in production they never share the public port: they get
 * their own listener (`METRICS_PORT`), optionally behind a bearer token (`METRICS_TOKEN`). In
 * development they stay on the main port for convenience unless `METRICS_PORT` is set.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { EnvReader } from './config.js';

export interface MetricsEndpointConfig {
  /** Port of the separate metrics listener (`0` = a free one, logged); `undefined` = the main port (development). */
  readonly port: number | undefined;
  /** Interface of the separate listener. */
  readonly host: string;
  /** Bearer token a scraper must send; `undefined` = none. */
  readonly token: string | undefined;
}

/** Shorter tokens are guessable; the same floor as the hub's other production secrets would be overkill here. */
const MIN_TOKEN_LENGTH = 16;

/**
 * `METRICS_PORT`, `METRICS_HOST`, `METRICS_TOKEN`. In production the port defaults to `defaultPort`
 * (gateway 9400, subgraphs 9401–9407) and may not be the public port.
 */
export function readMetricsEndpoint(
  env: EnvReader,
  options: { production: boolean; host: string; port: number; defaultPort: number },
): MetricsEndpointConfig {
  const explicit = env.optional('METRICS_PORT') !== undefined;
  const port =
    explicit || options.production ? env.int('METRICS_PORT', options.defaultPort, { max: 65535 }) : undefined;
  if (options.production && port !== undefined && port !== 0 && port === options.port) {
    env.problems.push('METRICS_PORT must differ from PORT in production: /metrics is never served on the public port');
  }
  const token = env.optional('METRICS_TOKEN');
  if (token !== undefined && token.length < MIN_TOKEN_LENGTH) {
    env.problems.push(`METRICS_TOKEN must be at least ${MIN_TOKEN_LENGTH} characters`);
  }
  return { port, host: env.string('METRICS_HOST', options.host), token };
}

const digest = (value: string) => createHash('sha256').update(value).digest();

/** Constant-time check of `Authorization: Bearer <token>` (hashing first equalizes the lengths). */
export function metricsAuthorized(authorization: string | undefined, token: string | undefined): boolean {
  if (token === undefined) return true;
  const presented = /^Bearer\s+(\S+)$/i.exec(authorization ?? '')?.[1];
  return presented !== undefined && timingSafeEqual(digest(presented), digest(token));
}

/** Answers one `/metrics` request (node:http or express): 401 without the token, else the exposition. */
export async function serveMetrics(
  req: IncomingMessage,
  res: ServerResponse,
  registry: Registry,
  token: string | undefined,
): Promise<void> {
  if (!metricsAuthorized(req.headers.authorization, token)) {
    res.writeHead(401, { 'content-type': 'text/plain', 'www-authenticate': 'Bearer' }).end('metrics token required\n');
    return;
  }
  const body = await registry.metrics();
  res.writeHead(200, { 'content-type': registry.contentType }).end(body);
}

export interface MetricsServer {
  /** e.g. `http://127.0.0.1:9400/metrics`. */
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
}

/**
 * The separate metrics listener: `GET /metrics` and nothing else (404), so it offers no other
 * surface. node:http rather than express: one route needs no framework.
 */
export async function startMetricsServer(
  registry: Registry,
  config: MetricsEndpointConfig & { port: number },
): Promise<MetricsServer> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (req.method !== 'GET' || path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    serveMetrics(req, res, registry, config.token).catch(() => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('metrics unavailable\n');
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}/metrics`,
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
