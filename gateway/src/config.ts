import type { KeyObject } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { DEV_JWT_SECRET, EnvReader, isProduction } from '@hub/core/config';
import { GATEWAY_PRINCIPAL, devKeyPair, readSigningKey } from '@hub/core/keys';
import { DOMAINS, SUBGRAPH_PORTS } from '@hub/core/domains';
import { readLimitsConfig, type LimitsConfig } from './limits.js';
import { readMetricsEndpoint, type MetricsEndpointConfig } from '@hub/core/metricsEndpoint';
import { readTracingConfig, type TracingConfig } from '@hub/core/tracing';

export const NODE_ENVS = ['development', 'test', 'production'] as const;
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export interface SubgraphEndpoint {
  readonly name: string;
  /** GraphQL endpoint, e.g. `http://127.0.0.1:4001/graphql`. */
  readonly url: string;
}

export interface JwtConfig {
  /** HS256 shared secret; `undefined` when tokens are verified against a JWKS instead. */
  readonly secret: string | undefined;
  /** Remote JWKS (production identity provider); wins over `secret` when set. */
  readonly jwksUrl: string | undefined;
  readonly issuer: string;
  readonly audience: string;
  /**
   * Oldest a token may be (now - `iat`) and longest it may live (`exp` - `iat`), in seconds.
   * @default 86400 (24 h; `HUB_JWT_MAX_AGE`)
   */
  readonly maxAgeSeconds?: number;
  /**
   * Which claim carries each of the hub's viewer fields (`HUB_JWT_CLAIM_<FIELD>`). An identity
   * provider usually namespaces custom claims (`https://hub.example.com/tenant`); `sub` stays `sub`.
   * @default the hub's own names: tenant, roles, book, domains
   */
  readonly claims?: ClaimNames;
}

/** Claim names of the viewer's fields in a bearer token (`HUB_JWT_CLAIM_TENANT`, `_ROLES`, `_BOOK`, `_DOMAINS`). */
export interface ClaimNames {
  readonly tenant: string;
  readonly roles: string;
  readonly book: string;
  readonly domains: string;
}

export const DEFAULT_CLAIM_NAMES: ClaimNames = Object.freeze({
  tenant: 'tenant',
  roles: 'roles',
  book: 'book',
  domains: 'domains',
});

/**
 * The pages' sign-in at the identity provider (OIDC authorization code + PKCE, console/src/shared/oidc.ts):
 * a public client, so nothing here is a secret; the gateway serves it to the pages as /ui/config.json.
 * The issuer is `HUB_JWT_ISSUER`, whose tokens the gateway already verifies against `HUB_JWKS_URL`.
 */
export interface OidcLoginConfig {
  readonly issuer: string;
  /** `HUB_OIDC_CLIENT_ID`: the pages' client at the provider (redirect URIs: `<origin>/console`, `<origin>/graphiql`). */
  readonly clientId: string;
  /** `HUB_OIDC_SCOPES`, space-separated. @default "openid profile" */
  readonly scopes: string;
  /**
   * `HUB_OIDC_RESOURCE`: RFC 8707 resource indicator sent with the authorization and token requests,
   * for providers that issue a JWT access token for the hub's audience only when asked for it.
   */
  readonly resource: string | undefined;
}

/** How the gateway calls each subgraph (query-plan fetches and its internal lookups). */
export interface SubgraphResilienceConfig {
  /** Budget of one subgraph fetch, retries included; past it the fetch is aborted. */
  readonly timeoutMs: number;
  /** Extra attempts for a query after a transport failure or a 502/503/504 (never for mutations). */
  readonly retries: number;
  /** Consecutive failures after which a subgraph's circuit opens (calls fail fast). */
  readonly breakerFailures: number;
  /** How long an open circuit waits before one probe request may try the subgraph again. */
  readonly halfOpenAfterMs: number;
}

