import { describe, expect, it } from 'vitest';
import { SignJWT } from 'jose';
import { createViewerSigner, createViewerVerifier, ViewerVerificationError, type Viewer } from '../src/viewer.js';

const viewer: Viewer = {
  userId: 'u1',
  tenantId: 'acme',
  roles: ['sales_rep'],
  book: ['u1'],
  customerIds: ['cust_00001'],
  requestId: 'r1',
};

describe('gateway-signed viewer', () => {
  it('round-trips a viewer signed with the shared secret', async () => {
    const token = await createViewerSigner('s3cret').sign(viewer);
    await expect(createViewerVerifier('s3cret')(token)).resolves.toMatchObject(viewer);
  });

  it('refuses a missing header, a wrong secret, an expired signature and garbage', async () => {
    const verify = createViewerVerifier('s3cret');
    await expect(verify(undefined)).rejects.toBeInstanceOf(ViewerVerificationError);
    await expect(verify(await createViewerSigner('other').sign(viewer))).rejects.toThrow(/invalid/);
    const expired = await new SignJWT({ viewer })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer('hub-gateway')
      .setAudience('hub-subgraph')
      .setIssuedAt(Math.floor(Date.now() / 1000) - 120)
      .setExpirationTime(Math.floor(Date.now() / 1000) - 60)
      .sign(new TextEncoder().encode('s3cret'));
    await expect(verify(expired)).rejects.toThrow(/invalid/);
    await expect(verify('not.a.jwt')).rejects.toThrow(/invalid/);
  });

  it('refuses a token signed for another audience (e.g. a user JWT replayed as a viewer)', async () => {
    const userToken = await new SignJWT({ viewer })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer('customer-data-hub')
      .setAudience('customer-data-hub')
      .setExpirationTime('1m')
      .sign(new TextEncoder().encode('s3cret'));
    await expect(createViewerVerifier('s3cret')(userToken)).rejects.toThrow(/invalid/);
  });
});
