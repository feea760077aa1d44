import { describe, expect, it } from 'vitest';
import { acme, gql, useTestSubgraph } from '@hub/core/testing';
import { subgraph } from '../src/server.js';
import { CREATE, UPDATE_STATUS, invoiceInput } from './fixtures.js';

const hub = useTestSubgraph(subgraph);

describe('finance subgraph: writes', () => {
  it('creates an invoice, marks it paid, and refuses to reopen it', async () => {
    const created = await gql<{ createInvoice: { id: string; status: string; amount: string } }>(
      hub.url,
      CREATE,
      { input: invoiceInput },
      acme,
    );
    expect(created.errors).toBeUndefined();
    expect(created.data?.createInvoice).toMatchObject({
      status: 'OPEN',
      amount: '12500.50',
      currency: 'USD',
      paidAt: null,
    });
    const id = created.data?.createInvoice.id;

    const paid = await gql<{ updateInvoiceStatus: { status: string; paidAt: string } }>(
      hub.url,
      UPDATE_STATUS,
      { input: { id, status: 'PAID', paidAt: '2025-12-10T12:00:00.000Z' } },
      acme,
    );
    expect(paid.data?.updateInvoiceStatus).toMatchObject({ status: 'PAID', paidAt: '2025-12-10T12:00:00.000Z' });

    const read = await gql<{ invoice: { status: string } }>(
      hub.url,
      `query ($id: ID!) { invoice(id: $id) { status } }`,
      { id },
      acme,
    );
    expect(read.data?.invoice.status).toBe('PAID');

    const reopen = await gql(hub.url, UPDATE_STATUS, { input: { id, status: 'OPEN' } }, acme);
    expect(reopen.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.status' });

    // An identical repeat of the create is a replay: the same invoice, as it is now, and no second row.
    const replay = await gql<{ createInvoice: { id: string; status: string } }>(
      hub.url,
      CREATE,
      { input: invoiceInput },
      acme,
    );
    expect(replay.errors).toBeUndefined();
    expect(replay.data?.createInvoice).toMatchObject({ id, status: 'PAID' });
    // The same number with other figures is a different invoice: CONFLICT.
    const clash = await gql(hub.url, CREATE, { input: { ...invoiceInput, amount: '99.00' } }, acme);
    expect(clash.errors?.[0]?.extensions?.['code']).toBe('CONFLICT');
  });

  it('replays a write whose idempotency key was seen, and applies a new key', async () => {
    const input = { ...invoiceInput, number: 'INV-KEY-0001', idempotencyKey: 'create-key-1' };
    const first = await gql<{ createInvoice: { id: string } }>(hub.url, CREATE, { input }, acme);
    const id = first.data?.createInvoice.id;
    expect(id).toBeDefined();
    // Same key, other figures: the first call's invoice again, unchanged.
    const again = await gql<{ createInvoice: { id: string; amount: string } }>(
      hub.url,
      CREATE,
      { input: { ...input, amount: '1.00' } },
      acme,
    );
    expect(again.data?.createInvoice).toMatchObject({ id, amount: '12500.50' });

    const pay = { id, status: 'PAID', paidAt: '2025-12-10T12:00:00.000Z', idempotencyKey: 'pay-key-1' };
    const paid = await gql<{ updateInvoiceStatus: { status: string } }>(hub.url, UPDATE_STATUS, { input: pay }, acme);
    expect(paid.data?.updateInvoiceStatus.status).toBe('PAID');
    const repaid = await gql<{ updateInvoiceStatus: { status: string; paidAt: string } }>(
      hub.url,
      UPDATE_STATUS,
      { input: pay },
      acme,
    );
    expect(repaid.errors).toBeUndefined();
    expect(repaid.data?.updateInvoiceStatus).toMatchObject({ status: 'PAID', paidAt: '2025-12-10T12:00:00.000Z' });
  });

  it.each([
    [{ amount: '0' }, 'input.amount'],
    [{ amount: '-10.00' }, 'input.amount'],
    [{ currency: 'usd' }, 'input.currency'],
    [{ currency: 'EURO' }, 'input.currency'],
    [{ dueAt: '2025-11-30T00:00:00.000Z' }, 'input.dueAt'],
    [{ status: 'PAID' }, 'input.status'],
  ])('rejects invoice input %j with BAD_USER_INPUT naming %s', async (change, field) => {
    const res = await gql(hub.url, CREATE, { input: { ...invoiceInput, number: 'INV-BAD', ...change } }, acme);
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
  });

  it('upserts revenue attribution and validates its amounts', async () => {
    const mutation = `mutation ($input: UpsertRevenueAttributionInput!) {
      upsertRevenueAttribution(input: $input) { id currentArr churnPrevention successRoi paybackPeriodMonths customer { id } } }`;
    const input = {
      customerId: 'cust_00005',
      currentArr: '150000',
      churnPrevention: '25000',
      expansionRevenue: '30000',
      referralValue: '15000',
      customerLtv: '450000',
      acquisitionCost: '25000',
      successRoi: 1800,
      paybackPeriodMonths: 3,
    };
    const res = await gql<{ upsertRevenueAttribution: { id: string } }>(hub.url, mutation, { input }, acme);
    expect(res.errors).toBeUndefined();
    expect(res.data?.upsertRevenueAttribution).toMatchObject({
      id: 'rev_cust_00005',
      currentArr: '150000.00',
      successRoi: 1800,
      paybackPeriodMonths: 3,
      customer: { id: 'cust_00005' },
    });
    // A, then B, then A again (no key): each call is applied, the last one wins.
    const b = await gql<{ upsertRevenueAttribution: { currentArr: string } }>(
      hub.url,
      mutation,
      { input: { ...input, currentArr: '160000' } },
      acme,
    );
    expect(b.data?.upsertRevenueAttribution.currentArr).toBe('160000.00');
    const a = await gql<{ upsertRevenueAttribution: { currentArr: string } }>(hub.url, mutation, { input }, acme);
    expect(a.data?.upsertRevenueAttribution.currentArr).toBe('150000.00');
    // With a key, a repeat is a replay even with other figures.
    const keyed = { ...input, currentArr: '170000', idempotencyKey: 'rev-key-1' };
    await gql(hub.url, mutation, { input: keyed }, acme);
    const replay = await gql<{ upsertRevenueAttribution: { id: string; currentArr: string } }>(
      hub.url,
      mutation,
      { input: { ...keyed, currentArr: '1' } },
      acme,
    );
    expect(replay.data?.upsertRevenueAttribution).toMatchObject({ id: 'rev_cust_00005', currentArr: '170000.00' });
    const bad = await gql(hub.url, mutation, { input: { ...input, churnPrevention: '-1' } }, acme);
    expect(bad.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.churnPrevention' });
  });

  it('answers NOT_FOUND for an unknown invoice', async () => {
    const res = await gql(hub.url, UPDATE_STATUS, { input: { id: 'inv_nope', status: 'PAID' } }, acme);
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'NOT_FOUND' });
  });
});
