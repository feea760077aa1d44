/**
 * The hostile inputs of tests/authz.e2e.ts: broken bearer tokens, entity fetches sent straight to a
 * subgraph, and writes whose effect SQL can see (every write stamps a unique `sourceSystem` tag).
 */
import type { KeyObject } from 'node:crypto';
import { SignJWT } from 'jose';
import { GATEWAY_PRINCIPAL } from '@hub/core/keys';
import { createViewerSigner, type SignedRequest, type Viewer } from '@hub/core/viewer';
import type { Domain, Oracle } from './matrix.js';

const encoder = new TextEncoder();
const ISSUER = 'customer-data-hub';
const AUDIENCE = 'customer-data-hub';

function base64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

async function jwt(
  secret: string,
  claims: Record<string, unknown>,
  options: { iss?: string; aud?: string; exp?: number | null; alg?: string } = {},
) {
  const now = Math.floor(Date.now() / 1000);
  const builder = new SignJWT({ tenant: 'acme', roles: ['admin'], book: [], ...claims })
    .setProtectedHeader({ alg: options.alg ?? 'HS256', typ: 'JWT' })
    .setSubject('u1')
    .setIssuer(options.iss ?? ISSUER)
    .setAudience(options.aud ?? AUDIENCE)
    .setIssuedAt(now - 60);
  if (options.exp !== null) builder.setExpirationTime(options.exp ?? now + 600);
  return builder.sign(encoder.encode(secret));
}

/** A well-signed bearer token with arbitrary claims (what the hub's own token command would refuse to mint). */
export function rawToken(secret: string, claims: Record<string, unknown>): Promise<string> {
  return jwt(secret, claims);
}

/** Flips one character in the middle of a JWT segment (the last character may only hold padding bits). */
function flip(segment: string): string {
  const i = Math.floor(segment.length / 2);
  return `${segment.slice(0, i)}${segment[i] === 'A' ? 'B' : 'A'}${segment.slice(i + 1)}`;
}

export type BadTokenName =
  | 'anonymous'
  | 'expired'
  | 'forged with another secret'
  | 'tampered signature'
  | 'payload swapped to admin'
  | 'wrong audience'
  | 'wrong issuer'
  | 'system role'
  | 'unknown role'
  | 'alg none'
  | 'no tenant claim'
  | 'no expiry'
  | 'gateway viewer header as bearer'
  | 'basic scheme';

export const BAD_TOKEN_NAMES: readonly BadTokenName[] = [
  'anonymous',
  'expired',
  'forged with another secret',
  'tampered signature',
  'payload swapped to admin',
  'wrong audience',
  'wrong issuer',
  'system role',
  'unknown role',
  'alg none',
  'no tenant claim',
  'no expiry',
  'gateway viewer header as bearer',
  'basic scheme',
];

/** The Authorization header value of each bad credential (undefined: no header at all). */
export async function badAuthorization(
  name: BadTokenName,
  secrets: { jwt: string },
  gatewayKey: KeyObject,
): Promise<string | undefined> {
  const now = Math.floor(Date.now() / 1000);
  const bearer = (token: string) => `Bearer ${token}`;
  switch (name) {
    case 'anonymous':
      return undefined;
    case 'expired':
      return bearer(await jwt(secrets.jwt, {}, { exp: now - 600 }));
    case 'forged with another secret':
      return bearer(await jwt(`${secrets.jwt}-not`, {}));
    case 'tampered signature': {
      const [header, payload, signature = ''] = (await jwt(secrets.jwt, {})).split('.');
      return bearer(`${header}.${payload}.${flip(signature)}`);
    }
    case 'payload swapped to admin': {
      const [header, , signature] = (await jwt(secrets.jwt, { roles: ['marketing'] })).split('.');
      const payload = base64url({
        sub: 'u1',
        tenant: 'acme',
        roles: ['admin'],
        book: [],
        iss: ISSUER,
        aud: AUDIENCE,
        iat: now,
        exp: now + 600,
      });
      return bearer(`${header}.${payload}.${signature}`);
    }
    case 'wrong audience':
      return bearer(await jwt(secrets.jwt, {}, { aud: 'someone-else' }));
    case 'wrong issuer':
      return bearer(await jwt(secrets.jwt, {}, { iss: 'evil-idp' }));
    case 'system role':
      return bearer(await jwt(secrets.jwt, { roles: ['system'] }));
    case 'unknown role':
      return bearer(await jwt(secrets.jwt, { roles: ['superuser'] }));
    case 'alg none': {
      const payload = base64url({
        sub: 'u1',
        tenant: 'acme',
        roles: ['admin'],
        book: [],
        iss: ISSUER,
        aud: AUDIENCE,
        iat: now,
        exp: now + 600,
      });
      return bearer(`${base64url({ alg: 'none', typ: 'JWT' })}.${payload}.`);
    }
    case 'no tenant claim':
      return bearer(await jwt(secrets.jwt, { tenant: undefined }));
    case 'no expiry':
      return bearer(await jwt(secrets.jwt, {}, { exp: null }));
    case 'gateway viewer header as bearer':
      return bearer(
        createViewerSigner({ issuer: GATEWAY_PRINCIPAL, privateKey: gatewayKey }).sign(ACME_ADMIN, 'customers', {
          query: '{ customers(first: 5) { totalCount } }',
        }),
      );
    case 'basic scheme':
      return `Basic ${Buffer.from('admin:admin').toString('base64')}`;
  }
}

