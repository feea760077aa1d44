/**
 * Resolutions of several events in one query. Events that reach subscriptions together (a tail
 * page, a burst) ask for the same payload shape with the same scope about different customers;
 * asked one by one, each is a federated query of its own — one customers-subgraph call and one
 * `_entities` call per other subgraph, per event. Gathered within one turn of the event loop
 * (`setImmediate`, at most `maxBatch`) into one query whose root fields are the shape's, once per
 * customer under aliases (`hb<i>_<key>`), they cost one call per subgraph for the whole batch
 * (the subgraphs' DataLoaders batch the entity fetches), and the answer is split back per customer.
 *
 * What is batched is exactly what would have been shared (SharedResolutions): same query, same
 * variables, same scope class, so every row and field rule decides each customer's part as it would
 * alone; errors are returned to the customer whose aliases they are under, errors without a path
 * to all. Written here because no library batches GraphQL operations by aliasing their root fields
 * per key while keeping each key's errors apart.
 */
import { Kind, parse, print, type DocumentNode, type FieldNode, type OperationDefinitionNode } from 'graphql';
import { canonicalJson } from '@hub/core/canonicalJson';
import type { Viewer } from '@hub/core/viewer';
import type { LiveExecutor } from './engine.js';
import type { Resolution } from './payload.js';
import { scopeClassOf } from '../viewerScope.js';

const ALIAS = /^hb(\d+)_(.*)$/s;

interface Waiting {
  readonly query: string;
  readonly idVariable: string;
  readonly variables: Readonly<Record<string, unknown>>;
  readonly viewer: Viewer;
  /** Per customer id, everyone waiting for its part. */
  readonly ids: Map<string, { resolve: (r: Resolution) => void; reject: (e: unknown) => void }[]>;
}

/**
 * The query for `count` customers: every root field of `document` repeated per customer, aliased
 * `hb<i>_<response key>`, its `$<idVariable>` argument replaced by `$<idVariable><i>`. Undefined when
 * the operation's root holds anything but fields (then it is not batched).
 */
export function batchedQuery(document: DocumentNode, idVariable: string, count: number): string | undefined {
  const operation = document.definitions.find(
    (d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION,
  );
  if (!operation || operation.selectionSet.selections.some((s) => s.kind !== Kind.FIELD)) return undefined;
  const roots = operation.selectionSet.selections as readonly FieldNode[];
  const idOf = (i: number) => `${idVariable}${String(i)}`;
  const selections: FieldNode[] = [];
  for (let i = 0; i < count; i++)
    for (const field of roots)
      selections.push({
        ...field,
        alias: { kind: Kind.NAME, value: `hb${String(i)}_${field.alias?.value ?? field.name.value}` },
        arguments: (field.arguments ?? []).map((arg) =>
          arg.value.kind === Kind.VARIABLE && arg.value.name.value === idVariable
            ? { ...arg, value: { kind: Kind.VARIABLE, name: { kind: Kind.NAME, value: idOf(i) } } }
            : arg,
        ),
      });
  const idDefinition = operation.variableDefinitions?.find((v) => v.variable.name.value === idVariable);
  if (!idDefinition) return undefined;
  const variableDefinitions = [
    ...(operation.variableDefinitions ?? []).filter((v) => v !== idDefinition),
    ...Array.from({ length: count }, (_, i) => ({
      ...idDefinition,
      variable: { kind: Kind.VARIABLE, name: { kind: Kind.NAME, value: idOf(i) } },
    })),
  ];
  return print({
    ...document,
    definitions: document.definitions.map((d) =>
      d === operation
        ? { ...operation, variableDefinitions, selectionSet: { ...operation.selectionSet, selections } }
        : d,
    ),
  } as DocumentNode);
}

/** One customer's part of a batched answer, under the keys the single query would have answered with. */
export function partOf(result: Resolution, index: number): Resolution {
  const data: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(result.data ?? {})) {
    const match = ALIAS.exec(key);
    if (match && Number(match[1]) === index && match[2] !== undefined) data[match[2]] = value;
  }
  const errors = result.errors.flatMap((error) => {
    const head = error.path?.[0];
    const match = typeof head === 'string' ? ALIAS.exec(head) : null;
    if (!match) return [error];
    if (Number(match[1]) !== index) return [];
    return [{ ...error, path: [match[2] ?? '', ...(error.path ?? []).slice(1)] }];
  });
  return { data: result.data === null ? null : data, errors };
}

export class ResolutionBatcher {
  private readonly waiting = new Map<string, Waiting>();
  private readonly documents = new Map<string, DocumentNode>();
  constructor(
    private readonly execute: LiveExecutor,
    /** Told the customers of each query sent (`hub_live_resolution_batch_size`: batching is measured). */
    private readonly onQuery: (customers: number) => void = () => undefined,
    private readonly maxBatch = 32,
  ) {}

  /** `query` for the customer `id` (in `$<idVariable>`), as `viewer`, batched with its peers. */
  run(
    query: string,
    idVariable: string,
    variables: Readonly<Record<string, unknown>>,
    id: string,
    viewer: Viewer,
    perUser = false,
  ): Promise<Resolution> {
    const key = `${query}\u0000${canonicalJson(variables)}\u0000${scopeClassOf(viewer)}${perUser ? `\u0000${viewer.userId}` : ''}`;
    let group = this.waiting.get(key);
    if (!group) {
      group = { query, idVariable, variables, viewer, ids: new Map() };
      this.waiting.set(key, group);
      setImmediate(() => this.flush(key));
    }
    const current = group;
    return new Promise<Resolution>((resolve, reject) => {
      const waiters = current.ids.get(id) ?? [];
      waiters.push({ resolve, reject });
      current.ids.set(id, waiters);
      if (current.ids.size >= this.maxBatch) this.flush(key);
    });
  }

  private flush(key: string): void {
    const group = this.waiting.get(key);
    if (!group) return;
    this.waiting.delete(key);
    const ids = [...group.ids.keys()];
    const settle = (answer: (index: number) => Resolution) =>
      ids.forEach((id, index) => {
        const part = answer(index);
        for (const waiter of group.ids.get(id) ?? []) waiter.resolve(part);
      });
    const fail = (error: unknown) => {
      for (const waiters of group.ids.values()) for (const waiter of waiters) waiter.reject(error);
    };
    const batched =
      ids.length > 1 ? batchedQuery(this.documentOf(group.query), group.idVariable, ids.length) : undefined;
    if (!batched) {
      // One customer, or a shape that cannot be batched: each as its own query.
      ids.forEach((id) => {
        this.onQuery(1);
        const waiters = group.ids.get(id) ?? [];
        this.execute(group.query, { ...group.variables, [group.idVariable]: id }, group.viewer).then(
          (result) => waiters.forEach((w) => w.resolve(result)),
          (error: unknown) => waiters.forEach((w) => w.reject(error)),
        );
      });
      return;
    }
    const variables: Record<string, unknown> = { ...group.variables };
    ids.forEach((id, index) => (variables[`${group.idVariable}${String(index)}`] = id));
    this.onQuery(ids.length);
    this.execute(batched, variables, group.viewer).then((result) => settle((index) => partOf(result, index)), fail);
  }

  private documentOf(query: string): DocumentNode {
    let document = this.documents.get(query);
    if (!document) {
      document = parse(query);
      if (this.documents.size > 1000) this.documents.clear();
      this.documents.set(query, document);
    }
    return document;
  }
}
