/**
 * API keys (partners' and integration accounts') from the command line, through the running hub's GraphQL API (`createApiKey`,
 * `revokeApiKey`, `apiKeys`) with an admin's bearer token from `HUB_TOKEN`:
 *   HUB_TOKEN=$(npm run -s token -- --tenant acme --role admin --user u1) \
 *   npm run apikey -- create --name "Partner Portal" --app partner-portal \
 *                           --customers cust_00001,cust_00002 --fields "Query.customer,Customer.id,Customer.name"
 *   npm run apikey -- create --name "CRM sync" --domains product,finance      (an integration account)
 *   npm run apikey -- revoke --id key_…
 *   npm run apikey -- list
 * `--url` (default http://localhost:4000/graphql) names the gateway; the tenant is the token's
 * (`--tenant`, when given, must match it). `create` prints the secret once; only its hash is stored.
 *
 * There is deliberately no offline mode writing to the store directly: the API is the one path, so
 * the gateway's authentication, the admin rule and the audit field `createdBy` always apply, and
 * the embedded store, which only one process may open, never has to be shared with a running hub.
 */
import { parseArgs } from 'node:util';
import { DOMAINS } from '@hub/core/domains';
import { checkDomainsClaim } from '@hub/core/viewer';

const DEFAULT_URL = 'http://localhost:4000/graphql';
const TIMEOUT_MS = 15_000;
const PAGE_SIZE = 500;

const USAGE = `usage: HUB_TOKEN=<admin bearer token> npm run apikey -- <command> [--url ${DEFAULT_URL}] [--tenant <id>]
       create --name <name> --app <app> --customers <id,id> --fields <Type.field,...>   (a partner key)
       create --name <name> --domains <domain,domain>                          (an integration key)
       revoke --id <key id>
       list
domains: ${DOMAINS.join(', ')}
A development admin token: npm run -s token -- --tenant acme --role admin --user u1`;

/** What the user sees on stderr, with exit code 1. */
class CliError extends Error {}

/** What a code from the hub means for someone running this CLI. */
const HINTS: Record<string, string> = {
  UNAUTHENTICATED: 'HUB_TOKEN is missing, expired or not signed for this hub',
  FORBIDDEN: 'API keys are managed by admins: HUB_TOKEN needs the admin role',
  BAD_USER_INPUT: 'check the arguments',
};

interface GraphQLError {
  message: string;
  extensions?: { code?: string; field?: string };
}

function list(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

/** One GraphQL request to the hub; any error becomes a CliError naming the hub's code. */
async function request<T>(url: string, token: string, query: string, variables: Record<string, unknown> = {}) {
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query, variables }),
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (error) {
    const cause = error instanceof Error && error.cause instanceof Error ? error.cause.message : String(error);
    throw new CliError(`the hub is not running at ${url} (${cause}); start it with \`npm start\` or pass --url`);
  }
  let body: { data?: T | null; errors?: GraphQLError[] };
  try {
    body = (await response.json()) as typeof body;
  } catch {
    throw new CliError(`${url} answered HTTP ${response.status} without a GraphQL response: is it the hub's /graphql?`);
  }
  const error = body.errors?.[0];
  if (error) {
    const code = error.extensions?.code ?? `HTTP ${response.status}`;
    const field = error.extensions?.field ? ` (${error.extensions.field})` : '';
    const hint = HINTS[code] ? `\n  ${HINTS[code]}` : '';
    throw new CliError(`${code}${field}: ${error.message}${hint}`);
  }
  if (!body.data) throw new CliError(`${url} answered HTTP ${response.status} without data`);
  return body.data;
}

interface ApiKey {
  id: string;
  name: string;
  app: string | null;
  domains: string[];
  prefix: string;
  customerIds: string[];
  fields: string[];
  createdBy: string;
  createdAt: string;
  revokedAt: string | null;
}

const KEY_FIELDS = 'id name app domains prefix customerIds fields createdBy createdAt revokedAt';

