import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The seven domain stores, in start-up order. */
export const DOMAINS = ['customers', 'marketing', 'sales', 'product', 'finance', 'support', 'health'] as const;

export type Domain = (typeof DOMAINS)[number];

/** Absolute path of the `prisma/` workspace package (this file lives in prisma/src). */
export const STORE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Directory holding a domain's schema.prisma, migrations/ and generated/. */
export function domainDir(domain: string): string {
  return join(STORE_ROOT, domain);
}

/** Absolute path of prisma/<domain>/schema.prisma. */
export function schemaPathFor(domain: string): string {
  return join(domainDir(domain), 'schema.prisma');
}

/** Absolute path of prisma/<domain>/migrations. */
export function migrationsDirFor(domain: string): string {
  return join(domainDir(domain), 'migrations');
}

/**
 * The sync pipeline's bookkeeping migrations (packages/core/src/sync), applied to every domain
 * store. They live here, not in core, because the store package owns migrations and core depends
 * on the store (not the other way round).
 */
export const SYNC_MIGRATIONS = { prefix: 'hub_sync/', dir: join(STORE_ROOT, 'hub_sync', 'migrations') } as const;

/**
 * Expands a CLI domain argument: `all` (or nothing) means every domain whose schema.prisma exists,
 * so the CLIs keep working while only some domains have been written.
 */
export function resolveDomains(arg: string | undefined): string[] {
  if (arg === undefined || arg === 'all') {
    return DOMAINS.filter((d) => existsSync(schemaPathFor(d)));
  }
  return [arg];
}
