/**
 * Demand-control and rate limits per viewer: built-in defaults per role, overridden per role
 * (`HUB_LIMITS_ROLES`) and per partner API key (`HUB_LIMITS_API_KEYS`). A viewer with several
 * roles gets, limit by limit, the most generous of its roles (each role may run what it allows on
 * its own; row scope and field rules are enforced elsewhere). A viewer with no known role gets the
 * `partner` limits — the tightest — so a forgotten role fails closed.
 */
import type { EnvReader } from '@hub/core/config';
import { ROLES, type Role, type Viewer } from '@hub/core/viewer';

export const LIMIT_NAMES = [
  'depth',
  'aliases',
  'rootFields',
  'tokens',
  'directives',
  'cost',
  'requestsPerWindow',
  'costPerWindow',
] as const;
export type LimitName = (typeof LIMIT_NAMES)[number];
export type Limits = Readonly<Record<LimitName, number>>;

const HUMAN: Limits = {
  depth: 10,
  aliases: 30,
  rootFields: 10,
  tokens: 3000,
  directives: 20,
  // A 500-customer page (MAX_PAGE_SIZE) with 20 contacts each costs ~10 300: the largest page a UI asks for.
  cost: 25_000,
  requestsPerWindow: 600,
  costPerWindow: 500_000,
};

/**
 * Built-in limits; the figures behind them are in gateway/README.md ("Demand control"). `system` and
 * `service` are the hub's own principals: they never send requests to the gateway.
 */
export const DEFAULT_LIMITS: Readonly<Record<Exclude<Role, 'system' | 'service'>, Limits>> = {
  admin: { ...HUMAN, rootFields: 20, tokens: 5000, cost: 50_000, requestsPerWindow: 1200, costPerWindow: 1_000_000 },
  cs_manager: HUMAN,
  sales_rep: HUMAN,
  marketing: HUMAN,
  finance: HUMAN,
  // A service account pushing sync batches (≤ 1,000 events each, in variables): the same shape limits
  // as a person, a budget for ~100 batches a second.
  integration: { ...HUMAN, requestsPerWindow: 6000, costPerWindow: 3_000_000 },
  partner: {
    depth: 8,
    aliases: 10,
    rootFields: 5,
    tokens: 1500,
    directives: 10,
    // A safelisted operation's shape is ours; 5000 lets a partner page 500 customers (MAX_PAGE_SIZE).
    cost: 5000,
    requestsPerWindow: 300,
    costPerWindow: 100_000,
  },
};

export interface LimitsConfig {
  readonly roles: Readonly<Record<string, Limits>>;
  /** Per partner API key id (the `<id>` of the viewer `apikey:<id>`), on top of the partner role's. */
  readonly apiKeys: Readonly<Record<string, Limits>>;
  /** Rate-limit window for `requestsPerWindow` and `costPerWindow`. */
  readonly windowSeconds: number;
}

function readOverrides(env: EnvReader, name: string): Record<string, Partial<Limits>> {
  const raw = env.optional(name);
  if (raw === undefined) return {};
  try {
    const parsed: unknown = JSON.parse(raw);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
    for (const [key, limits] of Object.entries(parsed as Record<string, unknown>)) {
      if (typeof limits !== 'object' || limits === null) throw new Error(`${key}: not an object`);
      for (const [limit, value] of Object.entries(limits)) {
        if (!(LIMIT_NAMES as readonly string[]).includes(limit)) throw new Error(`${key}: unknown limit ${limit}`);
        if (!Number.isInteger(value) || (value as number) < 0) throw new Error(`${key}.${limit}: not an integer >= 0`);
      }
    }
    return parsed as Record<string, Partial<Limits>>;
  } catch (error) {
    env.problems.push(
      `${name} must be JSON {"<name>": {"<limit>": <int>}} with limits ${LIMIT_NAMES.join(', ')}: ${
        error instanceof Error ? error.message : String(error)
      }`,
    );
    return {};
  }
}

/** Reads `HUB_LIMITS_ROLES`, `HUB_LIMITS_API_KEYS`, `HUB_RATE_WINDOW_SECONDS`. */
export function readLimitsConfig(env: EnvReader): LimitsConfig {
  const roleOverrides = readOverrides(env, 'HUB_LIMITS_ROLES');
  for (const role of Object.keys(roleOverrides)) {
    if (!(role in DEFAULT_LIMITS)) env.problems.push(`HUB_LIMITS_ROLES: unknown role ${role}`);
  }
  const roles = Object.fromEntries(
    Object.entries(DEFAULT_LIMITS).map(([role, limits]) => [role, { ...limits, ...roleOverrides[role] }]),
  );
  const partner = roles['partner'] ?? DEFAULT_LIMITS.partner;
  const apiKeys = Object.fromEntries(
    Object.entries(readOverrides(env, 'HUB_LIMITS_API_KEYS')).map(([id, limits]) => [id, { ...partner, ...limits }]),
  );
  return { roles, apiKeys, windowSeconds: env.int('HUB_RATE_WINDOW_SECONDS', 60, { min: 1 }) };
}

const API_KEY_PREFIX = 'apikey:';

/** Per configuration, each viewer's limits: rate limits and demand control ask three times a request. */
const resolved = new WeakMap<LimitsConfig, WeakMap<Viewer, Limits>>();

/** The limits that apply to `viewer`. */
export function limitsFor(viewer: Viewer, config: LimitsConfig): Limits {
  let byViewer = resolved.get(config);
  if (!byViewer) resolved.set(config, (byViewer = new WeakMap()));
  let limits = byViewer.get(viewer);
  if (!limits) byViewer.set(viewer, (limits = resolveLimits(viewer, config)));
  return limits;
}

function resolveLimits(viewer: Viewer, config: LimitsConfig): Limits {
  if (viewer.userId.startsWith(API_KEY_PREFIX)) {
    const byKey = config.apiKeys[viewer.userId.slice(API_KEY_PREFIX.length)];
    if (byKey) return byKey;
  }
  const own = viewer.roles.filter((role) => ROLES.includes(role)).map((role) => config.roles[role]);
  const known = own.filter((limits): limits is Limits => limits !== undefined);
  const fallback = config.roles['partner'] ?? DEFAULT_LIMITS.partner;
  if (known.length === 0) return fallback;
  return Object.fromEntries(LIMIT_NAMES.map((name) => [name, Math.max(...known.map((l) => l[name]))])) as Limits;
}

/** The rate-limit bucket of a viewer: a partner key, or a user within a tenant. */
export function rateLimitKey(viewer: Viewer): string {
  return viewer.userId.startsWith(API_KEY_PREFIX) ? `key:${viewer.userId}` : `user:${viewer.tenantId}:${viewer.userId}`;
}
