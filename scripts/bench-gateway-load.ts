/**
 * The load generator of `npm run bench:gateway`, in a process of its own (forked by
 * scripts/bench-gateway.ts) so its CPU is not the measured gateways'. Takes jobs over IPC, runs
 * each with autocannon (keep-alive connections, each request a body drawn at random from the job's
 * pool) and answers the figures. A 200 whose body holds GraphQL `errors` is counted apart: a
 * gateway answering errors fast must not look fast.
 */
import autocannon from 'autocannon';

export interface LoadJob {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  /** Exact JSON bodies; each request sends one drawn uniformly at random. */
  readonly bodies: readonly string[];
  readonly connections: number;
  readonly seconds: number;
}

export interface LoadResult {
  /** Answered 2xx without GraphQL errors, per second. */
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly ok: number;
  /** Non-2xx answers, transport errors and timeouts. */
  readonly failed: number;
  /** 2xx answers whose body carried `errors`. */
  readonly graphqlErrors: number;
  readonly seconds: number;
}

async function run(job: LoadJob): Promise<LoadResult> {
  let graphqlErrors = 0;
  const pick = () => job.bodies[Math.floor(Math.random() * job.bodies.length)] ?? '';
  const result = await autocannon({
    url: job.url,
    method: 'POST',
    connections: job.connections,
    duration: job.seconds,
    headers: { 'content-type': 'application/json', ...job.headers },
    requests: [
      {
        setupRequest: (request) => ({ ...request, body: pick() }),
        onResponse: (status, body) => {
          if (status === 200 && body.includes('"errors"')) graphqlErrors++;
        },
      },
    ],
  });
  const ok = result['2xx'] - graphqlErrors;
  return {
    rps: ok / (result.duration || job.seconds),
    p50: result.latency.p50,
    p99: result.latency.p99,
    ok,
    failed: result.non2xx + result.errors + result.timeouts,
    graphqlErrors,
    seconds: result.duration,
  };
}

process.on('message', (job: LoadJob) => {
  run(job).then(
    (result) => process.send?.({ result }),
    (error: unknown) => process.send?.({ error: String(error) }),
  );
});
process.on('disconnect', () => process.exit(0));
