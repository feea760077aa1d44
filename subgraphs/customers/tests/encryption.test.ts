import { fieldCryptoOf } from '@hub/core/crypto/index';
import { EncryptionError, decryptValue, envMasterKeys, parseMasterKey } from '@hub/core/crypto/envelope';
import { FieldCrypto } from '@hub/core/crypto/fields';
import { rotateKeysJob } from '@hub/core/crypto/rotate';
import type { JobContext } from '@hub/core/events/types';
import { startSubgraph } from '@hub/core/subgraph';
import { acme, globex, gql, registerTestSubgraph, useTestSubgraph } from '@hub/core/testing';
import { syncBatch } from '@hub/core/sync/testing';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { subgraph } from '../src/server.js';

const hub = useTestSubgraph(subgraph);

// A type, not an interface: rows go to decodeRows as records.
type RawContact = {
  id: string;
  tenantId: string;
  email: string;
  phone: string | null;
  emailBlindIndex: string | null;
};

const raw = (where = 'TRUE', params: unknown[] = []) =>
  hub.store.sql.query<RawContact>(
    `SELECT "id", "tenantId", "email", "phone", "emailBlindIndex" FROM "Contact" WHERE ${where} ORDER BY "id"`,
    params,
  );

const CONTACT_QUERY = /* GraphQL */ `
  query ($id: ID!) {
    customer(id: $id) {
      contacts(first: 50) {
        edges {
          node {
            id
            email
            phone
          }
        }
      }
    }
  }
`;

async function contactsOf(customerId: string, viewer = acme) {
  const res = await gql<{
    customer: { contacts: { edges: { node: { id: string; email: string; phone: string | null } }[] } };
  }>(hub.url, CONTACT_QUERY, { id: customerId }, viewer);
  return { errors: res.errors, contacts: res.data?.customer?.contacts.edges.map((e) => e.node) ?? [] };
}

const crypto = (): FieldCrypto => {
  const found = fieldCryptoOf(hub.store.sql);
  if (!found) throw new Error('the customers store encrypts nothing');
  return found;
};

async function syncContact(customerId: string, contactId: string, email: string, phone: string, viewer = acme) {
  const customer = { customerId, name: `Customer ${customerId}`, ownerId: 'u1', syncTimestamp: '2026-11-01T00:00:00Z' };
  const contact = {
    customerId,
    contactId,
    firstName: 'Ada',
    lastName: 'Byron',
    email,
    phone,
    syncTimestamp: '2026-11-01T00:00:00Z',
  };
  const batch = await syncBatch(
    hub.url,
    'customers',
    [
      { source: 'crm', customerRecordSync: customer },
      { source: 'crm', contactRecordSync: contact },
    ],
    viewer,
  );
  expect(batch.results.map((r) => r.outcome)).toEqual(['APPLIED', 'APPLIED']);
}

/** The context the job runner gives a `rotate-keys` run (no queue: the test calls `run` itself). */
function jobContext(
  store: JobContext['store'],
  run: {
    runId: string;
    tenantId: string;
    flags?: string[];
    resumeFrom?: unknown;
    checkpoint?: (state: unknown) => Promise<void>;
  },
): JobContext {
  return {
    runId: run.runId,
    tenantId: run.tenantId,
    resumeFrom: run.resumeFrom ?? null,
    flags: run.flags ?? [],
    queuedAt: new Date(),
    store,
    signal: new AbortController().signal,
    checkpoint: run.checkpoint ?? (async () => undefined),
  } as unknown as JobContext;
}

