/**
 * A subscription's payload is resolved by a *query* built from its own selection set and executed
 * through the gateway's one executor (Apollo Server -> @apollo/gateway -> the subgraphs) with the
 * subscriber's viewer, so every row and field rule of every subgraph holds by construction:
 *
 *   subscription { customerChanged { cursor c: customer { name renewal { contractValue } } } }
 *   -> query HubLivePayload($hubLiveId: ID!) {
 *        hubLiveRow: customer(id: $hubLiveId) { id __typename }      # may the subscriber read it?
 *        hubProbe0: customer(id: $hubLiveId) { id renewal { __typename } __typename }  # and this domain?
 *        c: customer(id: $hubLiveId) { name renewal { contractValue __typename } __typename }
 *      }
 *
 * The answer is then shaped into the subscription's response with graphql-js's own executor over
 * the live schema (aliases, fragments, @skip/@include, null propagation), each field read by its
 * response key and each null that the query answered with an error re-raised at its path.
 */
import { createHash } from 'node:crypto';
import {
  GraphQLError,
  Kind,
  TypeInfo,
  visitWithTypeInfo,
  execute,
  getOperationAST,
  print,
  visit,
  type DocumentNode,
  type ExecutionResult,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLFieldResolver,
  type GraphQLFormattedError,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionNode,
  type SelectionSetNode,
  type VariableDefinitionNode,
} from 'graphql';
import { parse } from 'graphql';
import { getArgumentValues } from 'graphql/execution/values.js';
import { isPii, type Classification } from '@hub/core/classification';
import { canonicalJson } from '@hub/core/canonicalJson';
import { badUserInput } from '@hub/core/errors';
import { hubClassification } from '@hub/core/schemaFiles';

export const LIVE_FIELDS = ['customerChanged', 'customerHealthChanged', 'syncStatus'] as const;
export type LiveField = (typeof LIVE_FIELDS)[number];

/** What one subscription asks for, prepared once at subscribe time. */
export interface PayloadPlan {
  readonly field: LiveField;
  /** The root field's response key (its alias, or its name). */
  readonly rootKey: string;
  readonly args: Readonly<Record<string, unknown>>;
  /**
   * The resolution query (syncStatus: `sync { … }`, the others: `customer(id:)` with the row probe
   * `hubLiveRow: customer(id:) { id <probe> }`), with its key: same query and variables -> same key
   * (with the viewer's scope: one shared resolution per event).
   */
  resolutionFor(probe: string | undefined): { readonly query: string; readonly shapeKey: string };
  readonly variables: Readonly<Record<string, unknown>>;
  /**
   * The payload selects personal data (a PII-classified field): its resolutions are then shared
   * only by subscribers of one user, since the subgraphs audit who read unmasked PII.
   */
  readonly readsPii: boolean;
  readonly document: DocumentNode;
  readonly operation: OperationDefinitionNode;
  readonly rawVariables: Readonly<Record<string, unknown>>;
  /**
   * The subscription as `shapePayload` reads it (document, operation, variables): two plans with
   * the same key shape the same event and resolution into the same result (shared.ts SharedPayloads).
   */
  readonly payloadKey: string;
}

const ROW = 'hubLiveRow';
/** The variable of the resolution query that names the event's customer. */
export const ID_VAR = 'hubLiveId';
/** Aliases of the probe fields (schema.ts `probeFor`), each its own root `customer(id:)`. */
export const PROBE_ALIAS = 'hubProbe';

/** A response key of the row check or of a probe: never part of the subscriber's payload. */
export function isCheckKey(key: unknown): boolean {
  return key === ROW || (typeof key === 'string' && key.startsWith(PROBE_ALIAS));
}

function typenameEverywhere(document: DocumentNode): DocumentNode {
  return visit(document, {
    SelectionSet(node: SelectionSetNode) {
      if (node.selections.some((s) => s.kind === Kind.FIELD && s.name.value === '__typename' && !s.alias)) return;
      const typename: FieldNode = { kind: Kind.FIELD, name: { kind: Kind.NAME, value: '__typename' } };
      return { ...node, selections: [...node.selections, typename] };
    },
  });
}

/** The `customer` fields of the payload, through fragments (their own directives are kept). */
function customerFields(
  selections: readonly SelectionNode[],
  fragments: ReadonlyMap<string, FragmentDefinitionNode>,
  seen = new Set<string>(),
): FieldNode[] {
  const found: FieldNode[] = [];
  for (const selection of selections) {
    if (selection.kind === Kind.FIELD) {
      if (selection.name.value === 'customer') found.push(selection);
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      found.push(...customerFields(selection.selectionSet.selections, fragments, seen));
    } else if (!seen.has(selection.name.value)) {
      seen.add(selection.name.value);
      const fragment = fragments.get(selection.name.value);
      if (fragment) found.push(...customerFields(fragment.selectionSet.selections, fragments, seen));
    }
  }
  return found;
}

