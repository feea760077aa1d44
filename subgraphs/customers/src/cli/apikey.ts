/**
 * Partner API keys from the command line, written straight to the customers store (the store the
 * environment selects, as the customers subgraph would: CUSTOMERS_DATABASE_URL, DATABASE_URL or
 * the embedded data directory):
 *   npm run apikey -- create --tenant acme --name "Partner Portal" --app partner-portal \
 *                           --customers cust_00001,cust_00002 --fields "Query.customer,Customer.id,Customer.name"
 *   npm run apikey -- revoke --tenant acme --id key_…
 *   npm run apikey -- list   --tenant acme
 * `create` prints the secret once; only its hash is stored.
 */
import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { migrationsDirFor, openStore, scopeToTenant, storeConfigFromEnv } from '@hub/store';
import { PrismaClient } from '@hub/store/customers';
import { createApiKey, revokeApiKey } from '../apiKeys.js';

const USAGE = `usage: npm run apikey -- create --tenant <id> --name <name> --app <app> --customers <id,id> --fields <Type.field,...>
       npm run apikey -- revoke --tenant <id> --id <key id>
       npm run apikey -- list   --tenant <id>`;

function fail(message: string): never {
  process.stderr.write(`apikey: ${message}\n${USAGE}\n`);
  process.exit(1);
}

function list(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

/** A GraphQL error from the shared store code carries its message; show that, not a stack. */
function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

let parsed;
try {
  parsed = parseArgs({
    allowPositionals: true,
    options: {
      tenant: { type: 'string' },
      name: { type: 'string' },
      app: { type: 'string' },
      customers: { type: 'string' },
      fields: { type: 'string' },
      id: { type: 'string' },
    },
  });
} catch (error) {
  fail(messageOf(error));
}
const { values, positionals } = parsed;
const command = positionals[0];
if (command !== 'create' && command !== 'revoke' && command !== 'list') fail('command must be create, revoke or list');
const tenantId = values.tenant;
if (!tenantId) fail('--tenant is required');

const store = await openStore({
  domain: 'customers',
  config: storeConfigFromEnv('customers'),
  PrismaClient,
  migrationsDir: migrationsDirFor('customers'),
});
try {
  // The CLI creates the table on a fresh store, as a starting subgraph would.
  await store.migrate();
  const db = scopeToTenant(store.client, tenantId);
  if (command === 'create') {
    const { apiKey, secret } = await createApiKey(
      db,
      tenantId,
      {
        name: values.name ?? '',
        app: values.app ?? '',
        customerIds: list(values.customers),
        fields: list(values.fields),
      },
      `cli:${userInfo().username}`,
    );
    process.stdout.write(
      `${JSON.stringify({ id: apiKey.id, tenantId, name: apiKey.name, app: apiKey.app, prefix: apiKey.prefix, customerIds: apiKey.customerIds, fields: apiKey.fields }, null, 2)}\n`,
    );
    process.stderr.write('The secret below is shown once and is not stored; send it as the x-api-key header.\n');
    process.stdout.write(`${secret}\n`);
  } else if (command === 'revoke') {
    if (!values.id) fail('--id is required');
    const apiKey = await revokeApiKey(db, values.id);
    process.stdout.write(`revoked ${apiKey.id} at ${apiKey.revokedAt?.toISOString() ?? '?'}\n`);
  } else {
    const keys = await db.apiKey.findMany({ orderBy: { id: 'asc' } });
    for (const key of keys) {
      const status = key.revokedAt ? `revoked ${key.revokedAt.toISOString()}` : 'active';
      process.stdout.write(
        `${key.id}  ${key.prefix}…  ${key.app}  ${JSON.stringify(key.name)}  ${status}  customers=${key.customerIds.join(',')}  fields=${key.fields.join(',')}\n`,
      );
    }
    if (keys.length === 0) process.stdout.write(`no API keys in tenant ${tenantId}\n`);
  }
} catch (error) {
  process.exitCode = 1;
  process.stderr.write(`apikey: ${messageOf(error)}\n`);
} finally {
  await store.close();
}
