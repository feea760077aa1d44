/**
 * The subscribers of `npm run bench:live`, in a process of their own (forked by
 * scripts/bench-live.ts) so that their work is not counted in the producer's and the latency of a
 * delivery is measured where a client would see it. Each subscriber is its own graphql-ws
 * connection with one `customerChanged` subscription on one customer.
 *
 * Messages in: `open` (url, token, subscribers, customer ids), `phase` (start counting afresh),
 * `report` (answers the phase's delivery latencies: count, p50, p99, max), `close`.
 * Latency of a delivery: its arrival here minus the event's `committedAt`.
 */
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { percentile } from './bench-stream.js';

type Message =
  | { type: 'open'; url: string; token: string; subscribers: number; customerIds: string[] }
  | { type: 'phase' }
  | { type: 'report' }
  | { type: 'close' };

const SUBSCRIPTION = `subscription BenchChanges($ids: [ID!]) {
  customerChanged(domains: [PRODUCT], customerIds: $ids) { cursor committedAt customer { id } }
}`;

const clients: Client[] = [];
let latencies: number[] = [];
let errors = 0;
let firstError: string | undefined;
/** Deliveries per subscriber since the phase started. */
let perSubscriber: number[] = [];
let closing = false;

function send(message: unknown) {
  process.send?.(message);
}

process.on('message', (message: Message) => {
  void (async () => {
    switch (message.type) {
      case 'open': {
        perSubscriber = Array.from({ length: message.subscribers }, () => 0);
        for (let i = 0; i < message.subscribers; i++) {
          const client = createClient({
            url: message.url,
            webSocketImpl: WebSocket,
            connectionParams: { authorization: `Bearer ${message.token}` },
            lazy: false,
            retryAttempts: 0,
            on: {
              closed: (event) => {
                const code = (event as { code?: number }).code ?? 0;
                if (closing) return;
                errors++;
                firstError ??= `connection closed with ${code}`;
              },
            },
          });
          clients.push(client);
          const index = i;
          client.subscribe<{ customerChanged: { committedAt: string } }>(
            { query: SUBSCRIPTION, variables: { ids: [message.customerIds[i % message.customerIds.length]] } },
            {
              next: (result) => {
                const at = result.data?.customerChanged.committedAt;
                if (!at) {
                  errors++;
                  firstError ??= JSON.stringify(result.errors ?? result).slice(0, 300);
                  return;
                }
                latencies.push(Date.now() - Date.parse(at));
                perSubscriber[index] = (perSubscriber[index] ?? 0) + 1;
              },
              error: (error) => {
                errors++;
                firstError ??= JSON.stringify(error).slice(0, 300);
              },
              complete: () => undefined,
            },
          );
        }
        send({ type: 'opened' });
        break;
      }
      case 'phase':
        latencies = [];
        errors = 0;
        perSubscriber = perSubscriber.map(() => 0);
        send({ type: 'phased' });
        break;
      case 'report': {
        const sorted = [...latencies].sort((a, b) => a - b);
        send({
          type: 'report',
          deliveries: sorted.length,
          p50: percentile(sorted, 50),
          p99: percentile(sorted, 99),
          max: sorted.at(-1) ?? NaN,
          minPerSubscriber: Math.min(...perSubscriber),
          errors,
          firstError,
        });
        break;
      }
      case 'close':
        closing = true;
        await Promise.all(clients.map((c) => c.dispose()));
        send({ type: 'closed' });
        process.exit(0);
    }
  })();
});