describe('encryption at rest of contact PII (derived from the classification)', () => {
  it('encrypts exactly the PII columns the classification names: Contact.email and Contact.phone', () => {
    const plan = crypto().plan;
    expect([...plan.keys()]).toEqual(['Contact']);
    expect(plan.get('Contact')?.fields).toEqual(['email', 'phone']);
    expect([...(plan.get('Contact')?.blindIndex ?? [])]).toEqual([['email', 'emailBlindIndex']]);
  });

  it('the seeded store holds no plaintext email or phone: raw columns are ciphertext, the graph reads plaintext', async () => {
    const rows = await raw();
    expect(rows.length).toBeGreaterThan(300);
    for (const row of rows) {
      expect(row.email).toMatch(/^v1:dk_[\w-]+:[\w-]{16}:[\w-]+:[\w-]{22}$/);
      expect(row.email).not.toContain('@');
      if (row.phone !== null) expect(row.phone).toMatch(/^v1:dk_/);
      expect(row.emailBlindIndex).toMatch(/^[\w-]{43}$/);
    }
    const [first] = rows.filter((r) => r.tenantId === 'acme');
    const customer = await hub.store.sql.query<{ customerId: string }>(
      `SELECT "customerId" FROM "Contact" WHERE id = $1`,
      [first?.id],
    );
    const { errors, contacts } = await contactsOf(customer[0]?.customerId ?? '');
    expect(errors).toBeUndefined();
    for (const contact of contacts) expect(contact.email).toMatch(/^[^@\s]+@[^@\s]+$/);
  });

  it('a value round-trips from a sync mutation to a graph read; the column and its blind index hold neither the value nor its parts', async () => {
    await syncContact('cust_enc_1', 'cont_enc_1', 'Grace.Hopper@Navy.example', '+1 555 0142');
    const { errors, contacts } = await contactsOf('cust_enc_1');
    expect(errors).toBeUndefined();
    expect(contacts).toEqual([{ id: 'cont_enc_1', email: 'grace.hopper@navy.example', phone: '+1 555 0142' }]);
    const [row] = await raw(`"id" = $1`, ['cont_enc_1']);
    const everything = JSON.stringify(row).toLowerCase();
    for (const part of ['grace', 'hopper', 'navy', '555', '0142']) expect(everything).not.toContain(part);
  });

  it('looks contacts up by email through the blind index, case-insensitively, within the tenant', async () => {
    await syncContact('cust_enc_2', 'cont_enc_2', 'linus@kernel.example', '+1 555 0143');
    const db = hub.store.client;
    const found = await db.contact.findMany({ where: { tenantId: 'acme', email: '  LINUS@Kernel.example ' } });
    expect(found.map((c) => [c.id, c.email])).toEqual([['cont_enc_2', 'linus@kernel.example']]);
    const viaEquals = await db.contact.findFirst({
      where: { AND: [{ tenantId: 'acme' }], email: { equals: 'linus@kernel.example' } },
    });
    expect(viaEquals?.id).toBe('cont_enc_2');
    expect(await db.contact.findMany({ where: { tenantId: 'globex', email: 'linus@kernel.example' } })).toEqual([]);
    // Ciphertext has no order or substrings: anything but equality is refused, never answered wrongly.
    await expect(
      db.contact.findMany({ where: { tenantId: 'acme', email: { contains: 'linus' } } }),
    ).rejects.toMatchObject({
      code: 'UNSUPPORTED_QUERY',
    });
    await expect(db.contact.findMany({ where: { tenantId: 'acme' }, orderBy: { email: 'asc' } })).rejects.toMatchObject(
      {
        code: 'UNSUPPORTED_QUERY',
      },
    );
  });

  it('one email per customer still holds through the blind index: a second contact with it is CONFLICT on email', async () => {
    const create = (id: string, email: string) =>
      gql<{ createContact: { id: string } }>(
        hub.url,
        'mutation ($input: CreateContactInput!) { createContact(input: $input) { id } }',
        { input: { customerId: 'cust_enc_2', firstName: 'Li', lastName: 'Nus', email, idempotencyKey: id } },
        acme,
      );
    const again = await create('dup-1', 'Linus@kernel.example');
    expect(again.errors?.[0]?.extensions).toMatchObject({ code: 'CONFLICT' });
    expect(String(again.errors?.[0]?.extensions?.['field'])).toContain('email');
    expect(String(again.errors?.[0]?.extensions?.['field'])).not.toContain('BlindIndex');
  });

  it("two tenants' ciphertexts and blind indexes of one email differ, and one tenant's key cannot read the other's", async () => {
    await syncContact('cust_enc_3', 'cont_enc_3a', 'same@shared.example', '+1 555 0144', acme);
    await syncContact('cust_enc_3g', 'cont_enc_3g', 'same@shared.example', '+1 555 0144', globex);
    const [a] = await raw(`"id" = $1`, ['cont_enc_3a']);
    const [g] = await raw(`"id" = $1`, ['cont_enc_3g']);
    if (!a || !g) throw new Error('rows missing');
    expect(a.email).not.toBe(g.email);
    expect(a.emailBlindIndex).not.toBe(g.emailBlindIndex);
    const acmeKeys = await crypto().writeKeys('acme');
    const globexKeys = await crypto().writeKeys('globex');
    expect(acmeKeys.data.id).not.toBe(globexKeys.data.id);
    // acme's key under globex's key id: GCM refuses (and the AAD names the tenant).
    expect(() => decryptValue({ ...acmeKeys.data, id: globexKeys.data.id }, 'Contact.email', g.email)).toThrow(
      expect.objectContaining({ code: 'CIPHERTEXT_INVALID' }),
    );
    // globex's ciphertext copied into acme's row is refused on read, not shown to acme.
    await hub.store.sql.query(`UPDATE "Contact" SET "email" = $1 WHERE "id" = 'cont_enc_3a'`, [g.email]);
    const { errors, contacts } = await contactsOf('cust_enc_3');
    expect(contacts).toEqual([]);
    expect(errors?.[0]?.extensions?.['code']).toBe('INTERNAL_SERVER_ERROR');
    await expect(crypto().decodeRows('Contact', [{ ...g, tenantId: 'acme' }])).rejects.toMatchObject({
      code: 'DATA_KEY_UNKNOWN',
    });
    await hub.store.sql.query(`UPDATE "Contact" SET "email" = $1 WHERE "id" = 'cont_enc_3a'`, [a.email]);
    expect((await contactsOf('cust_enc_3')).contacts[0]?.email).toBe('same@shared.example');
  });

  it('a tampered ciphertext is detected (CIPHERTEXT_INVALID), never decrypted to garbage', async () => {
    await syncContact('cust_enc_4', 'cont_enc_4', 'alan@turing.example', '+1 555 0145');
    const [row] = await raw(`"id" = $1`, ['cont_enc_4']);
    if (!row) throw new Error('row missing');
    const parts = row.email.split(':');
    const body = Buffer.from(parts[3] ?? '', 'base64url');
    body[0] = (body[0] ?? 0) ^ 1;
    const tampered = [...parts.slice(0, 3), body.toString('base64url'), parts[4]].join(':');
    await expect(crypto().decodeRows('Contact', [{ ...row, email: tampered }])).rejects.toMatchObject({
      code: 'CIPHERTEXT_INVALID',
    });
    // Moved to another column (phone): the AAD names the column.
    await expect(crypto().decodeRows('Contact', [{ ...row, phone: row.email }])).rejects.toMatchObject({
      code: 'CIPHERTEXT_INVALID',
    });
    await expect(crypto().decodeRows('Contact', [{ ...row, email: `v2:${row.email.slice(3)}` }])).rejects.toMatchObject(
      {
        code: 'CIPHERTEXT_INVALID',
      },
    );
    await hub.store.sql.query(`UPDATE "Contact" SET "email" = $1 WHERE "id" = 'cont_enc_4'`, [tampered]);
    const { errors, contacts } = await contactsOf('cust_enc_4');
    expect(contacts).toEqual([]);
    expect(errors?.[0]?.extensions?.['code']).toBe('INTERNAL_SERVER_ERROR');
    await hub.store.sql.query(`UPDATE "Contact" SET "email" = $1 WHERE "id" = 'cont_enc_4'`, [row.email]);
  });

  it('a wrong master key fails with a coded error: MASTER_KEY_UNKNOWN for another key, MASTER_KEY_MISMATCH for a wrong one under its id', async () => {
    const [row] = await raw(`"tenantId" = 'acme'`);
    if (!row) throw new Error('no row');
    const wrong = parseMasterKey('HUB_MASTER_KEY', randomBytes(32).toString('base64'));
    const other = new FieldCrypto(hub.store.sql, crypto().plan, envMasterKeys(wrong));
    await expect(other.decodeRows('Contact', [{ ...row }])).rejects.toMatchObject({ code: 'MASTER_KEY_UNKNOWN' });
    const keyId = row.email.split(':')[1];
    const [stored] = await hub.store.sql.query<{ master_key_id: string }>(
      `SELECT "master_key_id" FROM "hub_data_key" WHERE "id" = $1`,
      [keyId],
    );
    const impostor = envMasterKeys({ id: stored?.master_key_id ?? '', key: wrong.key });
    const third = new FieldCrypto(hub.store.sql, crypto().plan, impostor);
    const failure = await third.decodeRows('Contact', [{ ...row }]).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(EncryptionError);
    expect(failure).toMatchObject({ code: 'MASTER_KEY_MISMATCH' });
  });

  it('rotate-keys: killed mid-way every row still reads (old and new key side by side), resumed all rows are on the new key', async () => {
    const tenantId = 'acme';
    const before = await raw(`"tenantId" = $1`, [tenantId]);
    const oldKey = before[0]?.email.split(':')[1];
    const job = rotateKeysJob('customers', crypto());
    let saved: unknown = null;
    let chunks = 0;
    const ctx = (resumeFrom: unknown, killAfter: number): JobContext =>
      jobContext(hub.store.sql, {
        runId: 'rotate-test',
        tenantId,
        resumeFrom,
        async checkpoint(state: unknown) {
          saved = state;
          if ((state as { reencrypted: number }).reencrypted > 0 && ++chunks >= killAfter) throw new Error('killed');
        },
      });
    await expect(job.run(ctx(null, 1))).rejects.toThrow('killed');
    const midway = await raw(`"tenantId" = $1`, [tenantId]);
    const keysInUse = new Set(midway.map((r) => r.email.split(':')[1]));
    expect(keysInUse.size).toBe(2);
    expect(keysInUse.has(oldKey)).toBe(true);
    // Every row reads meanwhile: the graph and the codec accept both keys.
    const customerIds = await hub.store.sql.query<{ customerId: string }>(
      `SELECT DISTINCT "customerId" FROM "Contact" WHERE "tenantId" = $1 ORDER BY 1 LIMIT 5`,
      [tenantId],
    );
    for (const { customerId } of customerIds) {
      const { errors, contacts } = await contactsOf(customerId);
      expect(errors).toBeUndefined();
      for (const contact of contacts) expect(contact.email).toContain('@');
    }
    const decoded = midway.map((r) => ({ ...r }));
    await crypto().decodeRows('Contact', decoded);
    expect(decoded.every((r) => r.email.includes('@'))).toBe(true);
    // A write meanwhile uses the new key.
    await syncContact('cust_enc_5', 'cont_enc_5', 'edsger@dijkstra.example', '+31 20 555 0146');
    const summary = await job.run(ctx(saved, Number.POSITIVE_INFINITY));
    expect(summary.details).toMatchObject({ remaining: { Contact: 0 }, newKey: true });
    const after = await raw(`"tenantId" = $1`, [tenantId]);
    const newKey = (summary.details as { dataKey: string }).dataKey;
    expect(new Set(after.map((r) => r.email.split(':')[1]))).toEqual(new Set([newKey]));
    const decodedAfter = after.map((r) => ({ ...r }));
    await crypto().decodeRows('Contact', decodedAfter);
    const afterById = new Map(decodedAfter.map((r) => [r.id, [r.email, r.phone]]));
    for (const r of decoded) expect(afterById.get(r.id)).toEqual([r.email, r.phone]);
    // The blind index survives a data key rotation (its key is its own): lookups still find.
    const found = await hub.store.client.contact.findMany({ where: { tenantId, email: 'edsger@dijkstra.example' } });
    expect(found.map((c) => c.id)).toEqual(['cont_enc_5']);
    // globex was not touched.
    const globexKeys = new Set((await raw(`"tenantId" = 'globex'`)).map((r) => r.email.split(':')[1]));
    expect(globexKeys.has(newKey)).toBe(false);
  });

  it('rotate-keys encrypts rows written in plaintext before encryption (the migration path), readable throughout', async () => {
    await syncContact('cust_enc_6', 'cont_enc_6', 'barbara@liskov.example', '+1 555 0147');
    await hub.store.sql.query(
      `UPDATE "Contact" SET "email" = 'barbara@liskov.example', "phone" = '+1 555 0147', "emailBlindIndex" = NULL WHERE "id" = 'cont_enc_6'`,
    );
    expect((await contactsOf('cust_enc_6')).contacts).toEqual([
      { id: 'cont_enc_6', email: 'barbara@liskov.example', phone: '+1 555 0147' },
    ]);
    const job = rotateKeysJob('customers', crypto());
    const summary = await job.run(
      jobContext(hub.store.sql, { runId: 'rotate-legacy', tenantId: 'acme', flags: ['rewrap-only'] }),
    );
    expect(summary).toMatchObject({ processed: 1, details: { newKey: false, remaining: { Contact: 0 } } });
    const [row] = await raw(`"id" = 'cont_enc_6'`);
    expect(row?.email).toMatch(/^v1:/);
    expect(row?.phone).toMatch(/^v1:/);
    expect(row?.emailBlindIndex).toMatch(/^[\w-]{43}$/);
    expect((await contactsOf('cust_enc_6')).contacts[0]?.email).toBe('barbara@liskov.example');
  });

  it('rotate-keys re-wraps data keys under a new master key (HUB_MASTER_KEY new, HUB_MASTER_KEY_PREVIOUS old)', async () => {
    const current = crypto();
    const next = parseMasterKey('HUB_MASTER_KEY', randomBytes(32).toString('base64'));
    // The store's current master key is the dev key (no HUB_MASTER_KEY in tests).
    const { DEV_MASTER_KEY } = await import('@hub/core/crypto/envelope');
    const rotated = new FieldCrypto(hub.store.sql, current.plan, envMasterKeys(next, DEV_MASTER_KEY));
    const summary = await rotateKeysJob('customers', rotated).run(
      jobContext(hub.store.sql, { runId: 'rotate-master', tenantId: 'globex', flags: ['rewrap-only'] }),
    );
    expect((summary.details as { rewrapped: number }).rewrapped).toBeGreaterThanOrEqual(2);
    const masters = await hub.store.sql.query<{ master_key_id: string }>(
      `SELECT DISTINCT "master_key_id" FROM "hub_data_key" WHERE "tenant_id" = 'globex'`,
    );
    expect(masters).toEqual([{ master_key_id: next.id }]);
    // Only the new master key is needed now.
    const onlyNew = new FieldCrypto(hub.store.sql, current.plan, envMasterKeys(next));
    const rows = await raw(`"tenantId" = 'globex'`);
    await onlyNew.decodeRows('Contact', rows);
    expect(rows.every((r) => r.email.includes('@'))).toBe(true);
  });
});

