/**
 * Starts the whole hub as real processes for end-to-end tests: seven subgraphs on free ports over a
 * fresh PostgreSQL database (one schema per domain), then the gateway on port 0 composed from them.
 * Production mode with a random JWT secret and fresh Ed25519 key pairs (the gateway's, and each
 * subgraph's own service identity), so tests see what a production client sees.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { DOMAINS, type Domain } from '@hub/core/domains';
import { encodeKey, generateSigningKeyPair, type SigningKeyPair } from '@hub/core/keys';
import {
  REPO_ROOT,
  freePorts,
  runtimeFromEnv,
  spawnService,
  type Runtime,
  type ServiceProcess,
} from '@hub/core/process';
import { createTestDatabase, type TestDatabase } from '@hub/core/testing';
import { parseStatementCounts, diffCounts } from '@hub/core/metrics';
import { post, signToken, type TokenClaims } from './tokens.js';
import { composeRepo } from '@hub/gateway/compose';
import { inject } from 'vitest';

export type { TokenClaims };

declare module 'vitest' {
  export interface ProvidedContext {
    /** The runtime of the processes `startHub` spawns, named once per run by globalSetup.ts. */
    hubRuntime: Runtime;
  }
}

export type GraphQLResponse<T = Record<string, unknown>> = Awaited<ReturnType<typeof post<T>>>;

export interface Hub {
  gatewayUrl: string;
  /** The gateway's `/metrics`, on its own port (production never serves it on the GraphQL port). */
  gatewayMetricsUrl: string;
  subgraphs: Record<Domain, ServiceProcess>;
  database: TestDatabase;
  /** Where each process writes its log (`<name>.log`): refusal reasons are only there. */
  logDir: string;
  secrets: { jwt: string; metrics: string; masterKey: string };
  /** The gateway's key pair and each subgraph's service key pair (tests sign with them to attack). */
  keys: { gateway: SigningKeyPair; services: Record<Domain, SigningKeyPair> };
  token(claims: TokenClaims): Promise<string>;
  query<T = Record<string, unknown>>(
    query: string,
    variables?: Record<string, unknown>,
    token?: string,
    extra?: Record<string, unknown>,
  ): Promise<GraphQLResponse<T>>;
  /** GETs a process's `/metrics` (its own port) with the scraper token. */
  scrapeMetrics(metricsUrl: string): Promise<string>;
  /** SQL statements per table each subgraph issued while `fn` ran. */
  countStatements(fn: () => Promise<unknown>): Promise<Record<string, Record<string, number>>>;
  /** The gateway process `gatewayUrl` points at (the last one started). */
  readonly gateway: ServiceProcess;
  /** Starts another gateway process (`extraEnv` on top of the hub's), which `gatewayUrl` then points at. */
  startGateway(extraEnv?: Record<string, string>): Promise<ServiceProcess>;
  /** Starts a stopped or killed subgraph again on its port (the supergraph keeps its URL). */
  respawnSubgraph(domain: Domain): Promise<ServiceProcess>;
  stop(): Promise<void>;
}

export interface HubOptions {
  /**
   * The URL the gateway and the other subgraphs call a subgraph at (e.g. a recording proxy in
   * front of it), given the one it listens on. Default: that one.
   */
  urlOf?(domain: Domain, url: string): string;
  /** Extra environment of every gateway process, e.g. demand-control limits. */
  gatewayEnv?: Record<string, string>;
  /** Extra environment of every subgraph process, e.g. NATS_URL for the JetStream bus. */
  subgraphEnv?: Record<string, string>;
  /** tsx or the bundles of `npm run build:server` (default: the run's, tests/support/globalSetup.ts). */
  runtime?: Runtime;
}

function metricsUrlOf(service: ServiceProcess): string {
  if (!service.metricsUrl) throw new Error(`${service.name} logged no metricsUrl in its ready line`);
  return service.metricsUrl;
}

/**
 * Inside a vitest worker, the run's runtime (globalSetup.ts). Elsewhere — a benchmark, or a script a
 * test spawns (it inherits `VITEST` in its environment, not the worker's state, so `inject` throws) —
 * `HUB_RUNTIME`'s.
 */
function runtimeOfRun(): Runtime {
  try {
    return inject('hubRuntime') ?? runtimeFromEnv();
  } catch {
    return runtimeFromEnv();
  }
}

