/**
 * Runs a batch job on demand on a running hub and follows it to the end:
 *   HUB_TOKEN=$(npm run -s token -- --tenant acme --role admin --user u1) \
 *   npm run job -- finance-rollup [--tenant acme] [--url http://localhost:4000] [--json]
 *   npm run job -- reconcile --repair      (a flag the job declares: `--<flag>` or `--flag <flag>`)
 * Finds the domain(s) declaring the job (`sync { <domain> { jobs { name } } }`; `integration-health`
 * runs in every domain), queues a run in each through the gateway (`run<Domain>Job`, admins only, the
 * token's tenant), shows a progress bar (processed/total, rate, ETA) on a terminal while polling
 * `jobRun(id)`, then prints a summary per run. Exit code: 0 all succeeded, 2 succeeded with failed
 * items, 1 a run failed or an error (hub unreachable, token refused, unknown job).
 */
import { parseArgs } from 'node:util';
import cliProgress from 'cli-progress';
import { DOMAINS, type Domain } from '@hub/core/domains';

const DEFAULT_URL = 'http://localhost:4000';
const POLL_MS = 500;
const USAGE = `usage: HUB_TOKEN=<admin token> npm run job -- <job> [--tenant <tenant>] [--repair] [--flag <flag>]... [--url ${DEFAULT_URL}] [--json]
A development admin token: npm run -s token -- --tenant acme --role admin --user u1`;

class JobCliError extends Error {}

interface Run {
  id: string;
  job: string;
  domain: string;
  tenantId: string | null;
  status: string;
  processed: number;
  failed: number;
  total: number | null;
  attempts: number;
  error: string | null;
  startedAt: string | null;
  endedAt: string | null;
}

const RUN_FIELDS = 'id job domain tenantId status processed failed total attempts error startedAt endedAt';
const FINAL = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED']);
const pascal = (domain: string) => `${domain.charAt(0).toUpperCase()}${domain.slice(1)}`;

function graphqlUrl(url: string): string {
  return url.replace(/\/+$/, '').endsWith('/graphql') ? url : `${url.replace(/\/+$/, '')}/graphql`;
}

async function call<T>(url: string, token: string, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query, variables }),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (error) {
    throw new JobCliError(`cannot reach the hub at ${url}: ${error instanceof Error ? error.message : String(error)}`);
  }
  const body = (await response.json().catch(() => ({}))) as {
    data?: T;
    errors?: { message: string; extensions?: { code?: string } }[];
  };
  const error = body.errors?.[0];
  if (error) throw new JobCliError(`${error.extensions?.code ?? 'ERROR'}: ${error.message}`);
  if (!response.ok || body.data === undefined) throw new JobCliError(`the hub answered HTTP ${response.status}`);
  return body.data;
}

/** The domains that declare `job`, and every job name the hub knows (for the error message). */
async function domainsOf(url: string, token: string, job: string): Promise<{ owners: Domain[]; known: string[] }> {
  const query = `{ sync { ${DOMAINS.map((d) => `${d} { jobs { name } }`).join(' ')} } }`;
  const data = await call<{ sync: Record<string, { jobs: { name: string }[] }> }>(url, token, query);
  const owners = DOMAINS.filter((d) => data.sync[d]?.jobs.some((j) => j.name === job));
  const known = [...new Set(Object.values(data.sync).flatMap((d) => d.jobs.map((j) => j.name)))].sort();
  return { owners, known };
}

function seconds(run: Run): string {
  if (!run.startedAt || !run.endedAt) return '';
  return ` in ${((Date.parse(run.endedAt) - Date.parse(run.startedAt)) / 1000).toFixed(1)} s`;
}

function summaryLine(run: Run): string {
  const tenant = run.tenantId ?? 'all tenants';
  const resumed = run.attempts > 1 ? `, ${run.attempts} attempts` : '';
  const error = run.status !== 'SUCCEEDED' && run.error ? `\n  error: ${run.error}` : '';
  return `${run.job} (${run.domain}, ${tenant}): ${run.status}${seconds(run)} — processed ${run.processed}${run.total === null ? '' : `/${run.total}`}, failed ${run.failed}${resumed} (run ${run.id})${error}`;
}

