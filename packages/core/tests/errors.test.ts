import { describe, expect, it } from 'vitest';
import { GraphQLError } from 'graphql';
import { badUserInput, createErrorFormatter, mapPrismaError, notFound } from '../src/errors.js';

describe('errors', () => {
  it('names the field in BAD_USER_INPUT and the id in NOT_FOUND', () => {
    expect(badUserInput('input.email', 'is not an email').extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'input.email',
    });
    expect(notFound('Customer', 'cust_1').extensions).toMatchObject({ code: 'NOT_FOUND', id: 'cust_1' });
  });

  it('maps only the Prisma codes that mean something to a caller', () => {
    const p2002 = Object.assign(new Error('unique'), { code: 'P2002', meta: { target: ['tenantId', 'email'] } });
    expect(mapPrismaError(p2002, 'Contact')).toMatchObject({ extensions: { code: 'CONFLICT' } });
    expect(mapPrismaError(Object.assign(new Error('x'), { code: 'P2025' }))).toMatchObject({
      extensions: { code: 'NOT_FOUND' },
    });
    const other = Object.assign(new Error('connection'), { code: 'P1001' });
    expect(mapPrismaError(other)).toBe(other);
  });

  it('masks internal errors and strips stack traces in production', () => {
    const format = createErrorFormatter({ expose: false });
    const internal = new GraphQLError('boom at /srv/secret.ts:12', { originalError: new Error('db password wrong') });
    const formatted = format(
      { message: internal.message, extensions: { code: 'INTERNAL_SERVER_ERROR', stacktrace: ['at x'] } },
      internal,
    );
    expect(formatted).toEqual({
      message: 'Internal server error',
      locations: undefined,
      path: undefined,
      extensions: { code: 'INTERNAL_SERVER_ERROR' },
    });
    const known = format(
      { message: 'bad', extensions: { code: 'BAD_USER_INPUT', stacktrace: ['at y'] } },
      badUserInput('x', 'bad'),
    );
    expect(known.extensions).toEqual({ code: 'BAD_USER_INPUT' });
  });

  it('gives an uncoded error a code in development too', () => {
    const format = createErrorFormatter({ expose: true });
    expect(format({ message: 'oops' }, new Error('oops')).extensions?.['code']).toBe('INTERNAL_SERVER_ERROR');
  });
});

describe('errors wrapped by Apollo Server', () => {
  it('keeps the code of an error whose originalError is itself a GraphQLError (validation errors)', () => {
    const inner = new GraphQLError('Cannot query field "nme" on type "Customer".');
    const wrapped = new GraphQLError(inner.message, {
      originalError: inner,
      extensions: { code: 'GRAPHQL_VALIDATION_FAILED' },
    });
    const formatted = createErrorFormatter({ expose: false })(
      { message: wrapped.message, extensions: { code: 'GRAPHQL_VALIDATION_FAILED', stacktrace: ['at z'] } },
      wrapped,
    );
    expect(formatted.extensions).toEqual({ code: 'GRAPHQL_VALIDATION_FAILED' });
  });
});
