/**
 * The columns of a model's rows a GraphQL selection needs, so entity loaders read only those
 * (issue 10 item 2): a subgraph call asking for `{ id name tier }` of 10 customers reads three
 * columns plus the ones every row must carry, not the whole row with its encrypted PII.
 *
 * Derived from the resolve info once per field node of a parsed document (Apollo Server keeps the
 * parsed document, so its nodes repeat across requests), per row spec. Fail-safe: a selected field
 * that is neither a column nor a declared computed field makes the loader read the whole row, so a
 * forgotten declaration costs speed, never a wrong answer.
 */
import type { FieldNode, GraphQLResolveInfo, SelectionSetNode } from 'graphql';

/** How one GraphQL type's fields read its Prisma model's row. */
export interface RowSpec {
  /** The GraphQL object type the rows are served as (fragments on another object type are skipped). */
  readonly type: string;
  /** The model's scalar columns: its generated `Prisma.<Model>ScalarFieldEnum`. */
  readonly columns: Readonly<Record<string, string>>;
  /**
   * Columns read whatever the selection: the row's keys (`id`: cursors, entity keys, nested
   * loaders), `tenantId` (decryption refuses another tenant's ciphertext by it) and `customerId`
   * (field rules, PII masks and the PII-read audit find the row's customer by it) — added by
   * `rowSpec` when the model has them — plus what the loader itself groups or orders by.
   */
  readonly always?: readonly string[];
  /**
   * Fields that are not columns (or whose resolvers read more than their own column): the columns
   * their resolvers read of the row; `[]` for none beyond the `always` ones.
   */
  readonly computed?: Readonly<Record<string, readonly string[]>>;
  /** Field names from the resolved field down to the rows, e.g. `['edges', 'node']` for a connection. */
  readonly path?: readonly string[];
}

/** A prepared `RowSpec`; `columnsFor` answers against it. */
export interface Rows {
  readonly spec: RowSpec;
  readonly columns: ReadonlySet<string>;
  readonly always: readonly string[];
}

/** Columns every row carries when the model has them (see `RowSpec.always`). */
const KEY_COLUMNS = ['id', 'tenantId', 'customerId'] as const;

export function rowSpec(spec: RowSpec): Rows {
  const columns = new Set(Object.values(spec.columns));
  for (const [field, needs] of Object.entries(spec.computed ?? {}))
    for (const column of needs)
      if (!columns.has(column)) throw new Error(`${spec.type}.${field}: ${column} is not a column of its model`);
  for (const column of spec.always ?? [])
    if (!columns.has(column)) throw new Error(`${spec.type}: ${column} is not a column of its model`);
  const always = [...new Set([...KEY_COLUMNS.filter((column) => columns.has(column)), ...(spec.always ?? [])])];
  return { spec, columns, always };
}

/**
 * A column set as one canonical string (sorted names, comma-joined): loaders key their batches and
 * caches by it. `ALL_COLUMNS` reads the whole row.
 */
export type ColumnSet = string;
export const ALL_COLUMNS: ColumnSet = '*';

const cache = new WeakMap<FieldNode, Map<Rows, ColumnSet>>();

/**
 * The columns of `rows`' model that the field being resolved (`info`) selects on its rows. Without
 * info (a mutation's existence check, a job), the whole row.
 */
export function columnsFor(info: GraphQLResolveInfo | undefined, rows: Rows): ColumnSet {
  if (!info) return ALL_COLUMNS;
  // Several nodes (the same response key asked twice, merged) vary with @skip/@include, so only
  // a single node's answer is kept; directives are ignored either way (a superset is safe).
  const node = info.fieldNodes.length === 1 ? info.fieldNodes[0] : undefined;
  const known = node ? cache.get(node)?.get(rows) : undefined;
  if (known !== undefined) return known;
  const set = derive(info, rows);
  if (node) {
    let perNode = cache.get(node);
    if (!perNode) cache.set(node, (perNode = new Map()));
    perNode.set(rows, set);
  }
  return set;
}

function derive(info: GraphQLResolveInfo, rows: Rows): ColumnSet {
  let sets: SelectionSetNode[] = info.fieldNodes.flatMap((node) => (node.selectionSet ? [node.selectionSet] : []));
  for (const step of rows.spec.path ?? []) {
    sets = fieldsOf(info, sets, rows.spec.type, false)
      .filter((field) => field.name.value === step)
      .flatMap((field) => (field.selectionSet ? [field.selectionSet] : []));
  }
  const wanted = new Set(rows.always);
  for (const field of fieldsOf(info, sets, rows.spec.type, true)) {
    const name = field.name.value;
    if (name === '__typename') continue;
    const needs = rows.spec.computed?.[name];
    if (needs) for (const column of needs) wanted.add(column);
    else if (rows.columns.has(name)) wanted.add(name);
    else return ALL_COLUMNS;
  }
  return [...wanted].sort().join(',');
}

/** The fields of `sets`, through inline fragments and fragment spreads (at the rows' level, those on `type` or an abstract type). */
function fieldsOf(
  info: GraphQLResolveInfo,
  sets: readonly SelectionSetNode[],
  type: string,
  leaf: boolean,
): FieldNode[] {
  const out: FieldNode[] = [];
  const applies = (condition: string | undefined) =>
    !leaf || condition === undefined || condition === type || !isObjectType(info, condition);
  const walk = (set: SelectionSetNode, seen: Set<string>) => {
    for (const selection of set.selections) {
      if (selection.kind === 'Field') out.push(selection);
      else if (selection.kind === 'InlineFragment') {
        if (applies(selection.typeCondition?.name.value)) walk(selection.selectionSet, seen);
      } else {
        const name = selection.name.value;
        const fragment = info.fragments[name];
        if (!fragment || seen.has(name) || !applies(fragment.typeCondition.name.value)) continue;
        walk(fragment.selectionSet, new Set([...seen, name]));
      }
    }
  };
  for (const set of sets) walk(set, new Set());
  return out;
}

function isObjectType(info: GraphQLResolveInfo, name: string): boolean {
  // Not `instanceof GraphQLObjectType`: the CommonJS and ES module copies of graphql-js differ.
  return Object.prototype.toString.call(info.schema.getType(name)) === '[object GraphQLObjectType]';
}

/** Prisma's `select` for a column set; undefined (the whole row) for `ALL_COLUMNS`. */
export function selectOf(set: ColumnSet): Record<string, true> | undefined {
  if (set === ALL_COLUMNS) return undefined;
  const select: Record<string, true> = {};
  for (const column of set.split(',')) select[column] = true;
  return select;
}

/**
 * The union of a batch's column sets: one statement serves every key of a tick (see loaders.ts).
 * Any `ALL_COLUMNS` makes it the whole row.
 */
export function unionOf(sets: Iterable<ColumnSet>): ColumnSet {
  const union = new Set<string>();
  for (const set of sets) {
    if (set === ALL_COLUMNS) return ALL_COLUMNS;
    for (const column of set.split(',')) union.add(column);
  }
  return [...union].sort().join(',');
}
