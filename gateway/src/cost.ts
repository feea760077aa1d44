/**
 * The cost model of demand control, computed by graphql-query-complexity with one estimator:
 *
 * - a field's own weight: `@cost(weight:)` from the supergraph when set, else 1 for a field that
 *   returns an object (it may need a fetch or a join), 0 for a scalar or enum, +10 for a mutation field;
 * - a list field counts `size × (weight + selection)`: its size is the value of its slicing argument
 *   (`first`, or the arguments of `@listSize(slicingArguments:)`), else `@listSize(assumedSize:)`,
 *   else `defaultListSize`;
 * - a field with a slicing argument that returns a connection counts `weight + size × selection`
 *   (size `first`, or the page size a connection gets without it, 20), and the lists of the
 *   connection (`edges`, `nodes` of a `…Connection` type) count once: the slicing argument sized them.
 *
 * So `customers(first: 100) { edges { node { health { score } } } }` costs 1 + 100 × (1 + 1 + 1) = 301.
 * Federation's `@cost` / `@listSize` are read from the supergraph SDL the gateway loads (the API
 * schema drops them), keyed `Type.field`.
 */
import { createRequire } from 'node:module';
import {
  getNamedType,
  isCompositeType,
  isListType,
  isNonNullType,
  Kind,
  parse,
  type ConstArgumentNode,
  type ConstDirectiveNode,
  type DocumentNode,
  type GraphQLOutputType,
  type GraphQLSchema,
} from 'graphql';
import type * as QueryComplexity from 'graphql-query-complexity';
import { DEFAULT_PAGE_SIZE } from '@hub/core/pagination';

// The CommonJS build on purpose: its ESM build imports graphql/index.mjs, a second copy of graphql
// beside the CommonJS one Apollo's packages (and so the API schema) use.
const { getComplexity } = createRequire(import.meta.url)('graphql-query-complexity') as typeof QueryComplexity;

export interface FieldCost {
  weight?: number;
  assumedSize?: number;
  slicingArguments?: readonly string[];
}

export interface CostModel {
  /** `Type.field` -> the weights of the supergraph's `@cost` / `@listSize`. */
  readonly fields: ReadonlyMap<string, FieldCost>;
  /** Assumed size of a list field with neither a slicing argument nor `@listSize(assumedSize:)`. */
  readonly defaultListSize: number;
}

const MUTATION_WEIGHT = 10;
/**
 * Fields the cost walk visits at most. Token and depth limits do not bound it: fragments that
 * spread other fragments many times fan out exponentially (armor's counters memoize fragments).
 */
export const MAX_QUERY_NODES = 100_000;
const DEFAULT_SLICING_ARGUMENTS = ['first'];
/** The hub's Relay connections: their lists are sized by the slicing argument of the field returning them. */
const CONNECTION_SUFFIX = 'Connection';

/** Directive names as the supergraph spells them (imported, or prefixed by their spec). */
const COST_DIRECTIVES = new Set(['cost', 'cost__cost', 'federation__cost']);
const LIST_SIZE_DIRECTIVES = new Set(['listSize', 'cost__listSize', 'federation__listSize']);

function argument(directive: ConstDirectiveNode, name: string): ConstArgumentNode['value'] | undefined {
  return directive.arguments?.find((arg) => arg.name.value === name)?.value;
}

function intOf(value: ConstArgumentNode['value'] | undefined): number | undefined {
  return value?.kind === Kind.INT ? Number(value.value) : undefined;
}

function stringsOf(value: ConstArgumentNode['value'] | undefined): string[] | undefined {
  if (value?.kind !== Kind.LIST) return undefined;
  return value.values.flatMap((v) => (v.kind === Kind.STRING ? [v.value] : []));
}

/** Reads every `@cost` / `@listSize` of the supergraph SDL. */
export function createCostModel(supergraphSdl: string | undefined, defaultListSize: number): CostModel {
  const fields = new Map<string, FieldCost>();
  const document: DocumentNode | undefined = supergraphSdl ? parse(supergraphSdl, { noLocation: true }) : undefined;
  for (const definition of document?.definitions ?? []) {
    if (!('fields' in definition) || !definition.fields || !('name' in definition)) continue;
    for (const field of definition.fields) {
      const cost: { -readonly [K in keyof FieldCost]: FieldCost[K] } = {};
      for (const directive of field.directives ?? []) {
        if (COST_DIRECTIVES.has(directive.name.value)) cost.weight = intOf(argument(directive, 'weight'));
        if (LIST_SIZE_DIRECTIVES.has(directive.name.value)) {
          cost.assumedSize = intOf(argument(directive, 'assumedSize'));
          cost.slicingArguments = stringsOf(argument(directive, 'slicingArguments'));
        }
      }
      if (Object.values(cost).some((v) => v !== undefined))
        fields.set(`${definition.name.value}.${field.name.value}`, cost);
    }
  }
  return { fields, defaultListSize };
}

function isList(type: GraphQLOutputType): boolean {
  return isListType(isNonNullType(type) ? type.ofType : type);
}

function estimator(model: CostModel, schema: GraphQLSchema): QueryComplexity.ComplexityEstimator {
  const mutationType = schema.getMutationType();
  return ({ type, field, args, childComplexity }) => {
    const declared = model.fields.get(`${type.name}.${field.name}`);
    const composite = isCompositeType(getNamedType(field.type));
    const weight =
      (declared?.weight ?? (composite ? 1 : 0)) +
      (mutationType !== null && type === mutationType ? MUTATION_WEIGHT : 0);
    const slicing = declared?.slicingArguments ?? DEFAULT_SLICING_ARGUMENTS;
    const sliced = slicing.map((name) => args[name]).find((value): value is number => typeof value === 'number');
    const paged = field.args.some((arg) => slicing.includes(arg.name));
    const list = isList(field.type);
    let size = 1;
    if (sliced !== undefined) size = Math.max(sliced, 0);
    else if (declared?.assumedSize !== undefined) size = declared.assumedSize;
    else if (paged) size = DEFAULT_PAGE_SIZE;
    else if (list && !type.name.endsWith(CONNECTION_SUFFIX)) size = model.defaultListSize;
    return list ? size * (weight + childComplexity) : weight + size * childComplexity;
  };
}

/** The cost of the operation `operationName` of `document` with `variables`. Throws on invalid variables. */
export function operationCost(
  model: CostModel,
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | undefined,
  variables: Record<string, unknown>,
): number {
  return getComplexity({
    schema,
    query: document,
    variables,
    ...(operationName !== undefined ? { operationName } : {}),
    estimators: [estimator(model, schema)],
    maxQueryNodes: MAX_QUERY_NODES,
  });
}
