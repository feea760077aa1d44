/**
 * Demand control: an operation's tokens, depth, aliases, root fields, directives and cost are
 * measured and held against the viewer's limits (src/limits.ts) before Apollo Server parses,
 * validates (OverlappingFieldsCanBeMerged is quadratic in repeated fields) or plans it, and so
 * before any subgraph is called — APQ hash-only requests and partners' persisted operations
 * included (both are resolved to their text by src/operation.ts). A refusal is
 * OPERATION_TOO_COMPLEX (HTTP 400) with `extensions.measure`, `value` and `limit` (`nodes` when the
 * cost walk itself hits MAX_QUERY_NODES: fragments fanning out).
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { ApolloArmor } from '@escape.tech/graphql-armor';
import {
  getOperationAST,
  Kind,
  parse,
  validate,
  type ASTVisitor,
  type DocumentNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
  type ValidationRule,
} from 'graphql';
import { badUserInput, operationTooComplex } from '@hub/core/errors';
import { LRUCache } from 'lru-cache';
import { MAX_QUERY_NODES, operationCost, type CostModel } from '../cost.js';
import { identityOf, refuseRequest } from '../identify.js';
import { limitsFor, type Limits, type LimitsConfig } from '../limits.js';
import {
  countTokens,
  memoByVariables,
  readOperation,
  setResolvedOperation,
  variablesKeyOf,
  type ApqStore,
} from '../operation.js';

export interface DemandControlOptions {
  /** The API schema and cost model of the loaded supergraph; undefined until it is loaded. */
  schema: () => { readonly apiSchema: GraphQLSchema; readonly costModel: CostModel } | undefined;
  /** The APQ cache Apollo Server is given, to resolve hash-only requests. */
  apq: ApqStore;
  limits: LimitsConfig;
}

type Measure = 'depth' | 'aliases' | 'directives' | 'rootFields';

/**
 * Root fields of a selection set, through fragments. Hand-written: neither graphql-armor nor
 * graphql-query-complexity counts them, and 600 aliased root lookups are one query plan step each.
 */
function countRootFields(selectionSet: SelectionSetNode, context: ValidationContext, seen = new Set<string>()): number {
  let count = 0;
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) count += selection.name.value === '__typename' ? 0 : 1;
    else if (selection.kind === Kind.INLINE_FRAGMENT) count += countRootFields(selection.selectionSet, context, seen);
    else if (!seen.has(selection.name.value)) {
      seen.add(selection.name.value);
      const fragment = context.getFragment(selection.name.value);
      if (fragment) count += countRootFields(fragment.selectionSet, context, seen);
    }
  }
  return count;
}

/**
 * Measures every operation of the document (Apollo validates them all) with graphql-armor's depth,
 * alias and directive rules, which report the measured value through `onAccept` when their own
 * limit is infinite; the viewer's limits are compared afterwards, so one rule set serves every role.
 */
function measure(schema: GraphQLSchema, document: DocumentNode): Record<Measure, number> {
  const measured: Record<Measure, number> = { depth: 0, aliases: 0, directives: 0, rootFields: 0 };
  const record =
    (name: Measure) =>
    (_context: ValidationContext | null, { n }: { n: number }): void => {
      measured[name] = Math.max(measured[name], n);
    };
  const unlimited = (name: Measure) => ({ n: Number.POSITIVE_INFINITY, onAccept: [record(name)] });
  const { validationRules } = new ApolloArmor({
    blockFieldSuggestion: { enabled: false },
    maxTokens: { enabled: false },
    costLimit: { enabled: false },
    maxDepth: unlimited('depth'),
    maxAliases: unlimited('aliases'),
    maxDirectives: unlimited('directives'),
  }).protect();
  const rootFields: ValidationRule = (context): ASTVisitor => ({
    OperationDefinition(node) {
      measured.rootFields = Math.max(measured.rootFields, countRootFields(node.selectionSet, context));
    },
  });
  validate(schema, document, [...(validationRules as ValidationRule[]), rootFields]);
  return measured;
}

/** graphql-query-complexity's error for a walk past `maxQueryNodes` (it has no code of its own). */
function exceedsMaxNodes(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('Query exceeds the maximum allowed number of nodes');
}

const MEASURES: readonly Measure[] = ['depth', 'aliases', 'rootFields', 'directives'];

/**
 * The same limits for an operation that does not come over HTTP — the query a subscription's
 * payload is resolved with, checked once when it subscribes (src/live/): OPERATION_TOO_COMPLEX, or
 * undefined when it is within the viewer's limits.
 */
export function demandRefusal(
  loaded: { readonly apiSchema: GraphQLSchema; readonly costModel: CostModel },
  source: string,
  variables: Record<string, unknown>,
  limits: Limits,
): ReturnType<typeof operationTooComplex> | undefined {
  const tokens = countTokens(source) ?? 0;
  if (tokens > limits.tokens) return operationTooComplex('tokens', tokens, limits.tokens);
  const document = parse(source, { noLocation: true });
  const measured = measure(loaded.apiSchema, document);
  for (const name of MEASURES)
    if (measured[name] > limits[name]) return operationTooComplex(name, measured[name], limits[name]);
  try {
    const cost = operationCost(loaded.costModel, loaded.apiSchema, document, undefined, variables);
    if (cost > limits.cost) return operationTooComplex('cost', cost, limits.cost);
  } catch (error) {
    if (exceedsMaxNodes(error)) return operationTooComplex('nodes', MAX_QUERY_NODES + 1, MAX_QUERY_NODES);
  }
  return undefined;
}

