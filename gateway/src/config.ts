import type { KeyObject } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { DEV_JWT_SECRET, EnvReader, isProduction } from '@hub/core/config';
import { GATEWAY_PRINCIPAL, devKeyPair, readSigningKey } from '@hub/core/keys';
import { DOMAINS, SUBGRAPH_PORTS } from '@hub/core/domains';
import { readLimitsConfig, type LimitsConfig } from './limits.js';

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
}

export interface GatewayConfig {
  readonly port: number;
  /** Interface to listen on. */
  readonly host: string;
  readonly nodeEnv: (typeof NODE_ENVS)[number];
  readonly subgraphs: readonly SubgraphEndpoint[];
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
  /** Assumed size of a list field the cost model knows no size of. */
  readonly costDefaultListSize: number;
  /** Shares rate-limit budgets between replicas; unset keeps them in process memory. */
  readonly redisUrl: string | undefined;
  /** Prefix of the rate-limit keys in Redis. */
  readonly rateLimitPrefix: string;
  readonly logLevel: (typeof LOG_LEVELS)[number];
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

  const subgraphs = DOMAINS.map((name) => ({
    name,
    url: readUrl(env, `SUBGRAPH_${name.toUpperCase()}_URL`, defaultSubgraphUrl(SUBGRAPH_PORTS[name])) ?? '',
  }));

  const supergraphPath = env.optional('SUPERGRAPH_PATH');
  if (production && supergraphPath === undefined) {
    env.problems.push('SUPERGRAPH_PATH is required in production (run `npm run compose` to write one)');
  }

  const jwksUrl = readUrl(env, 'HUB_JWKS_URL', undefined);
  const jwtSecret = readSecret(env, 'HUB_JWT_SECRET', DEV_JWT_SECRET, production, jwksUrl === undefined);

  return env.done({
    port: env.int('PORT', 4000, { min: 0, max: 65535 }),
    host: env.string('HOST', production ? '0.0.0.0' : '127.0.0.1'),
    nodeEnv,
    subgraphs,
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
      issuer: env.string('HUB_JWT_ISSUER', 'customer-data-hub'),
      audience: env.string('HUB_JWT_AUDIENCE', 'customer-data-hub'),
    },
    // On by default: the introspection policy lets only admins use it; `false` turns it off for everyone.
    introspection: env.bool('HUB_INTROSPECTION', true),
    persistedOperationsDir: env.string('HUB_PERSISTED_DIR', DEFAULT_PERSISTED_DIR),
    apqCacheSize: env.int('APQ_CACHE_SIZE', 10_000, { min: 1 }),
    limits: readLimitsConfig(env),
    costDefaultListSize: env.int('HUB_COST_LIST_SIZE', 10, { min: 1 }),
    redisUrl: env.optional('REDIS_URL'),
    rateLimitPrefix: env.string('HUB_RATE_LIMIT_PREFIX', 'hub:ratelimit'),
    logLevel: env.oneOf('LOG_LEVEL', LOG_LEVELS, nodeEnv === 'test' ? 'silent' : 'info'),
  });
}
