/**
 * What `npm run bench:gateway` checks before it measures: every engine answers each workload and
 * the federation features our graph uses as the hub's gateway does (the same `data`), so no engine
 * is measured fast at answering something else. Our subgraphs use `@key` entities (Customer in all
 * seven, Invoice, Ticket, …), `@inaccessible` and `@shareable`; plans join entities over `_entities`
 * (batched: the calls per request of the bench's table show it) and hop entity to entity.
 */
import { canonicalJson } from '@hub/core/canonicalJson';
import type { Workload } from './bench-gateway-workloads.js';

interface Answer {
  status: number;
  data?: unknown;
  errors?: { message: string; extensions?: { code?: unknown } }[];
}

interface Check {
  readonly name: string;
  readonly body: string;
  /** Compare `data` with the hub's; otherwise `expect` judges the answer alone. */
  readonly sameAsHub?: boolean;
  readonly expect?: (answer: Answer) => string | undefined;
}

export interface CheckOutcome {
  readonly check: string;
  /** Per engine: undefined when it passed, else what differed. */
  readonly failures: Record<string, string | undefined>;
}

const refused = (answer: Answer): string | undefined =>
  answer.data !== undefined && answer.data !== null
    ? `answered data ${JSON.stringify(answer.data).slice(0, 80)}`
    : answer.errors?.length
      ? undefined
      : 'no error';
const coded = (answer: Answer): string | undefined =>
  refused(answer) ??
  (answer.errors?.every((error) => typeof error.extensions?.code === 'string')
    ? undefined
    : `error without extensions.code: ${JSON.stringify(answer.errors).slice(0, 120)}`);

function checks(workloads: readonly Workload[]): Check[] {
  const q = (query: string) => JSON.stringify({ query, variables: {} });
  return [
    ...workloads.map((workload) => ({
      name: `workload ${workload.name}: same data as the hub`,
      body: workload.bodies[0] ?? '',
      sameAsHub: true,
    })),
    {
      name: 'entity -> entity hop (sales -> customers -> health)',
      body: q('{ opportunities(first: 5) { edges { node { id customer { name health { score } } } } } }'),
      sameAsHub: true,
    },
    {
      name: 'entity keyed by its own id (Invoice, Ticket) with the customer',
      body: q(
        '{ invoices(first: 3) { edges { node { id customer { name tickets(first: 2) { edges { node { id } } } } } } } }',
      ),
      sameAsHub: true,
    },
    { name: '@inaccessible root field refused', body: q('{ _knownCustomers(ids: ["cust_00001"]) }'), expect: refused },
    { name: 'federation internals (_service) not exposed', body: q('{ _service { sdl } }'), expect: refused },
    {
      name: 'validation error carries extensions.code',
      body: q('{ customer(id: "cust_00001") { nope } }'),
      expect: coded,
    },
  ];
}

async function ask(url: string, headers: Record<string, string>, body: string): Promise<Answer> {
  const response = await fetch(url, { method: 'POST', headers, body });
  const text = await response.text();
  try {
    return { status: response.status, ...(JSON.parse(text) as object) };
  } catch {
    return { status: response.status, errors: [{ message: text.slice(0, 120) }] };
  }
}

/** Runs every check on every engine (`urls` by engine name; `hub` is the reference). */
export async function checkEngines(
  urls: Readonly<Record<string, string>>,
  workloads: readonly Workload[],
  headers: Record<string, string>,
): Promise<CheckOutcome[]> {
  const outcomes: CheckOutcome[] = [];
  for (const check of checks(workloads)) {
    const answers: Record<string, Answer> = {};
    for (const [engine, url] of Object.entries(urls)) answers[engine] = await ask(url, headers, check.body);
    const reference = answers['hub'];
    const failures: Record<string, string | undefined> = {};
    for (const [engine, answer] of Object.entries(answers)) {
      if (check.sameAsHub) {
        failures[engine] = answer.errors?.length
          ? `errors: ${JSON.stringify(answer.errors).slice(0, 160)}`
          : canonicalJson(answer.data) === canonicalJson(reference?.data)
            ? undefined
            : `data differs from the hub's: ${JSON.stringify(answer.data).slice(0, 160)}`;
      } else failures[engine] = check.expect?.(answer);
    }
    outcomes.push({ check: check.name, failures });
  }
  return outcomes;
}

export function printChecks(outcomes: readonly CheckOutcome[]): void {
  const engines = Object.keys(outcomes[0]?.failures ?? {});
  console.log(`\n| check | ${engines.join(' | ')} |`);
  console.log(`|---|${engines.map(() => '---').join('|')}|`);
  for (const outcome of outcomes)
    console.log(
      `| ${outcome.check} | ${engines.map((e) => (outcome.failures[e] === undefined ? 'yes' : 'NO')).join(' | ')} |`,
    );
  for (const outcome of outcomes)
    for (const [engine, failure] of Object.entries(outcome.failures))
      if (failure !== undefined) console.log(`  ${engine}, ${outcome.check}: ${failure}`);
}
