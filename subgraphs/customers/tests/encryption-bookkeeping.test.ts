/**
 * No plaintext PII anywhere in the customers store (issue 11 item 3), the sync bookkeeping included
 * (packages/core/src/crypto/bookkeeping.ts): a contact's email and phone sent through the sync
 * mutation, a conflicting newer and an older update, refused events (dead letters), the contact
 * mutations, a replay and an override — then every text, json and jsonb column of every table of
 * the store (information_schema) is scanned for the values. Beside it: the admin reads show them to
 * an admin and masked to an integration account, replay, resolveConflict and reconciliation apply
 * and compare the plaintext, and a data key rotation leaves the bookkeeping readable.
 */
import { maskEmail, maskPhone } from '@hub/core/classification';
import { BOOKKEEPING, bookkeepingCryptoOf, fieldCryptoOf } from '@hub/core/crypto/index';
import { rotateKeysJob } from '@hub/core/crypto/rotate';
import { createNatsBus } from '@hub/core/events/bus-nats';
import { OUTBOX_COLUMNS, envelopeFromOutboxRow, type OutboxRow } from '@hub/core/events/envelope';
import { STREAM_TENANT } from '@hub/core/events/remote';
import type { JobContext } from '@hub/core/events/types';
import { logCheck } from '@hub/core/reconcileChecks';
import { replayLostEvents } from '@hub/core/restore';
import { syncBatch } from '@hub/core/sync/testing';
import { acme, gql, useTestSubgraph, viewerFor } from '@hub/core/testing';
import { systemViewer } from '@hub/core/viewer';
import { jetstreamManager } from '@nats-io/jetstream';
import { randomBytes, randomInt } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { subgraph } from '../src/server.js';
import { sync } from '../src/sync.js';

const hub = useTestSubgraph(subgraph, { seed: false });
const crm = viewerFor('acme', { userId: 'crm', roles: ['integration'], domains: ['customers'] });

const tag = randomBytes(4).toString('hex');
/** Mixed case: the store must hold neither the address as sent nor the lowercased form the row keeps. */
const email = (n: number) => `Pii.Probe${n}.${tag}@Scan-${tag}.Example`;
const phone = (n: number) => `+44 20 7946 ${String(randomInt(1000, 9999))}${n}`;
const FIRST = `Probe${tag}`;
const CUSTOMER = `cust_pii_${tag}`;
const LATE = `cust_pii_late_${tag}`;
const PHONES = [phone(1), phone(2), phone(3), phone(4), phone(5)];
const at = (day: number) => `2026-11-${String(day).padStart(2, '0')}T00:00:00Z`;

const contact = (id: string, n: number, day: number, extra: Record<string, unknown> = {}) => ({
  contactRecordSync: {
    customerId: CUSTOMER,
    contactId: id,
    firstName: FIRST,
    lastName: 'Scan',
    email: email(n),
    phone: PHONES[n - 1],
    syncTimestamp: at(day),
    ...extra,
  },
});

const books = () => {
  const found = bookkeepingCryptoOf(hub.store.sql);
  if (!found) throw new Error('the customers store encrypts no bookkeeping');
  return found;
};

const BOOKKEEPING_QUERY = /* GraphQL */ `
  query ($customerId: String) {
    sync {
      customers {
        syncConflicts(first: 50, filter: { customerId: $customerId }) {
          edges {
            node {
              id
              field
              storedValue
              incomingValue
              winner
            }
          }
        }
        deadLetters(first: 50) {
          edges {
            node {
              id
              payload
              replayedAt
            }
          }
        }
      }
    }
  }
`;
type Bookkeeping = {
  sync: {
    customers: {
      syncConflicts: {
        edges: {
          node: { id: string; field: string; storedValue: string | null; incomingValue: string | null; winner: string };
        }[];
      };
      deadLetters: { edges: { node: { id: string; payload: string; replayedAt: string | null } }[] };
    };
  };
};

async function bookkeeping(viewer = acme) {
  const res = await gql<Bookkeeping>(hub.url, BOOKKEEPING_QUERY, { customerId: CUSTOMER }, viewer);
  expect(res.errors).toBeUndefined();
  const data = res.data?.sync.customers;
  return {
    text: JSON.stringify(res.data),
    conflicts: data?.syncConflicts.edges.map((e) => e.node) ?? [],
    letters: data?.deadLetters.edges.map((e) => e.node) ?? [],
  };
}