/** `POST /sync/<domain>` (src/sync/route.ts). */
export interface SyncImportConfig {
  /** Events per `sync<Domain>` call (`HUB_SYNC_BATCH_SIZE`, 1..1000). @default 1000 */
  readonly batchSize: number;
  /** A partial batch is sent once its first line waited this long (`HUB_SYNC_LINGER_MS`). @default 200 */
  readonly lingerMs: number;
  /** Longer lines are rejected unread (`HUB_SYNC_MAX_LINE_BYTES`). @default 1048576 */
  readonly maxLineBytes: number;
  /**
   * A batch is sent before its lines pass this many bytes (`HUB_SYNC_MAX_BATCH_BYTES`): subgraphs
   * accept request bodies of up to 5 MB. @default 4194304
   */
  readonly maxBatchBytes: number;
}

/** Subscriptions over graphql-ws (src/live/). */
export interface LiveConfig {
  /**
   * Every open connection's credentials are checked again this often (`HUB_LIVE_CREDENTIAL_CHECK_MS`):
   * a revoked API key or a changed book ends or narrows its subscriptions within this bound (a
   * token's own expiry ends them at `exp`). @default 10000
   */
  readonly credentialCheckMs: number;
  /** graphql-ws keep-alive ping interval (`HUB_LIVE_KEEPALIVE_MS`). @default 12000 */
  readonly keepAliveMs: number;
  /** Live events one subscription may have waiting before it is ended, resumable (`HUB_LIVE_BUFFER`). @default 10000 */
  readonly bufferLimit: number;
  /**
   * With `NATS_URL`, subscriptions read the domains' JetStream streams themselves (an ordered
   * consumer per stream and process), so every gateway process sees every event; without it, the
   * subgraphs' `_events` (the embedded bus). `HUB_NATS_PREFIX` names the streams, as in the subgraphs.
   */
  readonly natsUrl: string | undefined;
  readonly natsPrefix: string;
}

export interface GatewayConfig {
  readonly port: number;
  /** Interface to listen on. */
  readonly host: string;
  readonly nodeEnv: (typeof NODE_ENVS)[number];
  readonly subgraphs: readonly SubgraphEndpoint[];
  /**
   * Only the URLs set explicitly by `SUBGRAPH_<NAME>_URL`: these, and nothing else, override the
   * routing URLs of a supergraph file. `subgraphs` (defaults filled in) serves development composition.
   */
  readonly subgraphUrlOverrides: Readonly<Record<string, string>>;
  /**
   * Supergraph SDL file. Set: the gateway serves exactly this composition (production).
   * Unset: it composes from the running subgraphs at start-up (development).
   */
  readonly supergraphPath: string | undefined;
  /** Re-introspect the running subgraphs this often in development (0 = never). */
  readonly supergraphPollMs: number;
  /** How long development start-up waits for every subgraph's `/healthz` before composing. */
  readonly subgraphWaitMs: number;
  /** Ed25519 key that signs the viewer tokens; subgraphs hold only its public half. */
  readonly gatewayPrivateKey: KeyObject;
  readonly jwt: JwtConfig;
  /** Master switch for introspection; when on, only admins get it (off: nobody, admins included). */
  readonly introspection: boolean;
  /** Directory of the partner apps' persisted-query manifests (`<app>.json`). */
  readonly persistedOperationsDir: string;
  /** Entries kept in the in-memory APQ cache (least recently used are evicted). */
  readonly apqCacheSize: number;
  /** Demand-control and rate limits per role and per partner key, and the rate-limit window. */
  readonly limits: LimitsConfig;
  readonly syncImport: SyncImportConfig;
  readonly live: LiveConfig;
  /** Assumed size of a list field the cost model knows no size of. */
  readonly costDefaultListSize: number;
  /**
   * Identical query fetches of one viewer in flight share one subgraph call (`HUB_SUBGRAPH_DEDUP`,
   * datasource.ts); never across viewers. @default true
   */
  readonly deduplicateFetches: boolean;
  /** Entity cache of `_entities` fetches, invalidated by change events (entityCache.ts). */
  readonly entityCache: EntityCacheConfig;
  /** Whole answers of queries, on the entity cache's invalidation (responseCache.ts); off with it. */
  readonly responseCache: ResponseCacheConfig;
  /**
   * Shares rate-limit budgets, automatic persisted queries and the entity cache between replicas
   * (one connection, redis.ts); unset keeps them in process memory.
   */
  readonly redisUrl: string | undefined;
  /** Prefix of the APQ and entity-cache keys in Redis (`HUB_REDIS_PREFIX`). @default hub */
  readonly redisPrefix: string;
  /** Prefix of the rate-limit keys in Redis. */
  readonly rateLimitPrefix: string;
  readonly resilience: SubgraphResilienceConfig;
  /** `/metrics`: on its own port in production, optionally behind a bearer token. */
  readonly metrics: MetricsEndpointConfig;
  readonly logLevel: (typeof LOG_LEVELS)[number];
  /** The browser pages /graphiql and /console (src/ui.ts). */
  readonly ui: UiConfig;
  /** OpenTelemetry traces (`OTEL_EXPORTER_OTLP_ENDPOINT`, packages/core/src/tracing.ts): off unless set. */
  readonly tracing: TracingConfig;
}

