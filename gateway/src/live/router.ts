import type { EventEnvelope } from '@hub/core/events/types';
import type { EventSource } from './source.js';

/**
 * The process's one listener on the source, handing each event only to the subscriptions whose
 * tenant and customer filter it passes: an event costs the subscriptions it concerns, not every
 * open subscription (with 1,000 subscribers on 50 customers, 20 instead of 1,000 calls per event).
 */
export class EventRouter {
  /** Subscriptions naming customers, by `tenant \0 customer`. */
  private readonly byCustomer = new Map<string, Set<(event: EventEnvelope) => void>>();
  /** Subscriptions of every customer of a tenant. */
  private readonly byTenant = new Map<string, Set<(event: EventEnvelope) => void>>();
  private listening = false;

  constructor(private readonly source: EventSource) {}

  /** `listener` gets the events of `tenantId` about `customers` (all of them when undefined), in stream order. */
  add(tenantId: string | null, customers: ReadonlySet<string> | undefined, listener: (event: EventEnvelope) => void) {
    // A viewer of no tenant is shown no event (events always name their tenant).
    if (tenantId === null) return () => undefined;
    if (!this.listening) {
      this.listening = true;
      this.source.listen((event) => this.dispatch(event));
    }
    const keys = customers ? [...customers].map((c) => `${tenantId}\u0000${c}`) : [tenantId];
    const index = customers ? this.byCustomer : this.byTenant;
    for (const key of keys) {
      let set = index.get(key);
      if (!set) index.set(key, (set = new Set()));
      set.add(listener);
    }
    return () => {
      for (const key of keys) {
        const set = index.get(key);
        set?.delete(listener);
        if (set?.size === 0) index.delete(key);
      }
    };
  }

  private dispatch(event: EventEnvelope): void {
    // Every subscription field is about a customer: an event naming none concerns no subscriber.
    if (event.customerId === null) return;
    const tenantWide = this.byTenant.get(event.tenantId);
    const named = this.byCustomer.get(`${event.tenantId}\u0000${event.customerId}`);
    if (tenantWide) for (const listener of tenantWide) listener(event);
    if (named) for (const listener of named) listener(event);
  }
}
