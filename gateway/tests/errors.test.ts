import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { post, startTestHub, token, type TestHub } from './helpers.js';

const query = { query: '{ pipelineTotal boom }' };

describe('error formatting outside development', () => {
  let hub: TestHub;
  beforeAll(async () => {
    hub = await startTestHub({ nodeEnv: 'production' });
  });
  afterAll(async () => {
    await hub.stop();
  });

  it('masks an internal subgraph error: no message, no stack trace, the other fields intact', async () => {
    const result = await post(hub.gateway.url, query, await token());
    expect(result.body.data).toEqual({ pipelineTotal: 42, boom: null });
    expect(result.body.errors).toEqual([
      { message: 'Internal server error', path: ['boom'], extensions: { code: 'INTERNAL_SERVER_ERROR' } },
    ]);
    expect(JSON.stringify(result.body)).not.toMatch(/postgres:\/\/|stacktrace/);
  });

  it('keeps coded errors but strips their stack traces', async () => {
    const result = await post(hub.gateway.url, query);
    expect(result.status).toBe(401);
    expect(result.body.errors?.[0]?.extensions).toEqual({ code: 'UNAUTHENTICATED' });
  });
});

describe('error formatting in development', () => {
  let hub: TestHub;
  beforeAll(async () => {
    hub = await startTestHub({ nodeEnv: 'development' });
  });
  afterAll(async () => {
    await hub.stop();
  });

  it('shows the real message and a stack trace to the developer', async () => {
    const result = await post(hub.gateway.url, query, await token());
    const error = result.body.errors?.[0];
    expect(error?.message).toMatch(/connection string/);
    expect(error?.extensions?.['code']).toBe('INTERNAL_SERVER_ERROR');
    expect(error?.extensions?.['serviceName']).toBe('sales');
  });

  it('names the transport failure of a subgraph that is down', async () => {
    await hub.sales.stop();
    const result = await post(hub.gateway.url, query, await token());
    expect(result.body.errors?.[0]?.extensions).toMatchObject({
      code: 'DOWNSTREAM_SERVICE_ERROR',
      serviceName: 'sales',
      reason: expect.stringMatching(/ECONNREFUSED|failed/),
    });
    expect(result.body.errors?.[0]?.extensions?.['stacktrace']).toBeDefined();
  });
});
