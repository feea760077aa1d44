/**
 * GraphQL Code Generator plugin: a persisted-query manifest in Apollo's format
 * (`apollo-persisted-query-manifest`, version 1) from a partner app's operation files, e.g.
 * gateway/operations/partner-portal/*.graphql -> gateway/persisted/partner-portal.json.
 * Each operation's body is the operation plus every fragment it uses (transitively, sorted by
 * name), printed by graphql-js; its id is the sha256 hex of that body — what Apollo's
 * persisted-query link sends as `extensions.persistedQuery.sha256Hash`. Codegen has already
 * validated the documents against the schema of the entry (the hub's public API schema).
 */
import { createHash } from 'node:crypto';
import { Kind, print, visit } from 'graphql';

function fragmentsUsedBy(definition, fragments, seen = new Set()) {
  visit(definition, {
    FragmentSpread(node) {
      const name = node.name.value;
      if (seen.has(name)) return;
      const fragment = fragments.get(name);
      if (!fragment) throw new Error(`unknown fragment ${name}`);
      seen.add(name);
      fragmentsUsedBy(fragment, fragments, seen);
    },
  });
  return seen;
}

/** Codegen imports the module and calls its named `plugin` export. */
export function plugin(_schema, documents) {
  const fragments = new Map();
  const operations = [];
  for (const { document, location } of documents) {
    for (const definition of document.definitions) {
      if (definition.kind === Kind.FRAGMENT_DEFINITION) {
        if (fragments.has(definition.name.value))
          throw new Error(`${location}: fragment ${definition.name.value} is defined twice`);
        fragments.set(definition.name.value, definition);
      } else if (definition.kind === Kind.OPERATION_DEFINITION) {
        if (!definition.name) throw new Error(`${location}: persisted operations must be named`);
        operations.push(definition);
      }
    }
  }
  const names = new Set();
  const manifest = operations
    .map((operation) => {
      const name = operation.name.value;
      if (names.has(name)) throw new Error(`operation ${name} is defined twice`);
      names.add(name);
      const used = [...fragmentsUsedBy(operation, fragments)].sort().map((fragment) => fragments.get(fragment));
      const body = [operation, ...used].map((definition) => print(definition)).join('\n\n');
      return { id: createHash('sha256').update(body).digest('hex'), name, type: operation.operation, body };
    })
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return `${JSON.stringify({ format: 'apollo-persisted-query-manifest', version: 1, operations: manifest }, null, 2)}\n`;
}
