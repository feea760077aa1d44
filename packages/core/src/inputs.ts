/**
 * Input checks that both sides of the hub apply to an operation before anything runs: the gateway
 * (whose API schema knows the custom scalars only by name) and the subgraph kit (defence in depth).
 *
 * - Custom scalars (Money, DateTime, Date) are parsed by the one implementation in scalars.ts,
 *   whatever the schema at hand would do with them, in literals and in variables.
 * - A NUL byte in any string input is refused: PostgreSQL cannot store it in text, so it would
 *   otherwise surface as an internal error from the store.
 *
 * Every refusal is BAD_USER_INPUT naming the argument as a dotted path (`input.value`, `$v.notes`).
 * graphql-js's own coercion reports these too, but as GRAPHQL_VALIDATION_FAILED with a message
 * (and on the gateway not at all, the scalars being opaque there); no library walks an operation's
 * inputs with paths, so this does, in one pass over the document and the variables.
 */
import type { ApolloServerPlugin } from '@apollo/server';
import {
  getNamedType,
  isInputObjectType,
  isListType,
  isNonNullType,
  Kind,
  TypeInfo,
  typeFromAST,
  visit,
  visitWithTypeInfo,
  type DocumentNode,
  type GraphQLError,
  type GraphQLInputType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type ValueNode,
} from 'graphql';
import { badUserInput, isGraphQLError } from './errors.js';
import { scalarResolvers } from './scalars.js';

const SCALARS: Record<string, { parseValue(value: unknown): unknown; parseLiteral(ast: ValueNode): unknown }> =
  scalarResolvers;

function refuse(field: string, error: unknown): GraphQLError {
  const reason = isGraphQLError(error) ? error.message.replace(/^[^:]*: /, '') : String(error);
  return badUserInput(field, reason);
}

function nulError(field: string): GraphQLError {
  return badUserInput(field, 'must not contain a NUL (\\u0000) character');
}

/** First problem in a literal value of type `type` at `field`, walking lists and input objects. */
function checkLiteral(value: ValueNode, type: GraphQLInputType | undefined, field: string): GraphQLError | undefined {
  if (value.kind === Kind.VARIABLE || value.kind === Kind.NULL) return undefined;
  const inner = type && isNonNullType(type) ? type.ofType : type;
  if (value.kind === Kind.LIST) {
    const item = inner && isListType(inner) ? (inner.ofType as GraphQLInputType) : inner;
    for (const [i, entry] of value.values.entries()) {
      const error = checkLiteral(entry, item, `${field}.${i}`);
      if (error) return error;
    }
    return undefined;
  }
  if (value.kind === Kind.OBJECT) {
    const fields = inner && isInputObjectType(inner) ? inner.getFields() : {};
    for (const entry of value.fields) {
      const error = checkLiteral(entry.value, fields[entry.name.value]?.type, `${field}.${entry.name.value}`);
      if (error) return error;
    }
    return undefined;
  }
  if (value.kind === Kind.STRING && value.value.includes('\0')) return nulError(field);
  return checkScalar(inner, field, (scalar) => scalar.parseLiteral(value));
}

/**
 * First problem in a variable's JSON value of type `type` at `field`. Exported for the gateway's
 * NDJSON import, which checks each line's event on its own before batching it into a variable.
 */
export function checkValue(
  value: unknown,
  type: GraphQLInputType | undefined,
  field: string,
): GraphQLError | undefined {
  if (value === null || value === undefined) return undefined;
  const inner = type && isNonNullType(type) ? type.ofType : type;
  if (Array.isArray(value)) {
    const item = inner && isListType(inner) ? (inner.ofType as GraphQLInputType) : inner;
    for (const [i, entry] of value.entries()) {
      const error = checkValue(entry, item, `${field}.${i}`);
      if (error) return error;
    }
    return undefined;
  }
  if (typeof value === 'object') {
    const fields = inner && isInputObjectType(inner) ? inner.getFields() : {};
    for (const [name, entry] of Object.entries(value)) {
      const error = checkValue(entry, fields[name]?.type, `${field}.${name}`);
      if (error) return error;
    }
    return undefined;
  }
  if (typeof value === 'string' && value.includes('\0')) return nulError(field);
  return checkScalar(inner, field, (scalar) => scalar.parseValue(value));
}

/** A custom scalar's own parser (the subgraphs' one, from scalars.ts) refusing the value at `field`. */
function checkScalar(
  type: GraphQLInputType | undefined,
  field: string,
  parse: (scalar: (typeof SCALARS)[string]) => unknown,
): GraphQLError | undefined {
  const scalar = type ? SCALARS[getNamedType(type).name] : undefined;
  if (!scalar) return undefined;
  try {
    parse(scalar);
    return undefined;
  } catch (error) {
    return refuse(field, error);
  }
}

export interface InputCheck {
  schema: GraphQLSchema;
  document: DocumentNode;
  /** The operation that will run (others in the document are not checked). */
  operation: OperationDefinitionNode;
  variables?: Record<string, unknown> | null | undefined;
}

/**
 * The first invalid input of the operation (BAD_USER_INPUT naming the argument), or undefined.
 * Structural mistakes (unknown fields, wrong types) are left to GraphQL validation, which reports them.
 */
export function checkInputs({ schema, document, operation, variables }: InputCheck): GraphQLError | undefined {
  for (const definition of operation.variableDefinitions ?? []) {
    const name = definition.variable.name.value;
    const type = typeFromAST(schema, definition.type) as GraphQLInputType | undefined;
    const error =
      checkValue(variables?.[name], type, name) ??
      (definition.defaultValue ? checkLiteral(definition.defaultValue, type, name) : undefined);
    if (error) return error;
  }
  const typeInfo = new TypeInfo(schema);
  let found: GraphQLError | undefined;
  // Fragments are checked wherever they are defined: a fragment's literals are the same in every use.
  const targets = document.definitions.filter((d) => d === operation || d.kind === Kind.FRAGMENT_DEFINITION);
  for (const target of targets) {
    visit(
      target,
      visitWithTypeInfo(typeInfo, {
        Argument(node) {
          const argument = typeInfo.getArgument();
          found ??= checkLiteral(node.value, argument?.type, node.name.value);
          return false;
        },
      }),
    );
    if (found) return found;
  }
  return undefined;
}

/**
 * The subgraph kit's copy of the gateway's input checks (defence in depth: a subgraph may be
 * reached by a request the gateway did not check, e.g. one of its own internal calls).
 * Refuses with BAD_USER_INPUT, HTTP 400, once the operation is resolved and before it executes.
 */
export function useInputChecks(): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ schema, document, operation, request }) {
          if (!operation) return;
          const error = checkInputs({ schema, document, operation, variables: request.variables });
          if (error) {
            error.extensions['http'] = { status: 400 };
            throw error;
          }
        },
      };
    },
  };
}