async function contactRow(id: string) {
  const res = await gql<{
    customer: { contacts: { edges: { node: { id: string; email: string; phone: string } }[] } };
  }>(
    hub.url,
    `query ($id: ID!) { customer(id: $id) { contacts(first: 20) { edges { node { id email phone } } } } }`,
    { id: id.startsWith('cont_pii_late') ? LATE : CUSTOMER },
    acme,
  );
  expect(res.errors).toBeUndefined();
  return res.data?.customer.contacts.edges.map((e) => e.node).find((c) => c.id === id);
}

const conflictOf = <C extends { field: string; storedValue: string | null }>(
  conflicts: C[],
  field: string,
  stored: string,
) => conflicts.find((c) => c.field === field && c.storedValue === JSON.stringify(stored));

describe('no plaintext PII in the sync bookkeeping either (derived from the classification)', () => {
  let lateLetter = '';

  // No demo seed (the scan reads every row): the tenant the customers belong to, only.
  beforeAll(async () => {
    await hub.store.sql.query(`INSERT INTO "Tenant" ("id", "name") VALUES ('acme', 'Acme')`);
  });

  it('writes through every path that keeps values: sync, a newer and an older conflicting update, refused events, the mutations', async () => {
    const first = await syncBatch(
      hub.url,
      'customers',
      [
        {
          source: 'crm',
          customerRecordSync: { customerId: CUSTOMER, name: 'PII scan', ownerId: 'u1', syncTimestamp: at(1) },
        },
        { source: 'crm', ...contact('cont_pii_1', 1, 2) },
      ],
      acme,
    );
    expect(first.results.map((r) => r.outcome)).toEqual(['APPLIED', 'APPLIED']);
    // Another source, newer: it wins, and both values of email and phone are recorded as conflicts.
    const newer = await syncBatch(hub.url, 'customers', [{ source: 'erp', ...contact('cont_pii_1', 2, 3) }], acme);
    expect(newer.results[0]?.conflicts.map((c) => [c.field, c.winner]).sort()).toEqual([
      ['email', 'INCOMING'],
      ['phone', 'INCOMING'],
    ]);
    // Older than the stored values: kept, recorded as conflicts won by the stored side.
    const older = await syncBatch(hub.url, 'customers', [{ source: 'crm', ...contact('cont_pii_1', 3, 1) }], acme);
    expect(older.results.map((r) => r.outcome)).toEqual(['STALE']);
    // Refused by validation (the email is fine, the phone is not) and by the store (no such customer yet).
    const refused = await syncBatch(
      hub.url,
      'customers',
      [
        { source: 'crm', ...contact('cont_pii_2', 4, 2, { phone: 'not a phone!' }) },
        { source: 'crm', ...contact('cont_pii_late_1', 5, 2, { customerId: LATE }) },
      ],
      acme,
    );
    expect(refused.results.map((r) => [r.outcome, r.field])).toEqual([
      ['REJECTED', 'phone'],
      ['REJECTED', 'customerId'],
    ]);
    lateLetter = refused.results[1]?.deadLetterId ?? '';
    expect(lateLetter).not.toBe('');
    const created = await gql<{ createContact: { id: string } }>(
      hub.url,
      'mutation ($input: CreateContactInput!) { createContact(input: $input) { id } }',
      {
        input: {
          customerId: CUSTOMER,
          firstName: FIRST,
          lastName: 'Mutation',
          email: email(6),
          phone: PHONES[3],
          idempotencyKey: `pii-create-${tag}`,
        },
      },
      acme,
    );
    expect(created.errors).toBeUndefined();
    const updated = await gql(
      hub.url,
      'mutation ($id: ID!, $input: UpdateContactInput!) { updateContact(id: $id, input: $input) { id } }',
      { id: created.data?.createContact.id, input: { email: email(7), phone: PHONES[4] } },
      acme,
    );
    expect(updated.errors).toBeUndefined();
  });

  it('stores the values sealed (v1:<key id>:...) where they were plaintext, and they open to what was sent', async () => {
    const [outbox] = await hub.store.sql.query<{ payload: { data: Record<string, unknown>; rows: unknown[] } }>(
      `SELECT "payload" FROM "hub_sync_outbox" WHERE "tenant_id" = 'acme' AND "type" = 'customers.contact_record_sync'
        ORDER BY "seq" LIMIT 1`,
    );
    const payload = outbox?.payload ?? { data: {}, rows: [] };
    const stored = typeof payload === 'string' ? (JSON.parse(payload) as typeof payload) : payload;
    expect(stored.data['email']).toMatch(/^v1:dk_[\w-]+:/);
    expect(stored.data['phone']).toMatch(/^v1:dk_[\w-]+:/);
    expect(stored.data['firstName']).toBe(FIRST);
    expect(JSON.stringify(stored.rows)).toMatch(/"changed":\{[^}]*"email":"v1:dk_/);
    const opened = await books().openOutbox('acme', 'contact_record_sync', stored);
    expect(opened['data']).toMatchObject({ email: email(1), phone: PHONES[0] });
    expect(JSON.stringify(opened['rows'])).toContain(`"email":"${email(1).toLowerCase()}"`);
    // Bound to its place: the outbox's ciphertext does not open as a dead letter's, nor as another tenant's.
    await expect(
      books().openPayload('acme', BOOKKEEPING.deadLetter, 'contact_record_sync', stored.data),
    ).rejects.toMatchObject({ code: 'CIPHERTEXT_INVALID' });
    await expect(books().openOutbox('globex', 'contact_record_sync', stored)).rejects.toMatchObject({
      code: 'DATA_KEY_UNKNOWN',
    });
    // What the bus carries (the embedded bus serves the outbox through `_events`): the same ciphertext.
    const bus = await gql<{ _events: { events: { payload: string }[] } }>(
      hub.url,
      '{ _events(limit: 500, types: ["customers.contact_record_sync", "customers.create_contact"]) { events { payload } } }',
      {},
      systemViewer(`pii-${tag}`, STREAM_TENANT),
    );
    expect(bus.errors).toBeUndefined();
    const published = bus.data?._events.events.map((e) => e.payload).join('\n') ?? '';
    expect(published).toContain(String(stored.data['email']));
    expect(published.toLowerCase()).not.toContain(`scan-${tag}.example`);
    const conflicts = await hub.store.sql.query<{ stored_value: unknown; incoming_value: unknown }>(
      `SELECT "stored_value", "incoming_value" FROM "hub_sync_conflict" WHERE "customer_id" = $1`,
      [CUSTOMER],
    );
    expect(conflicts.length).toBe(4);
    for (const c of conflicts) for (const value of [c.stored_value, c.incoming_value]) expect(value).toMatch(/^v1:dk_/);
    const letters = await hub.store.sql.query<{ payload: Record<string, unknown> }>(
      `SELECT "payload" FROM "hub_sync_dead_letter" WHERE "tenant_id" = 'acme'`,
    );
    expect(letters.length).toBe(2);
    for (const { payload: letter } of letters) {
      expect(letter['email']).toMatch(/^v1:dk_/);
      expect(letter['phone']).toMatch(/^v1:dk_/);
      // Not PII: ids (erasure finds a letter's customer by them) and names stay as sent.
      expect(String(letter['customerId'])).toMatch(/^cust_pii_/);
    }
  });

  it('admin reads show the values to an admin (a PII read in the audit) and masked to an integration account', async () => {
    const admin = await bookkeeping(acme);
    expect(conflictOf(admin.conflicts, 'email', email(1).toLowerCase())?.incomingValue).toBe(
      JSON.stringify(email(2).toLowerCase()),
    );
    expect(conflictOf(admin.conflicts, 'phone', PHONES[0] ?? '')?.incomingValue).toBe(JSON.stringify(PHONES[1]));
    const letters = admin.letters.map((l) => JSON.parse(l.payload) as Record<string, unknown>);
    expect(letters.map((l) => [l['email'], l['phone']])).toEqual(
      expect.arrayContaining([
        [email(4), 'not a phone!'],
        [email(5), PHONES[4]],
      ]),
    );
    const [audit] = await hub.store.sql.query<{ entry: string }>(
      `SELECT "entry" FROM "hub_audit" WHERE "tenant_id" = 'acme' AND "entry" LIKE '%pii_read%' AND "entry" LIKE '%SyncDeadLetter.payload%'`,
    );
    expect(audit?.entry).toContain(CUSTOMER);

    const masked = await bookkeeping(crm);
    expect(masked.conflicts.length).toBe(admin.conflicts.length);
    expect(masked.letters.length).toBe(admin.letters.length);
    expect(masked.conflicts.map((c) => c.storedValue)).toEqual(
      expect.arrayContaining([JSON.stringify(maskEmail(email(1).toLowerCase())), JSON.stringify(maskPhone(PHONES[0]))]),
    );
    const maskedLetters = masked.letters.map((l) => JSON.parse(l.payload) as Record<string, unknown>);
    expect(maskedLetters.map((l) => l['email'])).toEqual(expect.arrayContaining([maskEmail(email(4))]));
    expect(maskedLetters.every((l) => l['firstName'] === FIRST)).toBe(true);
    for (const n of [1, 2, 3, 4, 5]) expect(masked.text.toLowerCase()).not.toContain(email(n).toLowerCase());
    for (const value of PHONES) expect(masked.text).not.toContain(value);
  });

  it('replaying a dead letter as stored and resolving a conflict re-apply the plaintext', async () => {
    await syncBatch(
      hub.url,
      'customers',
      [{ source: 'crm', customerRecordSync: { customerId: LATE, name: 'Late', ownerId: 'u1', syncTimestamp: at(1) } }],
      acme,
    );
    const replay = await gql<{ replayCustomersDeadLetter: { outcome: string } }>(
      hub.url,
      'mutation ($id: ID!) { replayCustomersDeadLetter(id: $id) { outcome } }',
      { id: lateLetter },
      acme,
    );
    expect(replay.errors).toBeUndefined();
    expect(replay.data?.replayCustomersDeadLetter.outcome).toBe('APPLIED');
    expect(await contactRow('cont_pii_late_1')).toMatchObject({ email: email(5).toLowerCase(), phone: PHONES[4] });

    const { conflicts } = await bookkeeping(acme);
    const lost = conflictOf(conflicts, 'email', email(1).toLowerCase());
    if (!lost) throw new Error('the email conflict is missing');
    const resolved = await gql<{ resolveCustomersConflict: { outcome: string } }>(
      hub.url,
      'mutation ($id: ID!) { resolveCustomersConflict(id: $id, pick: STORED) { outcome } }',
      { id: lost.id },
      acme,
    );
    expect(resolved.errors).toBeUndefined();
    expect(resolved.data?.resolveCustomersConflict.outcome).toBe('APPLIED');
    expect(await contactRow('cont_pii_1')).toMatchObject({ email: email(1).toLowerCase(), phone: PHONES[1] });
  });

  it('reconciliation compares the rows with the decrypted log, and repairs a corrupted row to the logged value', async () => {
    const check = logCheck({ domain: 'customers', definition: sync, customerKeys: subgraph.customerKeys });
    const ctx = { store: hub.store.sql, tenantId: 'acme', runId: `pii-${tag}`, now: new Date() };
    const clean = await check.check(ctx);
    expect(clean.checked).toBeGreaterThan(3);
    expect(clean.differences).toEqual([]);
    const codec = fieldCryptoOf(hub.store.sql);
    if (!codec) throw new Error('no codec');
    const wrong = codec.encodeRow(await codec.writeKeys('acme'), 'Contact', { email: 'someone@else.example' });
    await hub.store.sql.query(`UPDATE "Contact" SET "email" = $1, "emailBlindIndex" = $2 WHERE "id" = 'cont_pii_1'`, [
      wrong['email'],
      wrong['emailBlindIndex'],
    ]);
    const found = await check.check(ctx);
    expect(found.differences).toEqual([
      expect.objectContaining({
        check: 'log',
        key: expect.stringContaining('cont_pii_1'),
        kind: 'different',
        fields: ['email'],
      }),
    ]);
    await check.repair?.(ctx, found.differences);
    expect((await contactRow('cont_pii_1'))?.email).toBe(email(1).toLowerCase());
    expect((await check.check({ ...ctx, now: new Date() })).differences).toEqual([]);
  });

  it('a restore replays the stream’s encrypted events in plaintext: a lost contact comes back as it was', async () => {
    const since = new Date(Date.now() - 1000);
    await syncBatch(
      hub.url,
      'customers',
      [{ source: 'crm', ...contact('cont_pii_r', 8, 4, { phone: PHONES[0] }) }],
      acme,
    );
    const sql = hub.store.sql;
    const [row] = await sql.query<OutboxRow>(
      `SELECT ${OUTBOX_COLUMNS} FROM "hub_sync_outbox" WHERE "type" = 'customers.contact_record_sync'
        ORDER BY "hub_sync_outbox"."seq" DESC LIMIT 1`,
    );
    if (!row) throw new Error('no outbox row');
    const event = envelopeFromOutboxRow('customers', row);
    expect(JSON.stringify(event.payload)).not.toContain(`scan-${tag}.example`);
    const bus = await createNatsBus({
      servers: process.env['NATS_URL'] ?? 'nats://127.0.0.1:4222',
      prefix: `PII${tag}`,
    });
    try {
      await bus.publish('customers', [event]);
      // The loss: the store as a dump taken before the event (its row, its outbox row and its key's record gone).
      await sql.transaction(async (tx) => {
        await tx.execute(`DELETE FROM "Contact" WHERE "id" = 'cont_pii_r'`);
        await tx.execute(`DELETE FROM "hub_sync_outbox" WHERE "id" = $1::uuid`, [event.id]);
        await tx.execute(`DELETE FROM "hub_sync_idempotency" WHERE "key" = $1`, [event.payload['idempotencyKey']]);
      });
      expect(await contactRow('cont_pii_r')).toBeUndefined();
      const report = await replayLostEvents({
        domain: 'customers',
        store: sql,
        bus,
        definition: sync,
        customerKeys: subgraph.customerKeys,
        since,
      });
      expect(report).toMatchObject({ read: 1, replayed: 1, outcomes: { APPLIED: 1 } });
      expect(await contactRow('cont_pii_r')).toMatchObject({ email: email(8).toLowerCase(), phone: PHONES[0] });
      // The original outbox row is back as the bus carries it: encrypted.
      const [back] = await sql.query<OutboxRow>(
        `SELECT ${OUTBOX_COLUMNS} FROM "hub_sync_outbox" WHERE "id" = $1::uuid`,
        [event.id],
      );
      expect(back && envelopeFromOutboxRow('customers', back).payload).toEqual(event.payload);
    } finally {
      const jsm = await jetstreamManager(bus.connection);
      await jsm.streams.delete(bus.streamName('customers')).catch(() => undefined);
      await bus.close();
    }
  });

  it('a data key rotation leaves the bookkeeping readable (its values stay under the retired key)', async () => {
    const codec = fieldCryptoOf(hub.store.sql);
    if (!codec) throw new Error('no codec');
    const before = (await codec.writeKeys('acme')).data.id;
    const ctx = {
      runId: `rotate-${tag}`,
      tenantId: 'acme',
      resumeFrom: null,
      flags: [],
      queuedAt: new Date(),
      store: hub.store.sql,
      signal: new AbortController().signal,
      checkpoint: async () => undefined,
    } as unknown as JobContext;
    const summary = await rotateKeysJob('customers', codec).run(ctx);
    expect((summary.details as { dataKey: string }).dataKey).not.toBe(before);
    const admin = await bookkeeping(acme);
    expect(conflictOf(admin.conflicts, 'email', email(1).toLowerCase())).toBeDefined();
    expect(admin.letters.some((l) => l.payload.includes(email(4)))).toBe(true);
  });

  it('no text, json or jsonb column of any table of the store holds an email or phone, as sent or lowercased', async () => {
    const schema = hub.store.sql;
    const columns = await schema.query<{ table_schema: string; table_name: string; column_name: string }>(
      `SELECT c.table_schema, c.table_name, c.column_name FROM information_schema.columns c
         JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
        WHERE t.table_type = 'BASE TABLE' AND c.table_schema NOT IN ('pg_catalog', 'information_schema')
          AND (c.data_type IN ('text', 'character varying', 'character', 'json', 'jsonb') OR c.udt_name IN ('_text', '_varchar'))
        ORDER BY 1, 2, 3`,
    );
    const needles = [
      ...[1, 2, 3, 4, 5, 6, 7, 8].flatMap((n) => [email(n), email(n).toLowerCase()]),
      ...PHONES,
      'not a phone!',
    ];
    const q = (name: string) => `"${name.replace(/"/g, '""')}"`;
    /** Per column holding any of `needles` (as a substring of its text): which ones. */
    const holding = async (wanted: readonly string[]) => {
      const found: Record<string, string[]> = {};
      for (const c of columns) {
        const [row] = await schema.query<{ hits: string[] | null }>(
          `SELECT array_agg(n ORDER BY n) AS hits FROM unnest($1::text[]) AS n
            WHERE EXISTS (SELECT 1 FROM ${q(c.table_schema)}.${q(c.table_name)} t WHERE strpos(t.${q(c.column_name)}::text, n::text) > 0)`,
          [wanted],
        );
        if (row?.hits?.length) found[`${c.table_name}.${c.column_name}`] = row.hits;
      }
      return found;
    };
    // The scan sees the bookkeeping: a contact's first name (CONFIDENTIAL, not PII) is kept as sent there.
    expect(Object.keys(await holding([FIRST]))).toEqual(
      expect.arrayContaining(['Contact.firstName', 'hub_sync_outbox.payload', 'hub_sync_dead_letter.payload']),
    );
    expect(columns.length).toBeGreaterThan(50);
    expect(await holding(needles)).toEqual({});
  });
});
