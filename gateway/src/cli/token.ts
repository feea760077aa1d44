/**
 * `npm run token -- --tenant acme --role sales_rep --user u1 [--book u1,u2] [--ttl 1h]`
 * `npm run token -- --tenant acme --role integration --user crm-sync --domains product,finance`
 * Tokens carry `iat`; a `--ttl` over the gateway's maximum token age (`HUB_JWT_MAX_AGE`, 24 h) is refused.
 * Prints a development bearer token. Refuses when the hub is not on the development JWT secret.
 */
import { DOMAINS } from '@hub/core/domains';
import { parseDurationSeconds } from '../config.js';
import { TOKEN_ROLES, devTokenClaimsFromArgs, devTokenRefusal, signDevToken } from '../token.js';

const USAGE = `usage: npm run token -- --tenant <id> --role <role>[,<role>] --user <id> [--book u1,u2] [--ttl 1h]
                     [--domains <domain>,<domain>]   (required with --role integration, refused without it)
roles: ${TOKEN_ROLES.join(', ')}
domains: ${DOMAINS.join(', ')}`;

function fail(message: string): never {
  process.stderr.write(`token: ${message}\n${USAGE}\n`);
  process.exit(1);
}

const refusal = devTokenRefusal(process.env);
if (refusal) fail(refusal);

const maxAge = process.env['HUB_JWT_MAX_AGE'];
const maxAgeSeconds = maxAge ? parseDurationSeconds(maxAge) : undefined;
if (maxAge && maxAgeSeconds === undefined) fail(`HUB_JWT_MAX_AGE must be a duration like 24h, got ${maxAge}`);

try {
  const token = await signDevToken(devTokenClaimsFromArgs(process.argv.slice(2)), {
    ...(process.env['HUB_JWT_ISSUER'] ? { issuer: process.env['HUB_JWT_ISSUER'] } : {}),
    ...(process.env['HUB_JWT_AUDIENCE'] ? { audience: process.env['HUB_JWT_AUDIENCE'] } : {}),
    ...(maxAgeSeconds !== undefined ? { maxAgeSeconds } : {}),
  });
  process.stdout.write(`${token}\n`);
} catch (error) {
  fail(error instanceof Error ? error.message : String(error));
}