const ACME_ADMIN: Viewer = {
  userId: 'u1',
  tenantId: 'acme',
  roles: ['admin'],
  book: [],
  requestId: 'r',
};

/** A viewer token that expired a minute ago (right key, audience and request). */
export function expiredViewerHeader(gatewayKey: KeyObject, audience: string, request: SignedRequest): string {
  const signer = createViewerSigner({
    issuer: GATEWAY_PRINCIPAL,
    privateKey: gatewayKey,
    clock: () => Date.now() - 60_000,
  });
  return signer.sign(ACME_ADMIN, audience, request);
}

/** What each subgraph adds to Customer: the fields an `_entities` fetch straight to it would read. */
export const ENTITY_SELECTION: Readonly<Record<Domain, string>> = {
  customers: 'name ownerId industry contacts(first: 5) { totalCount edges { node { email } } }',
  marketing: 'journey { currentStage } segment campaigns(first: 5) { totalCount }',
  sales: 'renewal { renewalProbability } opportunities(first: 5) { totalCount }',
  product: 'usage { id feature } adoption { id overallAdoptionRate }',
  finance: 'finance { revenueAttribution { currentArr } invoices(first: 5) { totalCount } }',
  support: 'tickets(first: 5) { totalCount } supportSatisfaction { totalTickets }',
  health: 'health { score } healthHistory(first: 5) { totalCount }',
};

export function entitiesQuery(domain: Domain, ids: readonly string[]): string {
  const representations = ids.map((id) => `{ __typename: "Customer", id: "${id}" }`).join(', ');
  return `{ _entities(representations: [${representations}]) { ... on Customer { id ${ENTITY_SELECTION[domain]} } } }`;
}

/** One write per domain, aimed at a customer, leaving `tag` in a `sourceSystem` column SQL can count. */
export interface WriteSpec {
  readonly domain: Domain;
  readonly name: string;
  readonly mutation: string;
  variables(customerId: string, tag: string): Record<string, unknown>;
  /** Rows carrying `tag`, in any tenant. */
  effect(oracle: Oracle, tag: string): Promise<number>;
}

const counter = (table: string) => async (oracle: Oracle, tag: string) =>
  Number(
    (await oracle.one<{ n: string }>(`SELECT count(*) AS n FROM ${table} WHERE "sourceSystem" = $1`, [tag]))?.n ?? -1,
  );

