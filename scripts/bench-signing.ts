/**
 * `npm run bench:signing`: CPU cost per call of signing and verifying the viewer a subgraph fetch
 * carries, in one run so the figures compare: the hub's Ed25519 viewer token (node:crypto; sign
 * includes hashing the request, verify includes the hash check and the replay cache), the bare
 * Ed25519 primitive, jose HS256 (the former viewer header) and node:crypto HMAC-SHA256.
 *
 * Options: BENCH_SIGNING_ITERATIONS (default 5000, after 500 warm-up calls).
 */
import { createHmac, randomBytes, sign, timingSafeEqual, verify } from 'node:crypto';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { SignJWT, jwtVerify } from 'jose';
import { EnvReader } from '@hub/core/config';
import { GATEWAY_PRINCIPAL, generateSigningKeyPair } from '@hub/core/keys';
import { ReplayCache } from '@hub/core/replayCache';
import { createViewerSigner, createViewerVerifier, type Viewer } from '@hub/core/viewer';

const read = new EnvReader();
const config = read.done({ iterations: read.int('BENCH_SIGNING_ITERATIONS', 5000, { min: 100 }) });

/** A book-scoped viewer (who it is; its rows come from each subgraph's replica) and a typical `_entities` fetch of 20 customers. */
const viewer: Viewer = {
  userId: 'u1',
  tenantId: 'acme',
  roles: ['cs_manager'],
  book: ['u1', 'u2'],
  requestId: '6f1c1d0e-2b7a-4c55-9d0e-3f0f3a1b2c4d',
};
const customerIds = Array.from({ length: 20 }, (_, i) => `cust_${String(i + 1).padStart(5, '0')}`);
const request = {
  query:
    'query($representations: [_Any!]!) { _entities(representations: $representations) { ... on Customer { health { score } } } }',
  variables: { representations: customerIds.map((id) => ({ __typename: 'Customer', id })) },
};

/** Mean µs per call of `fn` (sync or async), after a warm-up. */
async function measure(fn: (i: number) => unknown): Promise<number> {
  for (let i = 0; i < 500; i++) await fn(i);
  const started = performance.now();
  for (let i = 0; i < config.iterations; i++) await fn(i);
  return ((performance.now() - started) * 1000) / config.iterations;
}

const keys = generateSigningKeyPair();
const signer = createViewerSigner({ issuer: GATEWAY_PRINCIPAL, privateKey: keys.privateKey });
// Every verification needs a fresh token (single use): sign them all up front, and verify at the
// time they were signed so that none expires while the benchmark runs.
const signedAt = Date.now();
const clock = () => signedAt;
const verifier = createViewerVerifier({
  audience: 'health',
  gatewayKey: keys.publicKey,
  replay: new ReplayCache({ maxEntries: 2 * (config.iterations + 500), clock }),
  clock,
});
let used = 0;
const tokens = Array.from({ length: config.iterations + 500 }, () => signer.sign(viewer, 'health', request));

const payload = Buffer.from(JSON.stringify({ viewer }));
const edSignature = sign(null, payload, keys.privateKey);
const secret = randomBytes(32);
const hmac = () => createHmac('sha256', secret).update(payload).digest();
const mac = hmac();
const joseKey = new Uint8Array(secret);
const jws = await new SignJWT({ viewer }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('60s').sign(joseKey);

const rows: [string, number, number][] = [
  [
    'hub viewer token (Ed25519 + request hash + replay cache)',
    await measure(() => signer.sign(viewer, 'health', request)),
    await measure(() => verifier(tokens[used++], request)),
  ],
  [
    'Ed25519, node:crypto (primitive)',
    await measure(() => sign(null, payload, keys.privateKey)),
    await measure(() => verify(null, payload, keys.publicKey, edSignature)),
  ],
  [
    'jose HS256 JWS (the former header)',
    await measure(() =>
      new SignJWT({ viewer }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('60s').sign(joseKey),
    ),
    await measure(() => jwtVerify(jws, joseKey)),
  ],
  ['HMAC-SHA256, node:crypto', await measure(hmac), await measure(() => timingSafeEqual(hmac(), mac))],
];

const load = loadavg()[0]?.toFixed(1);
console.log(`Signing cost per call (${config.iterations} calls each, Node ${process.versions.node}, load ${load}):\n`);
console.log('| scheme                                                   | sign µs | verify µs |');
console.log('| -------------------------------------------------------- | ------- | --------- |');
for (const [name, signUs, verifyUs] of rows) {
  console.log(`| ${name.padEnd(56)} | ${signUs.toFixed(1).padStart(7)} | ${verifyUs.toFixed(1).padStart(9)} |`);
}
