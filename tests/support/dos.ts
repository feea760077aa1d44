/**
 * The denial-of-service documents of issue 6 item 3, built the way the attacker built them: a ~42 KB
 * document of duplicated fields and of repeated fragment spreads (graphql-js's
 * OverlappingFieldsCanBeMerged compares every pair of fields sharing a response name: quadratic),
 * and two 600-alias documents (600 root lookups fanned out to three subgraphs; 600 aliased entity
 * fields on each of 100 customers). Shared by `tests/limits.e2e.ts` and `scripts/bench-dos.ts`.
 */
export interface AttackDocument {
  readonly name: string;
  readonly query: string;
}

const TARGET_BYTES = 42 * 1024;

function repeatUntil(prefix: string, unit: string, suffix: string, bytes: number): string {
  const count = Math.ceil((bytes - prefix.length - suffix.length) / unit.length);
  return `${prefix}${unit.repeat(Math.max(count, 1))}${suffix}`;
}

function aliases(count: number, body: (i: number) => string): string {
  return Array.from({ length: count }, (_, i) => body(i)).join(' ');
}

export const ATTACK_DOCUMENTS: readonly AttackDocument[] = [
  {
    name: 'duplicated fields (42 KB)',
    query: repeatUntil('query Duplicates { customer(id: "cust_00001") { ', 'name ', '} }', TARGET_BYTES),
  },
  {
    name: 'repeated fragment spreads (42 KB)',
    query: repeatUntil(
      'query Spreads { customer(id: "cust_00001") { ',
      '...F ',
      '} } fragment F on Customer { name industry tier health { score } }',
      TARGET_BYTES,
    ),
  },
  {
    name: '600 aliased root lookups',
    query: `query RootAliases { ${aliases(
      600,
      (i) => `a${i}: customer(id: "cust_00001") { name health { score } renewal { renewalProbability } }`,
    )} }`,
  },
  {
    name: '600 aliased entity fields on 100 customers',
    query: `query EntityAliases { customers(first: 100) { edges { node { id ${aliases(
      600,
      (i) => `h${i}: health { score }`,
    )} } } } }`,
  },
];

/** An ordinary request (README tour 1) whose latency is watched while the attack runs. */
export const ORDINARY_QUERY = `query Book { customers(first: 5, filter: { ownerId: "u1" }) { totalCount
  edges { node { id name tier health { score } renewal { renewalProbability } adoption { overallAdoptionRate } } } } }`;
