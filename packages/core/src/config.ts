/**
 * Typed environment parsing. Every process has one config module that calls these once at
 * start-up and freezes the result; resolvers never read `process.env`.
 */
import {
  DEV_MASTER_KEY,
  envMasterKeys,
  parseMasterKey,
  type MasterKey,
  type MasterKeyProvider,
} from './crypto/envelope.js';

export class ConfigError extends Error {
  constructor(public readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

export class EnvReader {
  readonly problems: string[] = [];
  constructor(private readonly env: Env = process.env) {}

  string(name: string, fallback?: string): string {
    const value = this.env[name];
    if (value !== undefined && value !== '') return value;
    if (fallback !== undefined) return fallback;
    this.problems.push(`${name} is required`);
    return '';
  }

  optional(name: string): string | undefined {
    const value = this.env[name];
    return value === undefined || value === '' ? undefined : value;
  }

  int(name: string, fallback: number, { min = 0, max = Number.MAX_SAFE_INTEGER } = {}): number {
    const raw = this.optional(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      this.problems.push(`${name} must be an integer between ${min} and ${max}, got ${JSON.stringify(raw)}`);
      return fallback;
    }
    return value;
  }

  bool(name: string, fallback: boolean): boolean {
    const raw = this.optional(name);
    if (raw === undefined) return fallback;
    if (['1', 'true', 'yes', 'on'].includes(raw.toLowerCase())) return true;
    if (['0', 'false', 'no', 'off'].includes(raw.toLowerCase())) return false;
    this.problems.push(`${name} must be a boolean (true/false), got ${JSON.stringify(raw)}`);
    return fallback;
  }

  oneOf<T extends string>(name: string, values: readonly T[], fallback: T): T {
    const raw = this.optional(name);
    if (raw === undefined) return fallback;
    if ((values as readonly string[]).includes(raw)) return raw as T;
    this.problems.push(`${name} must be one of ${values.join(', ')}, got ${JSON.stringify(raw)}`);
    return fallback;
  }

  /** Throws one `ConfigError` listing every problem found, then freezes the config. */
  done<T extends object>(config: T): Readonly<T> {
    if (this.problems.length > 0) throw new ConfigError(this.problems);
    return Object.freeze(config);
  }
}

/** The development default secret. A production process refuses to start with it (and with dev keys). */
export const DEV_JWT_SECRET = 'dev-only-jwt-secret-do-not-use-in-production';

export function isProduction(env: Env = process.env): boolean {
  return env['NODE_ENV'] === 'production';
}

/**
 * The master keys of encryption at rest (crypto/envelope.ts): `HUB_MASTER_KEY` (base64 of 32 random
 * bytes) wraps the tenants' data keys; `HUB_MASTER_KEY_PREVIOUS`, while a master key rotation runs
 * (`npm run job -- rotate-keys`), still unwraps what the old one wrapped. A malformed key is a config
 * error; without `HUB_MASTER_KEY` a development process uses the dev key and a production one refuses
 * to start, as it refuses the dev key itself.
 */
export function readMasterKeys(read: EnvReader, production: boolean): MasterKeyProvider {
  const parse = (name: string): MasterKey | undefined => {
    const text = read.optional(name);
    if (text === undefined) return undefined;
    try {
      const key = parseMasterKey(name, text);
      if (production && key.id === DEV_MASTER_KEY.id) read.problems.push(`${name} is the development key`);
      return key;
    } catch (error) {
      read.problems.push((error as Error).message);
      return undefined;
    }
  };
  const current = parse('HUB_MASTER_KEY');
  const previous = parse('HUB_MASTER_KEY_PREVIOUS');
  if (current === undefined && production && read.optional('HUB_MASTER_KEY') === undefined)
    read.problems.push('HUB_MASTER_KEY is required in production (base64 of 32 random bytes: openssl rand -base64 32)');
  return envMasterKeys(current ?? DEV_MASTER_KEY, previous);
}