describe('encryption at rest on the embedded store (PGlite)', () => {
  it('seeds encrypted, round-trips a sync write to a graph read, and its raw columns hold no plaintext', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'hub-enc-'));
    const embedded = await startSubgraph(subgraph, {
      port: 0,
      seedDemo: true,
      migrate: true,
      logLevel: 'warn',
      store: { kind: 'embedded', dataDir: dir },
    });
    try {
      registerTestSubgraph(embedded.url, 'customers');
      const rows = await embedded.store.sql.query<RawContact>(
        `SELECT "email", "phone", "emailBlindIndex" FROM "Contact"`,
      );
      expect(rows.length).toBeGreaterThan(300);
      expect(rows.every((r) => r.email.startsWith('v1:') && !r.email.includes('@'))).toBe(true);
      const batch = await syncBatch(embedded.url, 'customers', [
        {
          source: 'crm',
          customerRecordSync: {
            customerId: 'cust_pg_1',
            name: 'PG',
            ownerId: 'u1',
            syncTimestamp: '2026-11-01T00:00:00Z',
          },
        },
        {
          source: 'crm',
          contactRecordSync: {
            customerId: 'cust_pg_1',
            contactId: 'cont_pg_1',
            firstName: 'Ada',
            lastName: 'Lovelace',
            email: 'ada@engine.example',
            phone: '+44 20 555 0148',
            syncTimestamp: '2026-11-01T00:00:00Z',
          },
        },
      ]);
      expect(batch.results.map((r) => r.outcome)).toEqual(['APPLIED', 'APPLIED']);
      const res = await gql<{ customer: { contacts: { edges: { node: { email: string; phone: string } }[] } } }>(
        embedded.url,
        CONTACT_QUERY,
        { id: 'cust_pg_1' },
        acme,
      );
      expect(res.errors).toBeUndefined();
      expect(res.data?.customer.contacts.edges.map((e) => e.node)).toEqual([
        { id: 'cont_pg_1', email: 'ada@engine.example', phone: '+44 20 555 0148' },
      ]);
      const [row] = await embedded.store.sql.query<RawContact & { firstName: string }>(
        `SELECT * FROM "Contact" WHERE "id" = 'cont_pg_1'`,
      );
      // Names are CONFIDENTIAL, not PII: stored as they are. The PII columns and the index hold no part of the values.
      expect(row?.firstName).toBe('Ada');
      expect(JSON.stringify([row?.email, row?.phone, row?.emailBlindIndex])).not.toMatch(/ada|engine|555|0148/i);
    } finally {
      await embedded.stop();
      await rm(dir, { recursive: true, force: true });
    }
    // The demo seed into PGlite takes most of it (45-65 s on the loaded test machine).
  }, 240_000);
});
