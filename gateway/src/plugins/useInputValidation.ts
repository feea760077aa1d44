/**
 * Refuses invalid inputs at the gateway, before Apollo Server plans the operation or calls a
 * subgraph: a malformed Money / DateTime / Date (the API schema knows these scalars only by name,
 * so core's scalars.ts parses them here, the same code the subgraphs run) or a NUL byte in any
 * string, in literals, variables and nested input objects. A refusal is BAD_USER_INPUT (HTTP 400)
 * naming the argument (`extensions.field`). The checks are core's `checkInputs`, which the
 * subgraph kit applies too.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { getVariableValues, print, type GraphQLError, type GraphQLSchema, type OperationDefinitionNode } from 'graphql';
import { badUserInput } from '@hub/core/errors';
import { checkInputs } from '@hub/core/inputs';
import { identityOf, refuseRequest } from '../identify.js';
import { memoByVariables, resolvedOperationOf } from '../operation.js';

export interface InputValidationOptions {
  /** The API schema of the loaded supergraph; undefined until it is loaded. */
  schema: () => GraphQLSchema | undefined;
}

/**
 * A variable that does not coerce to its declared type. @apollo/gateway checks them too, but answers
 * with uncoded errors (masked as internal ones) whose messages may carry schema suggestions; this
 * names the variable and its type only.
 */
function invalidVariable(
  schema: GraphQLSchema,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown>,
): GraphQLError | undefined {
  for (const definition of operation.variableDefinitions ?? []) {
    const { errors } = getVariableValues(schema, [definition], variables);
    if (errors && errors.length > 0) {
      return badUserInput(definition.variable.name.value, `is not a valid ${print(definition.type)}`);
    }
  }
  return undefined;
}

/** Express middleware, after `useDemandControl` (which resolves and parses the operation). */
export function useInputValidation(options: InputValidationOptions): RequestHandler {
  // An operation and variables found valid once are valid again (operation.ts memoByVariables);
  // a refusal is checked anew each time, with a new error.
  const valid = new WeakMap<OperationDefinitionNode, Map<string, GraphQLError | undefined>>();
  return (_req: Request, res: Response, next: NextFunction) => {
    const identity = identityOf(res);
    const resolved = resolvedOperationOf(res);
    const schema = options.schema();
    if (identity.ok && resolved !== undefined && schema !== undefined) {
      const error = memoByVariables(
        valid,
        resolved,
        () =>
          checkInputs({
            schema,
            document: resolved.document,
            operation: resolved.operation,
            variables: resolved.request.variables,
          }) ?? invalidVariable(schema, resolved.operation, resolved.request.variables),
        (outcome) => outcome === undefined,
      );
      if (error) {
        error.extensions['http'] = { status: 400 };
        refuseRequest(res, error, error.message);
      }
    }
    next();
  };
}
