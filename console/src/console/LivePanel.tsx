/**
 * Live sync health of every domain of the viewer's tenant, from the `syncStatus` subscription
 * (graphql-ws): throughput (events/s committed), outbox backlog and consumer lag as charts over the
 * last points received, and the latest numbers per domain.
 */
import { useEffect, useMemo, useState } from 'react';
import type { Client } from 'graphql-ws';
import { syncStatusSubscription, type Domain, type SyncStatus, type SyncStatusPayload } from './api.js';
import { TimeChart } from './TimeChart.js';
import { errorText, type GraphQLErrorShape } from '../shared/graphql.js';

/** Points kept per chart (at the default 2 s interval: 10 minutes). */
const KEEP = 300;

interface Point {
  at: number;
  statuses: Partial<Record<Domain, SyncStatus>>;
}

const consumerLag = (status: SyncStatus | undefined) =>
  status === undefined ? null : status.consumers.reduce((sum, consumer) => sum + consumer.lag, 0);

/** Seconds since the oldest event a consumer has not acknowledged (0 when caught up). */
const lagSeconds = (status: SyncStatus | undefined) => {
  if (status === undefined) return null;
  const oldest = status.consumers
    .map((consumer) => (consumer.oldestPendingAt === null ? undefined : Date.parse(consumer.oldestPendingAt)))
    .filter((at): at is number => at !== undefined);
  return oldest.length === 0 ? 0 : Math.max(0, (Date.parse(status.at) - Math.min(...oldest)) / 1000);
};

/** Pause before a subscription the gateway ended is taken up again. */
const RESUBSCRIBE_MS = 2000;

export function LivePanel({
  client,
  intervalMs,
  domains,
}: {
  client: Client;
  intervalMs: number;
  /** The domains the viewer may watch (an integration account: those its credential names). */
  domains: readonly Domain[];
}) {
  const [points, setPoints] = useState<Point[]>([]);
  const [state, setState] = useState<'connecting' | 'live' | 'closed'>('connecting');
  const [error, setError] = useState<string | undefined>();

  useEffect(() => {
    setPoints([]);
    setState('connecting');
    // A subscription the gateway ends (the graph not loaded yet, a subgraph down, a failed
    // resolution: a last error, then complete) is taken up again after a pause, so the panel
    // recovers by itself; the socket's own reconnects are graphql-ws's (graphql.ts).
    let stopped = false;
    let dispose: () => void = () => undefined;
    let retry: ReturnType<typeof setTimeout> | undefined;
    const again = () => {
      setState('closed');
      if (!stopped) retry = setTimeout(start, RESUBSCRIBE_MS);
    };
    function start() {
      if (stopped) return;
      setState('connecting');
      dispose = client.subscribe<{ syncStatus: SyncStatusPayload }>(
        { query: syncStatusSubscription(intervalMs, domains) },
        {
          next: (result) => {
            const message = errorText(result.errors as GraphQLErrorShape[] | undefined);
            setError(message);
            const payload = result.data?.syncStatus;
            if (payload === undefined || payload === null) return;
            const statuses: Point['statuses'] = {};
            for (const domain of domains) {
              const status = payload[domain]?.status;
              if (status) statuses[domain] = status;
            }
            setState('live');
            setPoints((previous) => [...previous, { at: Date.now() / 1000, statuses }].slice(-KEEP));
          },
          error: (reason: unknown) => {
            setError(reason instanceof Error ? reason.message : describeClose(reason));
            again();
          },
          complete: again,
        },
      );
    }
    start();
    return () => {
      stopped = true;
      if (retry !== undefined) clearTimeout(retry);
      dispose();
    };
  }, [client, intervalMs, domains]);

  const times = useMemo(() => points.map((p) => p.at), [points]);
  const series = (pick: (status: SyncStatus | undefined) => number | null) =>
    domains.map((domain) => points.map((p) => pick(p.statuses[domain])));
  const throughput = useMemo(() => series((s) => s?.eventsPerSecond ?? null), [points]);
  const backlog = useMemo(() => series((s) => s?.outboxBacklog ?? null), [points]);
  const lag = useMemo(() => series(consumerLag), [points]);
  const latest = points[points.length - 1]?.statuses ?? {};
  const tenant = Object.values(latest)[0]?.tenantId;

  return (
    <section className="panel" id="live">
      <h2>
        Live sync {tenant !== undefined ? `· tenant ${tenant}` : ''}{' '}
        <span className={`badge badge-${state}`} data-testid="live-state">
          {state}
        </span>
      </h2>
      {error !== undefined && <p className="error">{error}</p>}
      <div className="charts">
        <TimeChart
          title="Throughput (events/s committed, last minute)"
          names={domains}
          times={times}
          values={throughput}
          testId="chart-throughput"
        />
        <TimeChart
          title="Outbox backlog (events not yet published)"
          names={domains}
          times={times}
          values={backlog}
          testId="chart-backlog"
        />
        <TimeChart
          title="Consumer lag (events not yet acknowledged)"
          names={domains}
          times={times}
          values={lag}
          testId="chart-lag"
        />
      </div>
      <table className="grid">
        <thead>
          <tr>
            <th>domain</th>
            <th>events/s</th>
            <th>backlog</th>
            <th>consumer lag</th>
            <th>oldest pending</th>
            <th>dead letters (sync / consumer)</th>
            <th>last error</th>
          </tr>
        </thead>
        <tbody>
          {domains.map((domain) => {
            const status = latest[domain];
            const seconds = lagSeconds(status);
            return (
              <tr key={domain} data-testid={`live-${domain}`}>
                <td>{domain}</td>
                <td>{status?.eventsPerSecond.toFixed(2) ?? '–'}</td>
                <td>{status?.outboxBacklog ?? '–'}</td>
                <td>{consumerLag(status) ?? '–'}</td>
                <td>{seconds === null ? '–' : `${seconds.toFixed(1)} s`}</td>
                <td>{status ? `${status.deadLetters.sync} / ${status.deadLetters.consumer}` : '–'}</td>
                <td className="wrap">
                  {status?.lastError ? `${status.lastError.source}: ${status.lastError.message}` : ''}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </section>
  );
}

function describeClose(reason: unknown): string {
  if (typeof reason === 'object' && reason !== null && 'code' in reason) {
    const { code, reason: text } = reason as { code: number; reason?: string };
    return `connection closed (${code}${text ? `: ${text}` : ''})`;
  }
  return 'connection failed';
}
