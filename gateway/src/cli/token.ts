/**
 * `npm run token -- --tenant acme --role sales_rep --user u1 [--book u1,u2] [--ttl 1h]`
 * Prints a development bearer token. Refuses when the hub is not on the development JWT secret.
 */
import { TOKEN_ROLES, devTokenClaimsFromArgs, devTokenRefusal, signDevToken } from '../token.js';

const USAGE = `usage: npm run token -- --tenant <id> --role <role>[,<role>] --user <id> [--book u1,u2] [--ttl 1h]
roles: ${TOKEN_ROLES.join(', ')}`;

function fail(message: string): never {
  process.stderr.write(`token: ${message}\n${USAGE}\n`);
  process.exit(1);
}

const refusal = devTokenRefusal(process.env);
if (refusal) fail(refusal);

try {
  const token = await signDevToken(devTokenClaimsFromArgs(process.argv.slice(2)), {
    ...(process.env['HUB_JWT_ISSUER'] ? { issuer: process.env['HUB_JWT_ISSUER'] } : {}),
    ...(process.env['HUB_JWT_AUDIENCE'] ? { audience: process.env['HUB_JWT_AUDIENCE'] } : {}),
  });
  process.stdout.write(`${token}\n`);
} catch (error) {
  fail(error instanceof Error ? error.message : String(error));
}