export interface ResponseCacheConfig {
  /** `HUB_RESPONSE_CACHE`; takes effect only with the entity cache on. @default true */
  readonly enabled: boolean;
  /** Bytes of answers kept in process memory without Redis (`HUB_RESPONSE_CACHE_BYTES`). @default 67108864 */
  readonly maxBytes: number;
  /** Longer answers are not stored (`HUB_RESPONSE_CACHE_MAX_BODY`). @default 524288 */
  readonly maxBodyBytes: number;
}

export interface EntityCacheConfig {
  /** `HUB_ENTITY_CACHE`. @default true */
  readonly enabled: boolean;
  /** Entries in process memory without Redis (`HUB_ENTITY_CACHE_SIZE`). @default 50000 */
  readonly maxEntries: number;
  /** Backstop age of an entry, events or not (`HUB_ENTITY_CACHE_MAX_AGE`). @default 3600 */
  readonly maxAgeSeconds: number;
}

export interface UiConfig {
  /** The built pages (`HUB_UI_DIR`); unset: the console workspace's dist/. */
  readonly distDir: string | undefined;
  /** Set by `HUB_OIDC_CLIENT_ID`: the pages offer "Sign in" at the identity provider. */
  readonly oidc: OidcLoginConfig | undefined;
}

type Env = Record<string, string | undefined>;

/** gateway/persisted, wherever the process was started from. */
const DEFAULT_PERSISTED_DIR = fileURLToPath(new URL('../persisted', import.meta.url));

/** Secrets must be long enough that brute force is pointless; HS256 keys under 32 bytes are weak. */
const MIN_SECRET_LENGTH = 32;

function defaultSubgraphUrl(port: number): string {
  return `http://127.0.0.1:${port}/graphql`;
}

function readUrl(env: EnvReader, name: string, fallback: string | undefined): string | undefined {
  const value = fallback === undefined ? env.optional(name) : env.string(name, fallback);
  if (value === undefined) return undefined;
  try {
    const url = new URL(value);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http(s)');
  } catch {
    env.problems.push(`${name} must be an http(s) URL, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** Loopback hosts, where an http issuer is allowed (RFC 8252 §8.3); anywhere else it must be https. */
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** RFC 8707 §2: an absolute URI (a URN will do) without a fragment. */
function readResource(env: EnvReader): string | undefined {
  const value = env.optional('HUB_OIDC_RESOURCE');
  if (value === undefined) return undefined;
  let valid = false;
  try {
    valid = new URL(value).hash === '' && !value.includes('#');
  } catch {
    valid = false;
  }
  if (!valid)
    env.problems.push(`HUB_OIDC_RESOURCE must be an absolute URI without a fragment, got ${JSON.stringify(value)}`);
  return value;
}

function readOidcLogin(env: EnvReader, jwksUrl: string | undefined, issuer: string): OidcLoginConfig | undefined {
  const clientId = env.optional('HUB_OIDC_CLIENT_ID');
  if (clientId === undefined) return undefined;
  if (jwksUrl === undefined) env.problems.push('HUB_OIDC_CLIENT_ID needs HUB_JWKS_URL (the provider signs the tokens)');
  let url: URL | undefined;
  try {
    url = new URL(issuer);
  } catch {
    // reported below
  }
  if (
    url === undefined ||
    !(url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname)))
  ) {
    env.problems.push(
      `HUB_OIDC_CLIENT_ID needs HUB_JWT_ISSUER to be the provider's https issuer URL, got ${JSON.stringify(issuer)}`,
    );
  }
  return {
    issuer,
    clientId,
    scopes: env.string('HUB_OIDC_SCOPES', 'openid profile'),
    resource: readResource(env),
  };
}

