/**
 * `npm run sync:replay`: re-drives the consumers of a producer domain's change events from a
 * position of its log (a cursor: the events after it; or an ISO time: the events committed from it),
 * for the token's tenant, through the running hub. Every consuming subgraph is asked through the
 * gateway (`replay<Domain>Events`, admins only); the consumers' inboxes skip what they applied, so
 * running it twice changes nothing the second time.
 *
 *   HUB_TOKEN=$(npm run -s token -- --tenant acme --role admin --user u1) \
 *   npm run sync:replay -- --from 2026-12-01T00:00:00Z --domain product [--consumer health.recompute] [--url http://localhost:4000]
 */
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { DOMAINS, type Domain } from '@hub/core/domains';

const DEFAULT_URL = 'http://localhost:4000';
const USAGE = `usage: HUB_TOKEN=<admin token> npm run sync:replay -- --from <cursor|ISO time> --domain <producer> [--consumer <name>] [--url ${DEFAULT_URL}]`;

const pascal = (d: string) => `${d.charAt(0).toUpperCase()}${d.slice(1)}`;

interface Report {
  consumer: string;
  read: number;
  redriven: number;
  skipped: number;
  failed: number;
}

/** One operation asking every domain (aliased), so one request re-drives all consumers of the stream. */
export function replayOperation(): string {
  const fields = DOMAINS.map(
    (d) =>
      `  ${d}: replay${pascal(d)}Events(producer: $producer, from: $from, consumer: $consumer) { consumer read redriven skipped failed }`,
  );
  return `mutation Replay($producer: String!, $from: String!, $consumer: String) {\n${fields.join('\n')}\n}`;
}

export async function main(argv: string[], env: NodeJS.ProcessEnv, print = console.log): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        from: { type: 'string' },
        domain: { type: 'string' },
        consumer: { type: 'string' },
        url: { type: 'string', default: DEFAULT_URL },
      },
    }));
  } catch (error) {
    print(`${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
    return 2;
  }
  const token = env['HUB_TOKEN']?.trim();
  if (!values.from || !values.domain || !DOMAINS.includes(values.domain as Domain) || !token) {
    print(!token ? `no token: set HUB_TOKEN to an admin's bearer token\n${USAGE}` : USAGE);
    return 2;
  }
  const url = values.url.replace(/\/graphql\/?$/, '').replace(/\/$/, '');
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({
      query: replayOperation(),
      variables: { producer: values.domain, from: values.from, consumer: values.consumer ?? null },
    }),
  });
  const body = (await response.json()) as {
    data?: Record<string, Report[] | null> | null;
    errors?: { message: string; path?: string[]; extensions?: { code?: string } }[];
  };
  for (const error of body.errors ?? [])
    print(`error (${error.extensions?.code ?? '?'}) at ${error.path?.join('.') ?? '-'}: ${error.message}`);
  const reports = Object.values(body.data ?? {}).flatMap((list) => list ?? []);
  if (reports.length === 0 && !body.errors)
    print(`no consumer of the ${values.domain} stream${values.consumer ? ` named ${values.consumer}` : ''}`);
  for (const r of reports)
    print(`${r.consumer}: read ${r.read}, re-drove ${r.redriven}, skipped ${r.skipped} (inbox), failed ${r.failed}`);
  const total = reports.reduce(
    (sum, r) => ({ redriven: sum.redriven + r.redriven, skipped: sum.skipped + r.skipped }),
    {
      redriven: 0,
      skipped: 0,
    },
  );
  print(`replay from ${values.from}: ${total.redriven} re-driven, ${total.skipped} skipped as already applied`);
  return body.errors?.length ? 1 : 0;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.exitCode = await main(process.argv.slice(2), process.env);
}
