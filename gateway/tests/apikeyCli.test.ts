/**
 * `npm run apikey` against a running hub: the customers and health subgraphs as their own processes
 * (fresh Postgres database, demo data), the gateway over real HTTP, and the CLI spawned as a user runs it, with
 * its admin token in HUB_TOKEN. The key it creates is then used as a partner would use it.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';
import { REPO_ROOT, spawnService, type ServiceProcess } from '@hub/core/process';
import { createTestDatabase, type TestDatabase } from '@hub/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PersistedQueryManifest } from '../src/plugins/usePersistedOperations.js';
import { startGateway, type RunningGateway } from '../src/server.js';
import { post, testConfig, token } from './helpers.js';
import manifestJson from '../persisted/partner-portal.json' with { type: 'json' };

const manifest = manifestJson as PersistedQueryManifest;

let database: TestDatabase;
let subgraphs: ServiceProcess[] = [];
let gateway: RunningGateway;
let admin: string;

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI as `npm run apikey` does, in its own process. */
function apikey(args: string[], env: Record<string, string | undefined> = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(REPO_ROOT, 'gateway/src/cli/apikey.ts'), ...args],
      {
        cwd: REPO_ROOT,
        env: { ...process.env, HUB_TOKEN: undefined, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A port nobody listens on: where a hub that is not running would be. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

const CREATE = [
  'create',
  '--name',
  'Partner Portal',
  '--app',
  'partner-portal',
  '--customers',
  'cust_00001,cust_00002',
  '--fields',
  'Query.customer,Customer.name,Customer.health,CustomerHealth.score',
];

beforeAll(async () => {
  database = await createTestDatabase('hub_t_apikey');
  // Health too, so that the partner operation the new key runs crosses two subgraphs.
  const spawnSubgraph = (name: string, env: Record<string, string> = {}) =>
    spawnService({
      name,
      entry: `subgraphs/${name}/src/index.ts`,
      env: {
        NODE_ENV: 'test',
        PORT: '0',
        DATABASE_URL: database.url,
        HUB_SEED_DEMO: 'true',
        LOG_LEVEL: 'info',
        ...env,
      },
      readyMessage: 'subgraph ready',
    });
  // Customers first: health's customer replica reads its snapshot and stream at its address.
  const customers = await spawnSubgraph('customers');
  subgraphs = [customers, await spawnSubgraph('health', { HUB_CUSTOMERS_URL: customers.url })];
  gateway = await startGateway(testConfig(subgraphs.map(({ name, url }) => ({ name, url }))));
  admin = await token({ roles: ['admin'], user: 'ada' });
});

afterAll(async () => {
  await gateway?.stop();
  for (const service of [...subgraphs].reverse()) await service.stop();
  await database?.drop();
});

describe('npm run apikey against a running hub', () => {
  it('creates a key whose secret, shown once, runs the partner app’s operations; lists and revokes it', async () => {
    const created = await apikey([...CREATE, '--url', gateway.url, '--tenant', 'acme'], { HUB_TOKEN: admin });
    expect(created.stderr).toContain('shown once');
    expect(created.code).toBe(0);
    const lines = created.stdout.trim().split('\n');
    const secret = lines.pop() ?? '';
    const key = JSON.parse(lines.join('\n')) as Record<string, unknown>;
    expect(secret).toMatch(/^hub_[A-Za-z0-9_-]{20,}$/);
    expect(key).toMatchObject({
      id: expect.stringMatching(/^key_/),
      app: 'partner-portal',
      prefix: secret.slice(0, String(key['prefix']).length),
      customerIds: ['cust_00001', 'cust_00002'],
      createdBy: 'ada',
      revokedAt: null,
    });

    const partnerCustomer = manifest.operations.find((op) => op.name === 'PartnerCustomer');
    const asPartner = () =>
      post(gateway.url, { id: partnerCustomer?.id, variables: { id: 'cust_00001' } }, undefined, {
        'x-api-key': secret,
      });
    const answered = await asPartner();
    expect(answered.body.errors).toBeUndefined();
    expect(answered.body.data).toMatchObject({ customer: { id: 'cust_00001', health: { score: expect.any(Number) } } });

    const listed = await apikey(['list', '--url', gateway.url], { HUB_TOKEN: admin });
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(new RegExp(`^${String(key['id'])} .* active `, 'm'));

    const revoked = await apikey(['revoke', '--id', String(key['id']), '--url', gateway.url], { HUB_TOKEN: admin });
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toMatch(new RegExp(`^revoked ${String(key['id'])} at \\d{4}-`));
    const relisted = await apikey(['list', '--url', gateway.url], { HUB_TOKEN: admin });
    expect(relisted.stdout).toMatch(new RegExp(`^${String(key['id'])} .* revoked \\d{4}-`, 'm'));
  });

  it('creates an integration key with --domains: it writes those domains of its tenant and reads nothing', async () => {
    const created = await apikey(['create', '--name', 'CRM sync', '--domains', 'customers', '--url', gateway.url], {
      HUB_TOKEN: admin,
    });
    expect(created.code).toBe(0);
    const lines = created.stdout.trim().split('\n');
    const secret = lines.pop() ?? '';
    const key = JSON.parse(lines.join('\n')) as Record<string, unknown>;
    expect(key).toMatchObject({ app: null, domains: ['customers'], customerIds: [], fields: [] });
    const asIntegration = (query: string) => post(gateway.url, { query }, undefined, { 'x-api-key': secret });

    const write = await asIntegration(
      'mutation { updateCustomer(id: "cust_00001", input: { sourceSystem: "crm-cli" }) { id } }',
    );
    expect(write.body.errors).toBeUndefined();
    expect(write.body.data).toEqual({ updateCustomer: { id: 'cust_00001' } });
    const other = await asIntegration(
      'mutation { recordHealthScore(input: { customerId: "cust_00001", score: 1, usageScore: 1, engagementScore: 1, supportSatisfaction: 1, paymentStatus: CURRENT }) { __typename } }',
    );
    expect(other.body.errors?.map((e) => e.extensions?.['code'])).toEqual(['FORBIDDEN']);
    const read = await asIntegration('{ customers(first: 5) { totalCount } }');
    expect(read.body.errors?.map((e) => e.extensions?.['code'])).toEqual(['FORBIDDEN']);
    expect(read.body.data ?? null).toBeNull();
    const readBack = await post(gateway.url, { query: '{ customer(id: "cust_00001") { sourceSystem } }' }, admin);
    expect(readBack.body.data).toEqual({ customer: { sourceSystem: 'crm-cli' } });

    const listed = await apikey(['list', '--url', gateway.url], { HUB_TOKEN: admin });
    expect(listed.stdout).toMatch(new RegExp(`^${String(key['id'])} .* active  integration  domains=customers$`, 'm'));
  });

  it.each([
    [['--domains', 'customers,billing'], /--domains: unknown domain\(s\) billing; known: customers, marketing/],
    [['--domains', ''], /--domains: the integration role needs at least one domain/],
    [['--domains', 'product', '--app', 'partner-portal'], /--domains makes an integration key: drop --app/],
  ])('create %j exits 1 before asking the hub', async (args, message) => {
    const result = await apikey(['create', '--name', 'x', ...args, '--url', gateway.url], { HUB_TOKEN: admin });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(message);
    expect(result.stdout).toBe('');
  });

  // Every way a user can get it wrong, for each command: exit 1 and a message with the hub's code.
  const failures: [string, () => Promise<{ env: Record<string, string>; url: string; extra?: string[] }>, RegExp][] = [
    ['no token', async () => ({ env: {}, url: gateway.url }), /no token: set HUB_TOKEN/],
    [
      'a token the hub did not sign',
      async () => ({ env: { HUB_TOKEN: `${admin.slice(0, -4)}AAAA` }, url: gateway.url }),
      /UNAUTHENTICATED: /,
    ],
    [
      'a sales rep’s token',
      async () => ({ env: { HUB_TOKEN: await token({ roles: ['sales_rep'] }) }, url: gateway.url }),
      /FORBIDDEN: [\s\S]*needs the admin role/,
    ],
    [
      'a hub that is not running',
      async () => ({ env: { HUB_TOKEN: admin }, url: `http://127.0.0.1:${await closedPort()}/graphql` }),
      /the hub is not running at http:\/\/127\.0\.0\.1:\d+\/graphql/,
    ],
    [
      'another tenant named than the token’s',
      async () => ({ env: { HUB_TOKEN: admin }, url: gateway.url, extra: ['--tenant', 'globex'] }),
      /--tenant globex does not match the token's tenant acme/,
    ],
  ];
  const commands: [string, string[]][] = [
    ['create', CREATE],
    ['revoke', ['revoke', '--id', 'key_0000000000000000']],
    ['list', ['list']],
  ];
  it.each(
    commands.flatMap(([name, args]) =>
      failures.map(([why, setup, message]) => [name, why, args, setup, message] as const),
    ),
  )('%s with %s exits 1 and says why', async (_name, _why, args, setup, message) => {
    const { env, url, extra = [] } = await setup();
    const result = await apikey([...args, '--url', url, ...extra], env);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toMatch(/\bat .*\.ts:\d+/);
    expect(result.stdout).toBe('');
  });

  it('reports invalid input with the hub’s code and the field it names', async () => {
    const args = CREATE.map((arg) => (arg === 'partner-portal' ? 'Partner Portal!' : arg));
    const result = await apikey([...args, '--url', gateway.url], { HUB_TOKEN: admin });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^apikey: BAD_USER_INPUT \(input\.app\): /);
  });

  it('reports an unknown key id with NOT_FOUND', async () => {
    const result = await apikey(['revoke', '--id', 'key_0000000000000000', '--url', gateway.url], { HUB_TOKEN: admin });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^apikey: NOT_FOUND: /);
  });
});
