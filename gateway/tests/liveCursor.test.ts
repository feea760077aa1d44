/**
 * The subscription cursor (src/live/cursor.ts) and the per-subscription channel (src/live/channel.ts):
 * pure pieces, tested over generated cases.
 */
import { describe, expect, it } from 'vitest';
import { DOMAINS } from '@hub/core/domains';
import { decodeCursor, encodeCursor, isAfter, type StreamVector } from '../src/live/cursor.js';
import { Channel } from '../src/live/channel.js';

describe('subscription cursors', () => {
  // Every subset of the seven streams, with positions that differ in digit count.
  const vectors: StreamVector[] = Array.from({ length: 2 ** DOMAINS.length }, (_, mask) =>
    Object.fromEntries(DOMAINS.flatMap((d, i) => (mask & (1 << i) ? [[d, String(9 * 10 ** (i % 5) + mask)]] : []))),
  );

  it.each(vectors.map((v, i) => [i, v] as const))('vector %i round-trips', (_i, vector) => {
    expect(decodeCursor(encodeCursor(vector))).toEqual(vector);
  });

  it.each([
    ['not base64url', '***'],
    ['not JSON', Buffer.from('nope').toString('base64url')],
    ['another version', Buffer.from(JSON.stringify({ v: 2, s: {} })).toString('base64url')],
    ['an unknown stream', Buffer.from(JSON.stringify({ v: 1, s: { billing: '1' } })).toString('base64url')],
    [
      'a position that is not a number',
      Buffer.from(JSON.stringify({ v: 1, s: { sales: '1; DROP' } })).toString('base64url'),
    ],
    ['a position given as a number', Buffer.from(JSON.stringify({ v: 1, s: { sales: 1 } })).toString('base64url')],
    ['too long', 'A'.repeat(3000)],
  ])('refuses %s with BAD_USER_INPUT naming the argument', (_name, cursor) => {
    expect(() => decodeCursor(cursor)).toThrow(
      expect.objectContaining({ extensions: expect.objectContaining({ code: 'BAD_USER_INPUT', field: 'after' }) }),
    );
  });

  it('compares stream positions as integers, not as text', () => {
    expect(isAfter('10', '9')).toBe(true);
    expect(isAfter('9', '10')).toBe(false);
    expect(isAfter('10', '10')).toBe(false);
    expect(isAfter('1', undefined)).toBe(true);
  });
});

describe('the subscription channel', () => {
  it('hands values over in order and ends a producer waiting on a consumer that stopped', async () => {
    const channel = new Channel<number>();
    const pushed = [channel.push(1), channel.push(2)];
    expect(await channel.next()).toEqual({ value: 1, done: false });
    await pushed[0];
    const third = channel.push(3);
    await channel.return();
    // The producer awaiting `push` is released, and nothing is delivered after `return`.
    await Promise.all([pushed[1], third]);
    expect(channel.signal.aborted).toBe(true);
    expect(await channel.next()).toEqual({ value: undefined, done: true });
  });
});
