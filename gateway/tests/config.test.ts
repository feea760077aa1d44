import { describe, expect, it } from 'vitest';
import { ConfigError, DEV_JWT_SECRET } from '@hub/core/config';
import { devKeyPair, encodeKey, generateSigningKeyPair } from '@hub/core/keys';
import { loadGatewayConfig } from '../src/config.js';

const strong = (label: string) => `${label}-0123456789abcdef0123456789abcdef`;

function problems(env: Record<string, string>): string[] {
  try {
    loadGatewayConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('gateway config', () => {
  it('has development defaults: port 4000, seven local subgraphs, dev secrets, introspection on', () => {
    const config = loadGatewayConfig({});
    expect(config.port).toBe(4000);
    expect(config.nodeEnv).toBe('development');
    expect(config.subgraphs).toEqual([
      { name: 'customers', url: 'http://127.0.0.1:4001/graphql' },
      { name: 'marketing', url: 'http://127.0.0.1:4002/graphql' },
      { name: 'sales', url: 'http://127.0.0.1:4003/graphql' },
      { name: 'product', url: 'http://127.0.0.1:4004/graphql' },
      { name: 'finance', url: 'http://127.0.0.1:4005/graphql' },
      { name: 'support', url: 'http://127.0.0.1:4006/graphql' },
      { name: 'health', url: 'http://127.0.0.1:4007/graphql' },
    ]);
    expect(config.supergraphPath).toBeUndefined();
    expect(encodeKey(config.gatewayPrivateKey)).toBe(encodeKey(devKeyPair('gateway').privateKey));
    expect(config.jwt).toEqual({
      secret: DEV_JWT_SECRET,
      jwksUrl: undefined,
      issuer: 'customer-data-hub',
      audience: 'customer-data-hub',
      maxAgeSeconds: 24 * 3600,
      claims: { tenant: 'tenant', roles: 'roles', book: 'book', domains: 'domains' },
    });
    expect(config.ui.oidc).toBeUndefined();
    expect(config.introspection).toBe(true);
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('reads PORT=0, subgraph URLs, the supergraph path and the JWT settings from the environment', () => {
    const config = loadGatewayConfig({
      PORT: '0',
      SUBGRAPH_SALES_URL: 'http://sales.internal:8080/graphql',
      SUPERGRAPH_PATH: '/etc/hub/supergraph.graphql',
      HUB_JWT_ISSUER: 'https://idp.example.com/',
      HUB_JWT_AUDIENCE: 'hub-api',
    });
    expect(config.port).toBe(0);
    expect(config.subgraphs.find((s) => s.name === 'sales')?.url).toBe('http://sales.internal:8080/graphql');
    expect(config.supergraphPath).toBe('/etc/hub/supergraph.graphql');
    expect(config.jwt.issuer).toBe('https://idp.example.com/');
    expect(config.jwt.audience).toBe('hub-api');
  });

  it('lets command-line flags win over the environment', () => {
    expect(loadGatewayConfig({ SUPERGRAPH_PATH: 'a.graphql' }, { SUPERGRAPH_PATH: 'b.graphql' }).supergraphPath).toBe(
      'b.graphql',
    );
  });

  it('reports every bad value at once', () => {
    expect(problems({ PORT: 'abc', SUBGRAPH_HEALTH_URL: 'not a url', LOG_LEVEL: 'loud' })).toEqual([
      expect.stringMatching(/SUBGRAPH_HEALTH_URL/),
      expect.stringMatching(/PORT/),
      expect.stringMatching(/LOG_LEVEL/),
    ]);
  });

  it('refuses to run production on the development secrets or without a supergraph file', () => {
    const found = problems({
      NODE_ENV: 'production',
      HUB_GATEWAY_PRIVATE_KEY: encodeKey(devKeyPair('gateway').privateKey),
      HUB_JWT_SECRET: DEV_JWT_SECRET,
    });
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/SUPERGRAPH_PATH is required/),
        expect.stringMatching(/HUB_GATEWAY_PRIVATE_KEY is a development key/),
        expect.stringMatching(/HUB_JWT_SECRET is the development default/),
      ]),
    );
    expect(problems({ NODE_ENV: 'production', SUPERGRAPH_PATH: 's.graphql' })).toEqual([
      expect.stringMatching(/HUB_JWT_SECRET is required/),
      expect.stringMatching(/HUB_GATEWAY_PRIVATE_KEY is required/),
    ]);
    expect(
      problems({
        NODE_ENV: 'production',
        SUPERGRAPH_PATH: 's.graphql',
        HUB_GATEWAY_PRIVATE_KEY: encodeKey(generateSigningKeyPair().publicKey),
        HUB_JWT_SECRET: strong('jwt'),
      }),
    ).toEqual([expect.stringMatching(/HUB_GATEWAY_PRIVATE_KEY is not a private key/)]);
  });

  it('runs production with a JWKS instead of a shared secret; introspection stays on for admins', () => {
    const config = loadGatewayConfig({
      NODE_ENV: 'production',
      SUPERGRAPH_PATH: 's.graphql',
      HUB_GATEWAY_PRIVATE_KEY: generateSigningKeyPair().privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
      HUB_JWKS_URL: 'https://idp.example.com/.well-known/jwks.json',
    });
    expect(config.jwt.secret).toBeUndefined();
    expect(config.jwt.jwksUrl).toBe('https://idp.example.com/.well-known/jwks.json');
    expect(config.introspection).toBe(true); // on; the policy still lets only admins use it
    expect(config.host).toBe('0.0.0.0');
  });

  it('offers the pages an OIDC sign-in with HUB_OIDC_CLIENT_ID, for the JWKS issuer only', () => {
    const idp = { HUB_JWKS_URL: 'https://idp.example.com/jwks', HUB_JWT_ISSUER: 'https://idp.example.com' };
    expect(loadGatewayConfig(idp).ui.oidc).toBeUndefined();
    expect(loadGatewayConfig({ ...idp, HUB_OIDC_CLIENT_ID: 'hub-console' }).ui.oidc).toEqual({
      issuer: 'https://idp.example.com',
      clientId: 'hub-console',
      scopes: 'openid profile',
      resource: undefined,
    });
    const full = loadGatewayConfig({
      ...idp,
      HUB_OIDC_CLIENT_ID: 'hub-console',
      HUB_OIDC_SCOPES: 'openid hub',
      HUB_OIDC_RESOURCE: 'urn:customer-data-hub',
      HUB_JWT_CLAIM_ROLES: 'https://hub.example.com/roles',
    });
    expect(full.ui.oidc).toMatchObject({ scopes: 'openid hub', resource: 'urn:customer-data-hub' });
    expect(full.jwt.claims).toEqual({
      tenant: 'tenant',
      roles: 'https://hub.example.com/roles',
      book: 'book',
      domains: 'domains',
    });
    // Loopback may be http (a provider on the same machine); elsewhere the issuer must be https.
    expect(
      loadGatewayConfig({
        HUB_JWKS_URL: 'http://127.0.0.1:9/jwks',
        HUB_JWT_ISSUER: 'http://127.0.0.1:9',
        HUB_OIDC_CLIENT_ID: 'c',
      }).ui.oidc?.issuer,
    ).toBe('http://127.0.0.1:9');
    expect(
      problems({
        HUB_JWKS_URL: 'http://idp.example.com/jwks',
        HUB_JWT_ISSUER: 'http://idp.example.com',
        HUB_OIDC_CLIENT_ID: 'c',
      }),
    ).toEqual([expect.stringMatching(/HUB_JWT_ISSUER to be the provider's https issuer URL/)]);
    expect(problems({ HUB_OIDC_CLIENT_ID: 'c' })).toEqual([
      expect.stringMatching(/HUB_OIDC_CLIENT_ID needs HUB_JWKS_URL/),
      expect.stringMatching(/https issuer URL, got "customer-data-hub"/),
    ]);
    expect(problems({ ...idp, HUB_OIDC_CLIENT_ID: 'c', HUB_OIDC_RESOURCE: 'hub#x' })).toEqual([
      expect.stringMatching(/HUB_OIDC_RESOURCE must be an absolute URI/),
    ]);
  });

  it('reads the maximum token age as seconds or a duration, and refuses anything else', () => {
    expect(loadGatewayConfig({ HUB_JWT_MAX_AGE: '3600' }).jwt.maxAgeSeconds).toBe(3600);
    expect(loadGatewayConfig({ HUB_JWT_MAX_AGE: '90m' }).jwt.maxAgeSeconds).toBe(5400);
    expect(loadGatewayConfig({ HUB_JWT_MAX_AGE: '7d' }).jwt.maxAgeSeconds).toBe(7 * 86_400);
    for (const bad of ['0', 'forever', '-1h', '1y']) {
      expect(problems({ HUB_JWT_MAX_AGE: bad })).toEqual([expect.stringMatching(/HUB_JWT_MAX_AGE/)]);
    }
  });

  it('records only explicitly set subgraph URLs as overrides of a supergraph file', () => {
    expect(loadGatewayConfig({}).subgraphUrlOverrides).toEqual({});
    expect(loadGatewayConfig({ SUBGRAPH_PRODUCT_URL: 'http://product.internal/graphql' }).subgraphUrlOverrides).toEqual(
      { product: 'http://product.internal/graphql' },
    );
  });

  it('has subgraph-call resilience defaults and reads them from the environment', () => {
    expect(loadGatewayConfig({}).resilience).toEqual({
      timeoutMs: 5000,
      retries: 2,
      breakerFailures: 5,
      halfOpenAfterMs: 5000,
    });
    expect(
      loadGatewayConfig({
        SUBGRAPH_TIMEOUT_MS: '800',
        SUBGRAPH_RETRIES: '0',
        SUBGRAPH_BREAKER_FAILURES: '3',
        SUBGRAPH_BREAKER_HALF_OPEN_MS: '250',
      }).resilience,
    ).toEqual({ timeoutMs: 800, retries: 0, breakerFailures: 3, halfOpenAfterMs: 250 });
    expect(problems({ SUBGRAPH_TIMEOUT_MS: '0', SUBGRAPH_RETRIES: '11' })).toHaveLength(2);
  });

  it('serves /metrics on its own port in production (9400 by default), never on PORT', () => {
    const production = {
      NODE_ENV: 'production',
      SUPERGRAPH_PATH: 's.graphql',
      HUB_GATEWAY_PRIVATE_KEY: encodeKey(generateSigningKeyPair().privateKey),
      HUB_JWT_SECRET: strong('jwt'),
    };
    expect(loadGatewayConfig(production).metrics).toEqual({ port: 9400, host: '0.0.0.0', token: undefined });
    expect(loadGatewayConfig({ ...production, METRICS_PORT: '0' }).metrics.port).toBe(0);
    expect(problems({ ...production, PORT: '9100', METRICS_PORT: '9100' })).toEqual([
      expect.stringMatching(/METRICS_PORT must differ from PORT/),
    ]);
    expect(problems({ ...production, METRICS_TOKEN: 'short' })).toEqual([expect.stringMatching(/METRICS_TOKEN/)]);
    // Development keeps it on the main port unless asked otherwise.
    expect(loadGatewayConfig({}).metrics.port).toBeUndefined();
    expect(loadGatewayConfig({ METRICS_PORT: '9999', METRICS_TOKEN: 'a-scraper-token-123' }).metrics).toEqual({
      port: 9999,
      host: '127.0.0.1',
      token: 'a-scraper-token-123',
    });
  });
});