async function main(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        tenant: { type: 'string' },
        url: { type: 'string', default: DEFAULT_URL },
        json: { type: 'boolean', default: false },
        // Job flags (JobDefinition.flags): `--repair` is `--flag repair`; the job refuses one it does not take.
        repair: { type: 'boolean', default: false },
        flag: { type: 'string', multiple: true, default: [] },
      },
    });
  } catch (error) {
    throw new JobCliError(`${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
  }
  const { values, positionals } = parsed;
  const job = positionals[0];
  if (job === undefined || positionals.length > 1) throw new JobCliError(`one job name\n${USAGE}`);
  const token = env['HUB_TOKEN']?.trim();
  if (!token) throw new JobCliError(`no token: set HUB_TOKEN to an admin's bearer token\n${USAGE}`);
  const url = graphqlUrl(values.url);
  const flags = [...new Set([...values.flag, ...(values.repair ? ['repair'] : [])])];

  const { owners, known } = await domainsOf(url, token, job);
  if (owners.length === 0) throw new JobCliError(`unknown job ${job}; the hub runs: ${known.join(', ')}`);
  let runs: Run[] = [];
  for (const domain of owners) {
    const data = await call<Record<string, Run>>(
      url,
      token,
      `mutation ($job: String!, $tenant: String, $flags: [String!]) { run${pascal(domain)}Job(job: $job, tenant: $tenant, flags: $flags) { ${RUN_FIELDS} } }`,
      { job, tenant: values.tenant ?? null, flags },
    );
    const run = data[`run${pascal(domain)}Job`];
    if (run) runs.push(run);
  }
  process.stderr.write(`${job}: queued ${runs.map((r) => `${r.domain} run ${r.id}`).join(', ')}\n`);

  const bar = new cliProgress.SingleBar(
    {
      format: '{bar} {percentage}% | {value}/{total} | {rate}/s | ETA {eta_formatted} | {status}',
      etaBuffer: 20,
      hideCursor: true,
      stream: process.stderr,
    },
    cliProgress.Presets.shades_classic,
  );
  const started = Date.now();
  bar.start(1, 0, { rate: 0, status: 'QUEUED' });
  const seen = new Map<string, string>();
  try {
    while (runs.some((r) => !FINAL.has(r.status))) {
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      const query = `query (${runs.map((_, i) => `$id${i}: ID!`).join(', ')}) { sync { ${runs
        .map((r, i) => `r${i}: ${r.domain} { jobRun(id: $id${i}) { ${RUN_FIELDS} } }`)
        .join(' ')} } }`;
      const variables = Object.fromEntries(runs.map((r, i) => [`id${i}`, r.id]));
      const data = await call<{ sync: Record<string, { jobRun: Run | null }> }>(url, token, query, variables);
      runs = runs.map((r, i) => data.sync[`r${i}`]?.jobRun ?? r);
      for (const run of runs) {
        const note = `${run.status}:${run.attempts}:${run.error ?? ''}`;
        // A retry or a resume after a lost runner is worth a line of its own.
        if (run.error && seen.get(run.id) !== note && !FINAL.has(run.status)) {
          process.stderr.write(`\n${run.domain}: ${run.error}\n`);
        }
        seen.set(run.id, note);
      }
      const total = runs.reduce((sum, r) => sum + (r.total ?? 0), 0);
      const processed = runs.reduce((sum, r) => sum + r.processed, 0);
      const elapsed = (Date.now() - started) / 1000;
      bar.setTotal(Math.max(1, total, processed));
      bar.update(processed, {
        rate: elapsed > 0 ? Math.round(processed / elapsed) : 0,
        status: [...new Set(runs.map((r) => r.status))].join('/'),
      });
    }
  } finally {
    bar.stop();
  }
  process.stdout.write(values.json ? `${JSON.stringify(runs)}\n` : `${runs.map(summaryLine).join('\n')}\n`);
  if (runs.some((r) => r.status !== 'SUCCEEDED')) return 1;
  return runs.some((r) => r.failed > 0) ? 2 : 0;
}

try {
  process.exitCode = await main(process.argv.slice(2), process.env);
} catch (error) {
  process.exitCode = 1;
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`job: ${error instanceof JobCliError ? '' : 'unexpected error: '}${message}\n`);
}