/** Fragments and variables a set of nodes uses, transitively. */
function usedBy(
  nodes: readonly FieldNode[] | readonly SelectionSetNode[],
  fragments: ReadonlyMap<string, FragmentDefinitionNode>,
) {
  const usedFragments = new Map<string, FragmentDefinitionNode>();
  const usedVariables = new Set<string>();
  const walk = (node: FieldNode | SelectionSetNode | FragmentDefinitionNode) =>
    visit(node, {
      Variable: (v) => void usedVariables.add(v.name.value),
      FragmentSpread: (spread) => {
        const fragment = fragments.get(spread.name.value);
        if (fragment && !usedFragments.has(fragment.name.value)) {
          usedFragments.set(fragment.name.value, fragment);
          walk(fragment);
        }
      },
    });
  for (const node of nodes) walk(node);
  return { usedFragments: [...usedFragments.values()], usedVariables };
}

/**
 * Prepares a validated subscription document. Throws BAD_USER_INPUT for what the hub's own
 * machinery reserves (aliases `hubLive…`).
 */
export function planPayload(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | undefined,
  variables: Record<string, unknown>,
): PayloadPlan {
  const operation = getOperationAST(document, operationName);
  if (!operation || operation.operation !== 'subscription') throw badUserInput('query', 'is not a subscription');
  const root = operation.selectionSet.selections[0];
  const subscriptionType = schema.getSubscriptionType();
  if (root?.kind !== Kind.FIELD || !subscriptionType)
    throw badUserInput('query', 'select one subscription field at the root, without fragments');
  const field = root.name.value as LiveField;
  const definition = subscriptionType.getFields()[field];
  if (!definition || !LIVE_FIELDS.includes(field)) throw badUserInput('query', `unknown subscription ${field}`);
  let reserved = false;
  visit(document, { Field: (node) => void (node.alias?.value.startsWith('hubLive') && (reserved = true)) });
  if (reserved) throw badUserInput('query', 'aliases starting with hubLive are reserved');
  const args = getArgumentValues(definition, root, variables);
  const fragments = new Map(
    document.definitions
      .filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION)
      .map((d) => [d.name.value, d]),
  );

  let selections: SelectionNode[];
  let body: { nodes: FieldNode[] | SelectionSetNode[]; idVariable: boolean };
  if (field === 'syncStatus') {
    const selectionSet = root.selectionSet ?? { kind: Kind.SELECTION_SET, selections: [] };
    const sync: FieldNode = {
      kind: Kind.FIELD,
      alias: { kind: Kind.NAME, value: root.alias?.value ?? root.name.value },
      name: { kind: Kind.NAME, value: 'sync' },
      selectionSet,
    };
    selections = [sync];
    body = { nodes: [selectionSet], idVariable: false };
  } else {
    const idArg = [
      {
        kind: Kind.ARGUMENT,
        name: { kind: Kind.NAME, value: 'id' },
        value: { kind: Kind.VARIABLE, name: { kind: Kind.NAME, value: ID_VAR } },
      },
    ] as const;
    const customers = customerFields(root.selectionSet?.selections ?? [], fragments).map((node): FieldNode => ({
      ...node,
      arguments: idArg,
    }));
    selections = customers;
    body = { nodes: customers, idVariable: true };
  }
  const { usedFragments, usedVariables } = usedBy(body.nodes, fragments);
  const variableDefinitions: VariableDefinitionNode[] = (operation.variableDefinitions ?? []).filter((v) =>
    usedVariables.has(v.variable.name.value),
  );
  if (body.idVariable)
    variableDefinitions.push({
      kind: Kind.VARIABLE_DEFINITION,
      variable: { kind: Kind.VARIABLE, name: { kind: Kind.NAME, value: ID_VAR } },
      type: { kind: Kind.NON_NULL_TYPE, type: { kind: Kind.NAMED_TYPE, name: { kind: Kind.NAME, value: 'ID' } } },
    });
  const queryVariables = Object.fromEntries(
    [...usedVariables].filter((name) => name in variables).map((name) => [name, variables[name]]),
  );
  const build = (probe: string | undefined) => {
    // Parsed, not hand-built: a fixed piece of the query (the probe comes from the schema, schema.ts).
    // Each probe field under its own `customer(id:)` alias: a refused non-null probe nulls only
    // its own alias, never the row or another probe (a partner's probes may be refused but one).
    const probes =
      probe === undefined
        ? ''
        : (getOperationAST(parse(`query { ${probe} }`))?.selectionSet.selections ?? [])
            .filter((s): s is FieldNode => s.kind === Kind.FIELD)
            .map(
              (s) =>
                `${s.alias?.value ?? s.name.value}: customer(id: $${ID_VAR}) { id ${print({ ...s, alias: undefined })} }`,
            )
            .join(' ');
    const row =
      probe === undefined
        ? []
        : ((getOperationAST(parse(`query { ${ROW}: customer(id: $${ID_VAR}) { id } ${probes} }`))?.selectionSet
            .selections ?? []) as FieldNode[]);
    const query: DocumentNode = typenameEverywhere({
      kind: Kind.DOCUMENT,
      definitions: [
        {
          kind: Kind.OPERATION_DEFINITION,
          operation: 'query' as OperationDefinitionNode['operation'],
          name: { kind: Kind.NAME, value: 'HubLivePayload' },
          variableDefinitions,
          selectionSet: { kind: Kind.SELECTION_SET, selections: [...row, ...selections] },
        },
        ...usedFragments,
      ],
    });
    const text = print(query);
    const shapeKey = createHash('sha256')
      .update(text)
      .update('\0')
      .update(JSON.stringify(queryVariables))
      .digest('base64url');
    return { query: text, shapeKey };
  };
  const built = new Map<string, { query: string; shapeKey: string }>();
  const resolutionFor = (probe: string | undefined) => {
    let entry = built.get(probe ?? '');
    if (!entry) built.set(probe ?? '', (entry = build(probe)));
    return entry;
  };
  return {
    field,
    rootKey: root.alias?.value ?? root.name.value,
    args,
    resolutionFor,
    variables: queryVariables,
    readsPii: selectsPii(schema, document),
    document,
    operation,
    rawVariables: variables,
    payloadKey: createHash('sha256')
      .update(print(document))
      .update('\0')
      .update(operation.name?.value ?? '')
      .update('\0')
      .update(canonicalJson(variables))
      .digest('base64url'),
  };
}

