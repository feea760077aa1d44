/**
 * Starts the whole hub as real processes for end-to-end tests: seven subgraphs on port 0 over a
 * fresh PostgreSQL database (one schema per domain), then the gateway on port 0 composed from them.
 * Production mode with random secrets, so tests see what a production client sees.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { DOMAINS, type Domain } from '@hub/core/domains';
import { REPO_ROOT, spawnService, type ServiceProcess } from '@hub/core/process';
import { createTestDatabase, type TestDatabase } from '@hub/core/testing';
import { parseStatementCounts, diffCounts } from '@hub/core/metrics';
import { post, signToken, type TokenClaims } from './tokens.js';
import { composeRepo } from '@hub/gateway/compose';

export type { TokenClaims };

export type GraphQLResponse<T = Record<string, unknown>> = Awaited<ReturnType<typeof post<T>>>;

export interface Hub {
  gatewayUrl: string;
  /** The gateway's `/metrics`, on its own port (production never serves it on the GraphQL port). */
  gatewayMetricsUrl: string;
  subgraphs: Record<Domain, ServiceProcess>;
  database: TestDatabase;
  secrets: { jwt: string; gateway: string; metrics: string };
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
  startGateway(): Promise<void>;
  /** Starts a stopped or killed subgraph again on its port (the supergraph keeps its URL). */
  respawnSubgraph(domain: Domain): Promise<ServiceProcess>;
  stop(): Promise<void>;
}

export interface HubOptions {
  /** Extra gateway environment, e.g. short subgraph timeouts for resilience tests. */
  gatewayEnv?: Record<string, string>;
}

function metricsUrlOf(service: ServiceProcess): string {
  if (!service.metricsUrl) throw new Error(`${service.name} logged no metricsUrl in its ready line`);
  return service.metricsUrl;
}

export async function startHub(options: HubOptions = {}): Promise<Hub> {
  const database = await createTestDatabase('hub_e2e');
  const secrets = {
    jwt: randomBytes(24).toString('hex'),
    gateway: randomBytes(24).toString('hex'),
    metrics: randomBytes(16).toString('hex'),
  };
  const logDir = path.join(REPO_ROOT, '.data', 'e2e-logs', database.name);
  const common = {
    NODE_ENV: 'production',
    HUB_GATEWAY_SECRET: secrets.gateway,
    HUB_JWT_SECRET: secrets.jwt,
    LOG_LEVEL: 'info',
    // /metrics on a free port of its own (named in each ready line), behind a scraper token.
    METRICS_PORT: '0',
    METRICS_TOKEN: secrets.metrics,
  };
  const running: ServiceProcess[] = [];
  try {
    const spawnSubgraph = async (domain: Domain, extra: Record<string, string> = {}) => {
      const service = await spawnService({
        name: domain,
        entry: `subgraphs/${domain}/src/index.ts`,
        env: { ...common, PORT: '0', DATABASE_URL: database.url, HUB_SEED_DEMO: 'true', ...extra },
        readyMessage: 'subgraph ready',
        logFile: path.join(logDir, `${domain}.log`),
        timeoutMs: 240_000,
      });
      running.push(service);
      return service;
    };
    // Customers first: the other domains check customer ids against it.
    const customers = await spawnSubgraph('customers');
    const others = await Promise.all(
      DOMAINS.filter((d) => d !== 'customers').map((d) => spawnSubgraph(d, { HUB_CUSTOMERS_URL: customers.url })),
    );
    const subgraphs = Object.fromEntries([customers, ...others].map((s) => [s.name, s])) as Record<
      Domain,
      ServiceProcess
    >;
    // Production composes from a supergraph file and the gateway routes by the URLs recorded in it:
    // no SUBGRAPH_<NAME>_URL is set, and the subgraphs' random ports differ from the defaults 4001-4007.
    const supergraphPath = path.join(logDir, 'supergraph.graphql');
    const composed = composeRepo({ outFile: supergraphPath, urlOf: (name) => subgraphs[name as Domain].url });
    if (!composed.ok) throw new Error(`composition failed:\n${composed.errors.join('\n')}`);
    let gateway: ServiceProcess | undefined;
    const startGateway = async () => {
      gateway = await spawnService({
        name: 'gateway',
        entry: 'gateway/src/index.ts',
        env: { ...common, PORT: '0', SUPERGRAPH_PATH: supergraphPath, ...options.gatewayEnv },
        readyMessage: 'gateway ready',
        logFile: path.join(logDir, 'gateway.log'),
      });
      running.push(gateway);
    };
    await startGateway();

    const hub: Hub = {
      get gatewayUrl() {
        if (!gateway) throw new Error('gateway not started');
        return gateway.url;
      },
      get gatewayMetricsUrl() {
        if (!gateway?.metricsUrl) throw new Error('gateway not started or without a metrics URL');
        return gateway.metricsUrl;
      },
      subgraphs,
      database,
      secrets,
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
