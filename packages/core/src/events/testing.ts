/**
 * Test helpers for jobs (used by the domains' job tests and the runner's tests): trigger a run through
 * the subgraph's admin API, as the gateway would sign it, and wait for it to end.
 */
import { gql } from '../testing.js';
import type { Viewer } from '../viewer.js';
import { pascal } from '../sync/sdl.js';

export interface JobRunView {
  id: string;
  job: string;
  tenantId: string | null;
  status: string;
  trigger: string;
  processed: number;
  failed: number;
  total: number | null;
  attempts: number;
  error: string | null;
  summary: string | null;
}

const RUN_FIELDS = 'id job tenantId status trigger processed failed total attempts error summary';

/** `run<Domain>Job` as `viewer`; the raw response (for error assertions) and the run. */
export async function runJobMutation(url: string, domain: string, job: string, viewer: Viewer, tenant?: string) {
  const res = await gql<Record<string, JobRunView>>(
    url,
    `mutation ($job: String!, $tenant: String) { run${pascal(domain)}Job(job: $job, tenant: $tenant) { ${RUN_FIELDS} } }`,
    { job, tenant: tenant ?? null },
    viewer,
  );
  return { res, run: res.data?.[`run${pascal(domain)}Job`] ?? null };
}

export async function readJobRun(url: string, domain: string, id: string, viewer: Viewer): Promise<JobRunView | null> {
  const res = await gql<{ sync: Record<string, { jobRun: JobRunView | null }> }>(
    url,
    `query ($id: ID!) { sync { ${domain} { jobRun(id: $id) { ${RUN_FIELDS} } } } }`,
    { id },
    viewer,
  );
  if (res.errors) throw new Error(JSON.stringify(res.errors));
  return res.data?.sync[domain]?.jobRun ?? null;
}

/** Polls the run until it is SUCCEEDED, FAILED or CANCELLED (or `timeoutMs` passes). */
export async function waitForRun(
  url: string,
  domain: string,
  id: string,
  viewer: Viewer,
  timeoutMs = 60_000,
): Promise<JobRunView> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const run = await readJobRun(url, domain, id, viewer);
    if (run && ['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(run.status)) return run;
    if (Date.now() > deadline) throw new Error(`run ${id} still ${run?.status ?? 'missing'} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