async function main(argv: string[], env: NodeJS.ProcessEnv): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        url: { type: 'string', default: DEFAULT_URL },
        tenant: { type: 'string' },
        name: { type: 'string' },
        app: { type: 'string' },
        customers: { type: 'string' },
        fields: { type: 'string' },
        domains: { type: 'string' },
        id: { type: 'string' },
      },
    });
  } catch (error) {
    throw new CliError(`${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
  }
  const { values, positionals } = parsed;
  const command = positionals[0];
  if (command !== 'create' && command !== 'revoke' && command !== 'list')
    throw new CliError(`command must be create, revoke or list\n${USAGE}`);
  if (command === 'revoke' && !values.id) throw new CliError(`--id is required\n${USAGE}`);
  // Checked here too, so a typo in a domain is named before the hub is asked (the hub checks again).
  if (command === 'create' && values.domains !== undefined) {
    const domains = checkDomainsClaim(['integration'], list(values.domains));
    if (!domains.ok) throw new CliError(`--domains: ${domains.reason}\n${USAGE}`);
    const partnerOptions = (['app', 'customers', 'fields'] as const).filter((name) => values[name] !== undefined);
    if (partnerOptions.length > 0)
      throw new CliError(`--domains makes an integration key: drop --${partnerOptions.join(', --')}\n${USAGE}`);
  }
  const token = env['HUB_TOKEN']?.trim();
  if (!token) throw new CliError(`no token: set HUB_TOKEN to an admin's bearer token\n${USAGE}`);
  const url = values.url;

  if (values.tenant !== undefined) {
    const { tenant } = await request<{ tenant: { id: string } | null }>(url, token, '{ tenant { id } }');
    if (tenant?.id !== values.tenant)
      throw new CliError(`--tenant ${values.tenant} does not match the token's tenant ${tenant?.id ?? '(none)'}`);
  }

  if (command === 'create') {
    const input =
      values.domains !== undefined
        ? { name: values.name ?? '', domains: list(values.domains) }
        : {
            name: values.name ?? '',
            app: values.app ?? '',
            customerIds: list(values.customers),
            fields: list(values.fields),
          };
    const { createApiKey } = await request<{ createApiKey: { apiKey: ApiKey; secret: string } }>(
      url,
      token,
      `mutation ($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret apiKey { ${KEY_FIELDS} } } }`,
      { input },
    );
    process.stdout.write(`${JSON.stringify(createApiKey.apiKey, null, 2)}\n`);
    process.stderr.write('The secret below is shown once and is not stored; send it as the x-api-key header.\n');
    process.stdout.write(`${createApiKey.secret}\n`);
  } else if (command === 'revoke') {
    const { revokeApiKey } = await request<{ revokeApiKey: ApiKey }>(
      url,
      token,
      'mutation ($id: ID!) { revokeApiKey(id: $id) { id revokedAt } }',
      { id: values.id },
    );
    process.stdout.write(`revoked ${revokeApiKey.id} at ${revokeApiKey.revokedAt ?? '?'}\n`);
  } else {
    type Page = { apiKeys: { edges: { node: ApiKey }[]; pageInfo: { hasNextPage: boolean; endCursor: string } } };
    let after: string | null = null;
    let count = 0;
    do {
      const page: Page = await request<Page>(
        url,
        token,
        `query ($first: Int!, $after: String) { apiKeys(first: $first, after: $after) { edges { node { ${KEY_FIELDS} } } pageInfo { hasNextPage endCursor } } }`,
        { first: PAGE_SIZE, after },
      );
      for (const { node: key } of page.apiKeys.edges) {
        count++;
        const status = key.revokedAt ? `revoked ${key.revokedAt}` : 'active';
        const grant =
          key.domains.length > 0
            ? `integration  domains=${key.domains.join(',')}`
            : `${key.app ?? '?'}  customers=${key.customerIds.join(',')}  fields=${key.fields.join(',')}`;
        process.stdout.write(`${key.id}  ${key.prefix}…  ${JSON.stringify(key.name)}  ${status}  ${grant}\n`);
      }
      after = page.apiKeys.pageInfo.hasNextPage ? page.apiKeys.pageInfo.endCursor : null;
    } while (after !== null);
    if (count === 0) process.stdout.write("no API keys in the token's tenant\n");
  }
}

try {
  await main(process.argv.slice(2), process.env);
} catch (error) {
  process.exitCode = 1;
  // A CliError is the message for the user; anything else is a bug, reported without a stack.
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`apikey: ${error instanceof CliError ? '' : 'unexpected error: '}${message}\n`);
}
