import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { decodeJwt } from 'jose';
import { describe, expect, it } from 'vitest';
import { DEV_JWT_SECRET } from '@hub/core/config';
import { REPO_ROOT } from '@hub/core/process';
import { createAuthenticator } from '../src/auth.js';
import { devTokenRefusal } from '../src/token.js';

const run = promisify(execFile);
const authenticate = createAuthenticator({
  secret: DEV_JWT_SECRET,
  jwksUrl: undefined,
  issuer: 'customer-data-hub',
  audience: 'customer-data-hub',
});

/** Runs `npm run token -- …` the way a developer does (the same script, without npm's banner). */
async function tokenCli(args: string[], env: Record<string, string> = {}) {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: 'development', ...env };
  if (!('HUB_JWT_SECRET' in env)) delete childEnv['HUB_JWT_SECRET'];
  delete childEnv['HUB_JWKS_URL'];
  return run(process.execPath, ['--import', 'tsx', 'gateway/src/cli/token.ts', ...args], {
    cwd: REPO_ROOT,
    env: childEnv,
  }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => ({
      code: error.code,
      stdout: error.stdout,
      stderr: error.stderr,
    }),
  );
}

describe('npm run token', () => {
  it('prints a token the gateway accepts, with tenant, role, user and book', async () => {
    const result = await tokenCli([
      '--tenant',
      'acme',
      '--role',
      'sales_rep',
      '--user',
      'u1',
      '--book',
      'u1,u2',
      '--ttl',
      '10m',
    ]);
    expect(result.code).toBe(0);
    const viewer = await authenticate(`Bearer ${result.stdout.trim()}`, 'r1');
    expect(viewer).toMatchObject({ userId: 'u1', tenantId: 'acme', roles: ['sales_rep'], book: ['u1', 'u2'] });
    const { iat, exp } = decodeJwt(result.stdout.trim());
    expect(typeof iat).toBe('number');
    expect((exp ?? 0) - (iat ?? 0)).toBe(600);
  });

  it("refuses a --ttl longer than the gateway's maximum token age (HUB_JWT_MAX_AGE, default 24 h)", async () => {
    const args = ['--tenant', 'acme', '--role', 'admin', '--user', 'u1', '--ttl'];
    const tooLong = await tokenCli([...args, '2d']);
    expect(tooLong.code).toBe(1);
    expect(tooLong.stderr).toMatch(/maximum token age/);
    const strict = await tokenCli([...args, '2h'], { HUB_JWT_MAX_AGE: '1h' });
    expect(strict.code).toBe(1);
    expect((await tokenCli([...args, '24h'])).code).toBe(0);
  });

  it('refuses when the hub is not on the development secret', async () => {
    const result = await tokenCli(['--tenant', 'acme', '--role', 'admin', '--user', 'u1'], {
      HUB_JWT_SECRET: 'a-real-production-secret-0123456789abcdef',
    });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/not the development secret/);
  });

  it('refuses in production, with a JWKS, and for unknown roles or missing flags', async () => {
    expect(devTokenRefusal({ NODE_ENV: 'production' })).toMatch(/production/);
    expect(devTokenRefusal({ HUB_JWKS_URL: 'https://idp.example.com/jwks' })).toMatch(/HUB_JWKS_URL/);
    expect(devTokenRefusal({ HUB_JWT_SECRET: DEV_JWT_SECRET })).toBeUndefined();
    const unknownRole = await tokenCli(['--tenant', 'acme', '--role', 'system', '--user', 'u1']);
    expect(unknownRole.code).toBe(1);
    expect(unknownRole.stderr).toMatch(/unknown role/);
    const missing = await tokenCli(['--role', 'admin', '--user', 'u1']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/--tenant is required/);
  });

  it('mints an integration token with --domains, which the gateway accepts as that viewer', async () => {
    const minted = await tokenCli([
      '--tenant',
      't1',
      '--role',
      'integration',
      '--user',
      'crm-sync',
      '--domains',
      'product,finance',
    ]);
    expect(minted.stderr).toBe('');
    expect(minted.code).toBe(0);
    const jwt = minted.stdout.trim();
    expect(decodeJwt(jwt)).toMatchObject({ tenant: 't1', roles: ['integration'], domains: ['finance', 'product'] });
    expect(await authenticate(`Bearer ${jwt}`, 'r1')).toMatchObject({
      tenantId: 't1',
      roles: ['integration'],
      domains: ['finance', 'product'],
    });
  });

  it.each([
    [['--role', 'integration'], /--role integration needs --domains/],
    [['--role', 'integration', '--domains', ''], /--role integration needs --domains/],
    [['--role', 'integration', '--domains', 'product,billing'], /unknown domain\(s\) billing; known: customers/],
    [['--role', 'admin', '--domains', 'product'], /only the integration role carries domains/],
  ])('refuses %j with a clear message', async (args, message) => {
    const result = await tokenCli(['--tenant', 't1', '--user', 'crm-sync', ...args]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(message);
  });
});