let classification: Classification | undefined;

/** Whether `document` selects a field classified PII (fragments included), by the hub's classification. */
function selectsPii(schema: GraphQLSchema, document: DocumentNode): boolean {
  classification ??= hubClassification();
  const known = classification;
  const typeInfo = new TypeInfo(schema);
  let found = false;
  visit(
    document,
    visitWithTypeInfo(typeInfo, {
      Field() {
        const parent = typeInfo.getParentType();
        const field = typeInfo.getFieldDef();
        if (parent && field && isPii(known, `${parent.name}.${field.name}`)) found = true;
      },
    }),
  );
  return found;
}

export interface Resolution {
  readonly data: Record<string, unknown> | null;
  readonly errors: readonly GraphQLFormattedError[];
}

/**
 * The subscription's response for one event: `event` holds the payload's own fields (by field
 * name), the resolution the customer data (by response key, as the query answered it).
 */
export async function shapePayload(
  schema: GraphQLSchema,
  plan: PayloadPlan,
  event: Readonly<Record<string, unknown>>,
  resolution: Resolution,
): Promise<ExecutionResult> {
  const errors = resolution.errors.filter((e) => e.path && !isCheckKey(e.path[0]));
  const fieldResolver: GraphQLFieldResolver<unknown, unknown> = (source, _args, _ctx, info) => {
    const path: (string | number)[] = [];
    for (let p: typeof info.path | undefined = info.path; p; p = p.prev) path.unshift(p.key);
    const record = (source ?? {}) as Record<string, unknown>;
    let value: unknown;
    if (path.length === 1) value = record[info.fieldName];
    else if (path.length === 2 && plan.field !== 'syncStatus')
      value =
        info.fieldName === 'customer'
          ? (record['data'] as Record<string, unknown> | undefined)?.[String(info.path.key)]
          : (record['event'] as Record<string, unknown>)[info.fieldName];
    else value = record[String(info.path.key)];
    if (value !== null && value !== undefined) return value;
    // The query's path: syncStatus aliased `sync` to the root key; the others lack the root field.
    const inQuery = JSON.stringify(plan.field === 'syncStatus' ? path : path.slice(1)).slice(0, -1);
    const error = errors.find((e) => {
      const key = e.path ? JSON.stringify(e.path) : '';
      return key === `${inQuery}]` || key.startsWith(`${inQuery},`);
    });
    if (error) throw new GraphQLError(error.message, { extensions: error.extensions ?? {} });
    return value;
  };
  const rootValue =
    plan.field === 'syncStatus'
      ? { syncStatus: resolution.data?.[plan.rootKey] }
      : { [plan.field]: { event, data: resolution.data } };
  return execute({
    schema,
    document: plan.document,
    operationName: plan.operation.name?.value,
    variableValues: plan.rawVariables,
    rootValue,
    fieldResolver,
  }) as Promise<ExecutionResult>;
}