const DURATION_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** `86400`, `86400s`, `90m`, `24h` or `7d` -> seconds; `undefined` when it is none of those. */
export function parseDurationSeconds(raw: string): number | undefined {
  const match = /^(\d+)\s*(s|m|h|d)?$/.exec(raw.trim());
  const seconds = match ? Number(match[1]) * (DURATION_UNITS[match[2] ?? 's'] ?? 0) : 0;
  return seconds > 0 ? seconds : undefined;
}

function readDurationSeconds(env: EnvReader, name: string, fallback: number): number {
  const raw = env.optional(name);
  if (raw === undefined) return fallback;
  const seconds = parseDurationSeconds(raw);
  if (seconds === undefined) {
    env.problems.push(`${name} must be a positive duration like 86400, 90m, 24h or 7d, got ${JSON.stringify(raw)}`);
    return fallback;
  }
  return seconds;
}

function readSecret(
  env: EnvReader,
  name: string,
  devDefault: string,
  production: boolean,
  required: boolean,
): string | undefined {
  const value = env.optional(name);
  if (!production) return value ?? devDefault;
  if (value === undefined) {
    if (required) env.problems.push(`${name} is required in production`);
    return undefined;
  }
  if (value === devDefault) env.problems.push(`${name} is the development default; production refuses it`);
  else if (value.length < MIN_SECRET_LENGTH)
    env.problems.push(`${name} must be at least ${MIN_SECRET_LENGTH} characters`);
  return value;
}

/**
 * Parses the gateway's environment into a frozen config, failing fast with every problem at once.
 * `overrides` carries command-line flags (e.g. `--supergraph`), which win over the environment.
 */