/**
 * What demand control learns from an operation's text alone, kept per text and schema: its tokens,
 * then (only once a viewer's token limit let it be parsed) the document, then its measures. Clients
 * send the same few documents with other variables, and Apollo Server keeps its own parsed copy the
 * same way; the cost, which reads the variables, is computed per request. Each part is filled on
 * first need, so an oversized document is still refused before anything parses it.
 */
interface Analysis {
  readonly tokens: number | undefined;
  /** `null`: a syntax error (Apollo reports it). */
  document?: DocumentNode | null;
  measured?: Record<Measure, number>;
}

/** Documents analysed per schema (a supergraph update starts afresh), most recently used kept. */
const ANALYSED_DOCUMENTS = 256;
/** Longer texts are analysed every time: the cache holds their ASTs, and such texts are rarely repeated. */
const ANALYSED_MAX_LENGTH = 16 * 1024;

/** Express middleware, after `identifyRequests` and the safelist, before Apollo Server. */
export function useDemandControl(options: DemandControlOptions): RequestHandler {
  const analyses = new WeakMap<GraphQLSchema, LRUCache<string, Analysis>>();
  // A cost per operation and variables (operation.ts memoByVariables): the walk is most of demand control's CPU.
  const costs = new WeakMap<OperationDefinitionNode, Map<string, number>>();
  const analysisOf = (schema: GraphQLSchema, source: string): Analysis => {
    const cacheable = source.length <= ANALYSED_MAX_LENGTH;
    let cache = analyses.get(schema);
    const cached = cacheable ? cache?.get(source) : undefined;
    if (cached) return cached;
    const analysis: Analysis = { tokens: countTokens(source) };
    if (cacheable) {
      if (!cache) analyses.set(schema, (cache = new LRUCache<string, Analysis>({ max: ANALYSED_DOCUMENTS })));
      cache.set(source, analysis);
    }
    return analysis;
  };
  const decide = async (req: Request, res: Response): Promise<void> => {
    const identity = identityOf(res);
    const loaded = options.schema();
    if (!identity.ok || loaded === undefined) return;
    const read = await readOperation(req, options.apq);
    if (read.kind === 'refused') return refuseRequest(res, read.error, read.error.message);
    if (read.kind === 'pass') return;
    const limits: Limits = limitsFor(identity.viewer, options.limits);
    const refuse = (name: string, value: number, limit: number) =>
      refuseRequest(res, operationTooComplex(name, value, limit), `${name} ${value} > ${limit}`);

    const analysis = analysisOf(loaded.apiSchema, read.request.source);
    const { tokens } = analysis;
    if (tokens === undefined) return; // a syntax error: Apollo reports it
    if (tokens > limits.tokens) return refuse('tokens', tokens, limits.tokens);
    if (analysis.document === undefined) {
      try {
        analysis.document = parse(read.request.source, { noLocation: true });
      } catch {
        analysis.document = null;
      }
    }
    const { document } = analysis;
    if (document === null) return; // a syntax error: Apollo reports it (GRAPHQL_PARSE_FAILED, 400)
    const operation = getOperationAST(document, read.request.operationName);
    if (!operation) {
      const error = badUserInput(
        'operationName',
        read.request.operationName === undefined
          ? 'the document has several operations (or none): name the one to run'
          : `the document has no operation named ${JSON.stringify(read.request.operationName)}`,
      );
      error.extensions['http'] = { status: 400 };
      return refuseRequest(res, error, error.message);
    }
    const measured = (analysis.measured ??= measure(loaded.apiSchema, document));
    for (const name of MEASURES) if (measured[name] > limits[name]) return refuse(name, measured[name], limits[name]);

    const variablesKey = variablesKeyOf(read.request.variables);
    let cost: number;
    try {
      cost = memoByVariables(costs, { operation, variablesKey }, () =>
        operationCost(loaded.costModel, loaded.apiSchema, document, operation.name?.value, read.request.variables),
      );
    } catch (error) {
      if (exceedsMaxNodes(error)) return refuse('nodes', MAX_QUERY_NODES + 1, MAX_QUERY_NODES);
      // Invalid arguments or variables: nothing runs. GraphQL validation (literals), @apollo/gateway's
      // variable check before planning, and useInputValidation (which names the variable) refuse it.
      setResolvedOperation(res, { request: read.request, document, operation, cost: 0, variablesKey });
      return;
    }
    if (cost > limits.cost) return refuse('cost', cost, limits.cost);
    setResolvedOperation(res, { request: read.request, document, operation, cost, variablesKey });
  };
  return (req: Request, res: Response, next: NextFunction) => {
    decide(req, res).then(() => next(), next);
  };
}