export async function startHub(options: HubOptions = {}): Promise<Hub> {
  const runtime = options.runtime ?? runtimeOfRun();
  const database = await createTestDatabase('hub_e2e');
  const secrets = {
    jwt: randomBytes(24).toString('hex'),
    metrics: randomBytes(16).toString('hex'),
    masterKey: randomBytes(32).toString('base64'),
  };
  const keys = {
    gateway: generateSigningKeyPair(),
    services: Object.fromEntries(DOMAINS.map((d) => [d, generateSigningKeyPair()])) as Record<Domain, SigningKeyPair>,
  };
  // Each subgraph trusts the gateway's public key and every other subgraph's service public key.
  const trusted = Object.fromEntries(
    DOMAINS.map((d) => [`HUB_SERVICE_${d.toUpperCase()}_PUBLIC_KEY`, encodeKey(keys.services[d].publicKey)]),
  );
  const logDir = path.join(REPO_ROOT, '.data', 'e2e-logs', database.name);
  const common = {
    NODE_ENV: 'production',
    HUB_JWT_SECRET: secrets.jwt,
    // Encryption at rest's master key (production refuses to start without one).
    HUB_MASTER_KEY: secrets.masterKey,
    LOG_LEVEL: 'info',
    // /metrics on a free port of its own (named in each ready line), behind a scraper token.
    METRICS_PORT: '0',
    METRICS_TOKEN: secrets.metrics,
  };
  const running: ServiceProcess[] = [];
  // Ports chosen up front: every subgraph reads the others' event streams (embedded bus), so each
  // must know every other's URL when it starts.
  const ports = await freePorts(DOMAINS.length);
  const listenUrls = Object.fromEntries(
    DOMAINS.map((d, i) => [d, `http://127.0.0.1:${String(ports[i])}/graphql`]),
  ) as Record<Domain, string>;
  const urls = Object.fromEntries(
    DOMAINS.map((d) => [d, options.urlOf?.(d, listenUrls[d]) ?? listenUrls[d]]),
  ) as Record<Domain, string>;
  const subgraphUrls = {
    ...Object.fromEntries(DOMAINS.map((d) => [`HUB_SUBGRAPH_${d.toUpperCase()}_URL`, urls[d]])),
    HUB_CUSTOMERS_URL: urls.customers,
  };
  try {
    const spawnSubgraph = async (domain: Domain, extra: Record<string, string> = {}) => {
      const service = await spawnService({
        name: domain,
        entry: `subgraphs/${domain}/src/index.ts`,
        env: {
          ...common,
          ...trusted,
          HUB_GATEWAY_PUBLIC_KEY: encodeKey(keys.gateway.publicKey),
          HUB_SERVICE_PRIVATE_KEY: encodeKey(keys.services[domain].privateKey),
          ...subgraphUrls,
          PORT: new URL(listenUrls[domain]).port,
          DATABASE_URL: database.url,
          HUB_SEED_DEMO: 'true',
          ...options.subgraphEnv,
          ...extra,
        },
        readyMessage: 'subgraph ready',
        logFile: path.join(logDir, `${domain}.log`),
        timeoutMs: 240_000,
        runtime,
      });
      running.push(service);
      return service;
    };
    // Customers first: the other domains fill their customer replica from its snapshot and stream.
    const customers = await spawnSubgraph('customers');
    const others = await Promise.all(DOMAINS.filter((d) => d !== 'customers').map((d) => spawnSubgraph(d)));
    const subgraphs = Object.fromEntries([customers, ...others].map((s) => [s.name, s])) as Record<
      Domain,
      ServiceProcess
    >;
    // Production composes from a supergraph file and the gateway routes by the URLs recorded in it:
    // no SUBGRAPH_<NAME>_URL is set, and the subgraphs' random ports differ from the defaults 4001-4007.
    const supergraphPath = path.join(logDir, 'supergraph.graphql');
    const composed = composeRepo({ outFile: supergraphPath, urlOf: (name) => urls[name as Domain] });
    if (!composed.ok) throw new Error(`composition failed:\n${composed.errors.join('\n')}`);
    let gateway: ServiceProcess | undefined;
    const startGateway = async (extraEnv: Record<string, string> = {}) => {
      const started = await spawnService({
        name: 'gateway',
        entry: 'gateway/src/index.ts',
        env: {
          ...common,
          HUB_GATEWAY_PRIVATE_KEY: encodeKey(keys.gateway.privateKey),
          PORT: '0',
          SUPERGRAPH_PATH: supergraphPath,
          ...options.gatewayEnv,
          ...extraEnv,
        },
        readyMessage: 'gateway ready',
        logFile: path.join(logDir, 'gateway.log'),
        runtime,
      });
      running.push(started);
      gateway = started;
      return started;
    };
    await startGateway();

    const hub: Hub = {
      get gatewayUrl() {
        if (!gateway) throw new Error('gateway not started');
        return gateway.url;
      },
      get gateway() {
        if (!gateway) throw new Error('gateway not started');
        return gateway;
      },
      get gatewayMetricsUrl() {
        if (!gateway?.metricsUrl) throw new Error('gateway not started or without a metrics URL');
        return gateway.metricsUrl;
      },
      subgraphs,
      database,
      logDir,
      secrets,
      keys,
      startGateway,
      token: (claims) => signToken(secrets.jwt, claims),
      query: (query, variables = {}, token, extra = {}) => post(hub.gatewayUrl, query, variables, token, extra),
      async respawnSubgraph(domain) {
        const service = await subgraphs[domain].respawn();
        subgraphs[domain] = service;
        running.push(service);
        return service;
      },
      async scrapeMetrics(metricsUrl) {
        const response = await fetch(metricsUrl, { headers: { authorization: `Bearer ${secrets.metrics}` } });
        if (!response.ok) throw new Error(`${metricsUrl} answered HTTP ${response.status}`);
        return response.text();
      },
      async countStatements(fn) {
        const snapshot = () =>
          Promise.all(
            Object.values(subgraphs).map(
              async (s) => [s.name, parseStatementCounts(await hub.scrapeMetrics(metricsUrlOf(s)))] as const,
            ),
          );
        const before = new Map(await snapshot());
        await fn();
        const after = await snapshot();
        return Object.fromEntries(
          after.map(([name, counts]) => [name, diffCounts(before.get(name) ?? new Map(), counts)]),
        );
      },
      async stop() {
        await Promise.all(running.map((s) => s.stop()));
        await database.drop();
      },
    };
    return hub;
  } catch (error) {
    await Promise.all(running.map((s) => s.stop()));
    await database.drop();
    throw error;
  }
}