export function loadGatewayConfig(envSource: Env = process.env, overrides: Env = {}): GatewayConfig {
  const merged: Env = { ...envSource, ...overrides };
  const env = new EnvReader(merged);
  const nodeEnv = env.oneOf('NODE_ENV', NODE_ENVS, 'development');
  const production = isProduction(merged);

  const subgraphUrlOverrides: Record<string, string> = {};
  const subgraphs = DOMAINS.map((name) => {
    const explicit = readUrl(env, `SUBGRAPH_${name.toUpperCase()}_URL`, undefined);
    if (explicit !== undefined) subgraphUrlOverrides[name] = explicit;
    return { name, url: explicit ?? defaultSubgraphUrl(SUBGRAPH_PORTS[name]) };
  });

  const supergraphPath = env.optional('SUPERGRAPH_PATH');
  if (production && supergraphPath === undefined) {
    env.problems.push('SUPERGRAPH_PATH is required in production (run `npm run compose` to write one)');
  }

  const jwksUrl = readUrl(env, 'HUB_JWKS_URL', undefined);
  const jwtSecret = readSecret(env, 'HUB_JWT_SECRET', DEV_JWT_SECRET, production, jwksUrl === undefined);

  const issuer = env.string('HUB_JWT_ISSUER', 'customer-data-hub');
  const port = env.int('PORT', 4000, { min: 0, max: 65535 });
  const host = env.string('HOST', production ? '0.0.0.0' : '127.0.0.1');
  return env.done({
    port,
    host,
    nodeEnv,
    subgraphs,
    subgraphUrlOverrides,
    supergraphPath,
    supergraphPollMs: env.int('SUPERGRAPH_POLL_MS', 0),
    subgraphWaitMs: env.int('SUBGRAPH_WAIT_MS', production ? 0 : 60_000),
    gatewayPrivateKey: readSigningKey(env, 'HUB_GATEWAY_PRIVATE_KEY', 'private', {
      devDefault: devKeyPair(GATEWAY_PRINCIPAL).privateKey,
      production,
      required: true,
    }) as KeyObject,
    jwt: {
      secret: jwksUrl === undefined ? jwtSecret : undefined,
      jwksUrl,
      issuer,
      audience: env.string('HUB_JWT_AUDIENCE', 'customer-data-hub'),
      maxAgeSeconds: readDurationSeconds(env, 'HUB_JWT_MAX_AGE', 24 * 3600),
      claims: {
        tenant: env.string('HUB_JWT_CLAIM_TENANT', DEFAULT_CLAIM_NAMES.tenant),
        roles: env.string('HUB_JWT_CLAIM_ROLES', DEFAULT_CLAIM_NAMES.roles),
        book: env.string('HUB_JWT_CLAIM_BOOK', DEFAULT_CLAIM_NAMES.book),
        domains: env.string('HUB_JWT_CLAIM_DOMAINS', DEFAULT_CLAIM_NAMES.domains),
      },
    },
    // On by default: the introspection policy lets only admins use it; `false` turns it off for everyone.
    introspection: env.bool('HUB_INTROSPECTION', true),
    persistedOperationsDir: env.string('HUB_PERSISTED_DIR', DEFAULT_PERSISTED_DIR),
    apqCacheSize: env.int('APQ_CACHE_SIZE', 10_000, { min: 1 }),
    limits: readLimitsConfig(env),
    syncImport: {
      batchSize: env.int('HUB_SYNC_BATCH_SIZE', 1000, { min: 1, max: 1000 }),
      lingerMs: env.int('HUB_SYNC_LINGER_MS', 200, { min: 0 }),
      maxLineBytes: env.int('HUB_SYNC_MAX_LINE_BYTES', 1024 * 1024, { min: 1024 }),
      maxBatchBytes: env.int('HUB_SYNC_MAX_BATCH_BYTES', 4 * 1024 * 1024, { min: 1024 }),
    },
    live: {
      credentialCheckMs: env.int('HUB_LIVE_CREDENTIAL_CHECK_MS', 10_000, { min: 100 }),
      keepAliveMs: env.int('HUB_LIVE_KEEPALIVE_MS', 12_000, { min: 100 }),
      bufferLimit: env.int('HUB_LIVE_BUFFER', 10_000, { min: 1 }),
      natsUrl: env.optional('NATS_URL'),
      natsPrefix: env.string('HUB_NATS_PREFIX', 'HUB'),
    },
    costDefaultListSize: env.int('HUB_COST_LIST_SIZE', 10, { min: 1 }),
    deduplicateFetches: env.bool('HUB_SUBGRAPH_DEDUP', true),
    entityCache: {
      enabled: env.bool('HUB_ENTITY_CACHE', true),
      maxEntries: env.int('HUB_ENTITY_CACHE_SIZE', 50_000, { min: 1 }),
      maxAgeSeconds: readDurationSeconds(env, 'HUB_ENTITY_CACHE_MAX_AGE', 3600),
    },
    responseCache: {
      enabled: env.bool('HUB_RESPONSE_CACHE', true),
      maxBytes: env.int('HUB_RESPONSE_CACHE_BYTES', 64 * 1024 * 1024, { min: 1024 }),
      maxBodyBytes: env.int('HUB_RESPONSE_CACHE_MAX_BODY', 512 * 1024, { min: 1 }),
    },
    redisUrl: env.optional('REDIS_URL'),
    redisPrefix: env.string('HUB_REDIS_PREFIX', 'hub'),
    rateLimitPrefix: env.string('HUB_RATE_LIMIT_PREFIX', 'hub:ratelimit'),
    resilience: {
      timeoutMs: env.int('SUBGRAPH_TIMEOUT_MS', 5000, { min: 1 }),
      retries: env.int('SUBGRAPH_RETRIES', 2, { max: 10 }),
      breakerFailures: env.int('SUBGRAPH_BREAKER_FAILURES', 5, { min: 1 }),
      halfOpenAfterMs: env.int('SUBGRAPH_BREAKER_HALF_OPEN_MS', 5000, { min: 1 }),
    },
    metrics: readMetricsEndpoint(env, { production, host, port, defaultPort: 9400 }),
    logLevel: env.oneOf('LOG_LEVEL', LOG_LEVELS, nodeEnv === 'test' ? 'silent' : 'info'),
    ui: { distDir: env.optional('HUB_UI_DIR'), oidc: readOidcLogin(env, jwksUrl, issuer) },
    tracing: readTracingConfig(env, 'gateway'),
  });
}
