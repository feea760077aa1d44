/**
 * Batch jobs of one domain and their runs with progress (`sync { <domain> { jobs jobRuns } }`);
 * an admin can queue a run (`run<Domain>Job`). Refreshed every few seconds while a run is active.
 */
import { useEffect, useState } from 'react';
import { jobRuns, runJob, type Domain, type JobRun } from './api.js';
import { useGraph, when } from './useGraph.js';
import { errorText } from '../shared/graphql.js';
import type { Credential } from '../shared/credentials.js';

function Progress({ run }: { run: JobRun }) {
  const share = run.total ? Math.min(1, run.processed / run.total) : run.status === 'SUCCEEDED' ? 1 : 0;
  return (
    <div className="progress" title={`${run.processed} of ${run.total ?? '?'}`}>
      <div className={`progress-bar progress-${run.status.toLowerCase()}`} style={{ width: `${share * 100}%` }} />
      <span>
        {run.processed}
        {run.total !== null ? ` / ${run.total}` : ''}
        {run.failed > 0 ? ` · ${run.failed} failed` : ''}
      </span>
    </div>
  );
}

export function JobsPanel({
  credential,
  domain,
  canRun,
}: {
  credential: Credential | undefined;
  domain: Domain;
  /** `run<Domain>Job` is for admins: others see the runs without the buttons. */
  canRun: boolean;
}) {
  const loaded = useGraph(`${credential?.value}:${domain}`, () => jobRuns(credential, domain));
  const [message, setMessage] = useState<string | undefined>();
  const sync = loaded.data?.sync[domain];
  const runs = sync?.jobRuns.edges.map((e) => e.node) ?? [];
  const active = runs.some((run) => run.status === 'QUEUED' || run.status === 'RUNNING');
  const { reload } = loaded;

  useEffect(() => {
    if (!active) return undefined;
    const timer = setInterval(reload, 2000);
    return () => clearInterval(timer);
  }, [active, reload]);

  return (
    <section className="panel" id="jobs">
      <h2>
        Job runs · {domain}{' '}
        <button type="button" onClick={reload}>
          Refresh
        </button>
      </h2>
      {loaded.error !== undefined && <p className="error">{loaded.error}</p>}
      <div className="jobs">
        {(canRun ? (sync?.jobs ?? []) : []).map((job) => (
          <button
            key={job.name}
            type="button"
            title={`${job.description}${job.schedule ? ` (cron ${job.schedule} UTC)` : ''}`}
            onClick={() =>
              void runJob(credential, domain, job.name).then((result) => {
                setMessage(errorText(result.errors) ?? `queued ${job.name}: run ${result.data?.result.id ?? ''}`);
                reload();
              })
            }
          >
            Run {job.name}
          </button>
        ))}
        {message !== undefined && <span>{message}</span>}
      </div>
      <table className="grid">
        <thead>
          <tr>
            <th>job</th>
            <th>status</th>
            <th>trigger</th>
            <th>progress</th>
            <th>attempts</th>
            <th>queued</th>
            <th>ended</th>
            <th>error</th>
          </tr>
        </thead>
        <tbody>
          {runs.map((run) => (
            <tr key={run.id}>
              <td>{run.job}</td>
              <td>{run.status}</td>
              <td>{run.trigger}</td>
              <td>
                <Progress run={run} />
              </td>
              <td>{run.attempts}</td>
              <td>{when(run.queuedAt)}</td>
              <td>{when(run.endedAt)}</td>
              <td className="wrap">{run.error ?? ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {runs.length === 0 && <p className="muted">No runs yet.</p>}
    </section>
  );
}
