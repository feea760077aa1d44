/**
 * The workloads of `npm run bench:gateway` (issue 10's table, plus a mutation-heavy mix), as pools
 * of exact JSON bodies: every gateway and the floor get the same bytes. Ids and page cursors come
 * from the running hub's demo data (tenant acme), read once through the hub's gateway.
 */
export interface Workload {
  readonly name: string;
  readonly title: string;
  /** Bodies drawn uniformly at random per request; one body = the same request for every client. */
  readonly bodies: readonly string[];
}

const SMALL = `query Small($id: ID!) { customer(id: $id) { id name tier } }`;

// 100 customers with fields from six subgraphs (scripts/bench.ts's federated read).
const HUNDRED = `query Hundred($first: Int!) { customers(first: $first) { edges { node { id name tier
  health { score } renewal { renewalProbability } adoption { overallAdoptionRate }
  journey { currentStage } supportSatisfaction { averageScore } finance { financialHealth { paymentStatus } } } } } }`;

// One customer across six subgraphs, or one page of 10 with fields from four: different rows every request.
const ONE = `query One($id: ID!) { customer(id: $id) { id name industry lifecycleStatus
  health { score trend { thirtyDayChange } } renewal { renewalProbability contractValue }
  opportunities(first: 3) { edges { node { id value probability } } }
  journey { currentStage } tickets(first: 3) { totalCount edges { node { id status } } }
  finance { revenueAttribution { currentArr } } } }`;
const PAGE = `query Page($first: Int!, $after: String) { customers(first: $first, after: $after) {
  pageInfo { endCursor } edges { node { id name tier health { score } renewal { renewalProbability }
  adoption { overallAdoptionRate } supportSatisfaction { openTickets } } } } }`;

// A write through the sales subgraph (sync pipeline: row, field sources, outbox event) with a
// federated read-back from customers and health.
const UPDATE = `mutation Update($id: ID!, $probability: Float!) { updateOpportunity(id: $id, input: { probability: $probability }) {
  id probability weightedValue customer { id name health { score } } } }`;

const body = (query: string, variables: Record<string, unknown>) => JSON.stringify({ query, variables });

export type Post = (query: string, variables: Record<string, unknown>) => Promise<Record<string, unknown>>;

interface Connection<T> {
  pageInfo: { endCursor: string | null; hasNextPage: boolean };
  edges: { node: T }[];
}

/** Reads the ids and cursors the distinct workloads draw from, through `post` (the hub's gateway). */
export async function buildWorkloads(post: Post, options: { distinct: number }): Promise<Workload[]> {
  const customerIds: string[] = [];
  const cursors: (string | null)[] = [null];
  for (let after: string | null = null; customerIds.length < options.distinct;) {
    const data = (await post(
      `query($after: String) { customers(first: 10, after: $after) { pageInfo { endCursor hasNextPage } edges { node { id } } } }`,
      { after },
    )) as { customers: Connection<{ id: string }> };
    customerIds.push(...data.customers.edges.map((edge) => edge.node.id));
    after = data.customers.pageInfo.endCursor;
    if (!data.customers.pageInfo.hasNextPage || after === null) break;
    cursors.push(after);
  }
  const opportunities = (
    (await post(`{ opportunities(first: 100) { edges { node { id } } } }`, {})) as {
      opportunities: Connection<{ id: string }>;
    }
  ).opportunities.edges.map((edge) => edge.node.id);
  if (customerIds.length === 0 || opportunities.length === 0) throw new Error('no demo data in tenant acme');

  const distinct = [
    ...customerIds.map((id) => body(ONE, { id })),
    ...cursors.map((after) => body(PAGE, { first: 10, after })),
  ];
  // Two values per opportunity, so consecutive writes to one row change it (no no-op updates).
  const updates = opportunities.flatMap((id) => [0.35, 0.65].map((probability) => body(UPDATE, { id, probability })));
  // Half writes, half distinct reads: as many read bodies as write bodies in the pool.
  const reads = Array.from({ length: updates.length }, (_, i) => distinct[i % distinct.length] ?? '');
  return [
    { name: 'small', title: 'small query, same for all clients', bodies: [body(SMALL, { id: customerIds[0] })] },
    { name: 'hundred', title: '100 customers, six subgraphs, same for all', bodies: [body(HUNDRED, { first: 100 })] },
    { name: 'distinct', title: 'distinct customers and pages per request', bodies: distinct },
    {
      name: 'mutations',
      title: 'mutation-heavy mix: 50 % updateOpportunity, 50 % distinct reads',
      bodies: [...updates, ...reads],
    },
  ];
}

/** Every distinct body of every workload, once (what the floor must have recorded). */
export function distinctBodies(workloads: readonly Workload[]): string[] {
  return [...new Set(workloads.flatMap((workload) => workload.bodies))];
}
