/**
 * The live engine's router (live/router.ts): each event reaches only the subscriptions whose tenant
 * and customer filter it passes, in stream order, and none after they unsubscribe.
 */
import { describe, expect, it } from 'vitest';
import type { EventEnvelope } from '@hub/core/events/types';
import { EventRouter } from '../src/live/router.js';
import type { EventSource } from '../src/live/source.js';

function sourceOf() {
  const listeners: ((event: EventEnvelope) => void)[] = [];
  const source = {
    listen(listener: (event: EventEnvelope) => void) {
      listeners.push(listener);
      return () => undefined;
    },
  } as unknown as EventSource;
  const emit = (tenantId: string, customerId: string | null, cursor: string) => {
    const event = { tenantId, customerId, cursor, domain: 'product' } as unknown as EventEnvelope;
    for (const listener of listeners) listener(event);
  };
  return { source, emit, listeners };
}

describe('EventRouter', () => {
  it('hands an event to the subscriptions of its tenant and customer only, in order; none after unsubscribing', () => {
    const { source, emit, listeners } = sourceOf();
    const router = new EventRouter(source);
    const got: Record<string, string[]> = { a: [], ab: [], acme: [], other: [], none: [] };
    const into = (name: string) => (event: EventEnvelope) => got[name]?.push(`${event.customerId}:${event.cursor}`);
    const stopA = router.add('acme', new Set(['a']), into('a'));
    router.add('acme', new Set(['a', 'b']), into('ab'));
    router.add('acme', undefined, into('acme'));
    router.add('globex', undefined, into('other'));
    router.add(null, undefined, into('none'));
    // One listener on the source, whatever the number of subscriptions.
    expect(listeners).toHaveLength(1);
    emit('acme', 'a', '1');
    emit('acme', 'b', '2');
    emit('acme', 'c', '3');
    emit('acme', null, '4');
    emit('globex', 'a', '5');
    stopA();
    emit('acme', 'a', '6');
    expect(got).toEqual({
      a: ['a:1'],
      ab: ['a:1', 'b:2', 'a:6'],
      acme: ['a:1', 'b:2', 'c:3', 'a:6'],
      other: ['a:5'],
      none: [],
    });
  });
});