export const WRITES: readonly WriteSpec[] = [
  {
    domain: 'customers',
    name: 'updateCustomer',
    mutation: 'mutation($c: ID!, $tag: String!) { updateCustomer(id: $c, input: { sourceSystem: $tag }) { id } }',
    variables: (c, tag) => ({ c, tag }),
    effect: counter('customers."Customer"'),
  },
  {
    domain: 'marketing',
    name: 'recordJourneyStage',
    mutation:
      'mutation($c: ID!, $tag: String!) { recordJourneyStage(input: { customerId: $c, stage: ADOPTION, sourceSystem: $tag }) { currentStage } }',
    variables: (c, tag) => ({ c, tag }),
    effect: counter('marketing."CustomerJourney"'),
  },
  {
    domain: 'sales',
    name: 'createOpportunity',
    mutation:
      'mutation($c: ID!, $tag: String!) { createOpportunity(input: { customerId: $c, ownerId: "u1", type: UPSELL, value: "1000.00", probability: 0.5, timeline: "q1_2026", sourceSystem: $tag }) { id } }',
    variables: (c, tag) => ({ c, tag }),
    effect: counter('sales."ExpansionOpportunity"'),
  },
  {
    domain: 'product',
    name: 'recordFeatureUsage',
    mutation:
      'mutation($c: ID!, $tag: String!) { recordFeatureUsage(input: { customerId: $c, periodStart: "2025-06-01", periodEnd: "2025-06-30", feature: $tag, category: CORE, usageCount: 1, adoptionScore: 0.5, successCorrelation: 0.5, sourceSystem: $tag }) { id } }',
    variables: (c, tag) => ({ c, tag }),
    effect: counter('product."FeatureUsage"'),
  },
  {
    domain: 'finance',
    name: 'createInvoice',
    mutation:
      'mutation($c: ID!, $tag: String!) { createInvoice(input: { customerId: $c, number: $tag, amount: "10.00", currency: "USD", issuedAt: "2025-11-01T00:00:00Z", dueAt: "2025-12-01T00:00:00Z", sourceSystem: $tag }) { id } }',
    variables: (c, tag) => ({ c, tag }),
    effect: counter('finance."Invoice"'),
  },
  {
    domain: 'support',
    name: 'createTicket',
    mutation:
      'mutation($c: ID!, $tag: String!) { createTicket(input: { customerId: $c, subject: $tag, description: "matrix", channel: EMAIL, sourceSystem: $tag }) { id } }',
    variables: (c, tag) => ({ c, tag }),
    effect: counter('support."Ticket"'),
  },
  {
    domain: 'health',
    name: 'recordHealthScore',
    mutation:
      'mutation($c: ID!, $tag: String!) { recordHealthScore(input: { customerId: $c, score: 42, usageScore: 42, engagementScore: 42, supportSatisfaction: 42, paymentStatus: CURRENT, sourceSystem: $tag }) { score } }',
    variables: (c, tag) => ({ c, tag }),
    // Health is computed: on a customer health-engine scored, a recorded score keeps none of its
    // values (the engine owns them) but is committed — its history point and its outbox event,
    // which carries the write's source.
    effect: async (oracle, tag) =>
      Number(
        (await oracle.one<{ n: string }>(`SELECT count(*) AS n FROM health.hub_sync_outbox WHERE source = $1`, [tag]))
          ?.n ?? -1,
      ),
  },
];

let tags = 0;
/** A tag no other row carries (lower snake case: valid as a feature key and an invoice number too). */
export function newTag(): string {
  return `mx_${process.pid}_${++tags}_${Math.random().toString(36).slice(2, 8)}`;
}

/** Updates by id of an existing row (the row's own table tells whether it changed). */
export interface UpdateSpec {
  readonly domain: Domain;
  readonly name: string;
  readonly table: string;
  readonly mutation: string;
}

export const UPDATES: readonly UpdateSpec[] = [
  {
    domain: 'customers',
    name: 'updateCustomer',
    table: 'customers."Customer"',
    mutation: 'mutation($id: ID!, $tag: String!) { updateCustomer(id: $id, input: { sourceSystem: $tag }) { id } }',
  },
  {
    domain: 'customers',
    name: 'updateContact',
    table: 'customers."Contact"',
    mutation: 'mutation($id: ID!, $tag: String!) { updateContact(id: $id, input: { sourceSystem: $tag }) { id } }',
  },
  {
    domain: 'sales',
    name: 'updateOpportunity',
    table: 'sales."ExpansionOpportunity"',
    mutation: 'mutation($id: ID!, $tag: String!) { updateOpportunity(id: $id, input: { sourceSystem: $tag }) { id } }',
  },
  {
    domain: 'support',
    name: 'updateTicket',
    table: 'support."Ticket"',
    mutation: 'mutation($id: ID!, $tag: String!) { updateTicket(input: { id: $id, sourceSystem: $tag }) { id } }',
  },
];
