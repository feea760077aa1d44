/**
 * The cursor a subscriber receives with every event: where its subscription stands in every stream
 * it listens to, as one opaque string — base64url of `{"v":1,"s":{"<domain>":"<stream cursor>"}}`.
 * Stream cursors are the bus's own (outbox seq on the embedded bus, JetStream sequence on NATS):
 * numeric, increasing with commit order within one stream, so "after c" is well defined per stream.
 *
 * Not signed: a cursor only says where to start reading, and every replayed event goes through the
 * subscriber's own rules like a live one, so a forged cursor can at most replay what its holder may
 * read anyway. It is validated (known domains, decimal positions) and refused with BAD_USER_INPUT.
 */
import { badUserInput } from '@hub/core/errors';
import { DOMAINS, type Domain } from '@hub/core/domains';

export type StreamVector = Partial<Record<Domain, string>>;

const POSITION = /^\d{1,19}$/;

export function encodeCursor(vector: StreamVector): string {
  const streams: Record<string, string> = {};
  for (const domain of DOMAINS) {
    const position = vector[domain];
    if (position !== undefined) streams[domain] = position;
  }
  return Buffer.from(JSON.stringify({ v: 1, s: streams })).toString('base64url');
}

export function decodeCursor(cursor: string, argument = 'after'): StreamVector {
  let parsed: unknown;
  try {
    if (cursor.length > 2048 || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw new Error('not base64url');
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw badUserInput(argument, 'is not a cursor this API returned');
  }
  const streams = (parsed as { v?: unknown; s?: unknown } | null)?.s;
  if ((parsed as { v?: unknown }).v !== 1 || typeof streams !== 'object' || streams === null || Array.isArray(streams))
    throw badUserInput(argument, 'is not a cursor this API returned');
  const vector: StreamVector = {};
  for (const [domain, position] of Object.entries(streams)) {
    if (!(DOMAINS as readonly string[]).includes(domain) || typeof position !== 'string' || !POSITION.test(position))
      throw badUserInput(argument, 'is not a cursor this API returned');
    vector[domain as Domain] = position;
  }
  return vector;
}

/** Stream cursors compare as integers (not as text: "9" < "10"). */
export function isAfter(cursor: string, position: string | undefined): boolean {
  return position === undefined || BigInt(cursor) > BigInt(position);
}
