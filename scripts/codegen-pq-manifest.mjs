/**
 * GraphQL Code Generator plugin: a persisted-query manifest in Apollo's format
 * (`apollo-persisted-query-manifest`, version 1) from a partner app's operation files, e.g.
 * gateway/operations/partner-portal/*.graphql -> gateway/persisted/partner-portal.json.
 *
 * The manifest is made by Apollo's own generator, `@apollo/generate-persisted-query-manifest`: it
 * runs each operation through a real Apollo Client (the client's document transform: `__typename`
 * in every selection set, client-only directives removed, fragments from a registry of all the
 * app's files), prints it with its fragments sorted by name and takes the sha256 of that text as
 * the id. So the ids are what a partner's Apollo Client sends, with either
 * `createPersistedQueryLink({ sha256 })` or `generatePersistedQueryIdsFromManifest`.
 * We call its `generatePersistedQueryManifest` (what its CLI calls) rather than the CLI so the
 * manifest stays one codegen output, drift-checked with the others; codegen has already validated
 * the documents against the schema of the entry (the hub's public API schema).
 */
import { createRequire } from 'node:module';
import { Kind } from 'graphql';

const require = createRequire(import.meta.url);
// CommonJS package; its CLI imports the same function.
const { generatePersistedQueryManifest } = require('@apollo/generate-persisted-query-manifest');

/**
 * `createPersistedQueryLink({ sha256 })` hashes a document in the order its definitions are
 * written, while the manifest prints the operation first and then its fragments by name. A file
 * written in another order would get an id the standard link never sends, so refuse it here.
 */
function checkDefinitionOrder(document, location) {
  const { definitions } = document;
  const rank = (definition) =>
    definition.kind === Kind.OPERATION_DEFINITION ? `0${definition.name?.value ?? ''}` : `1${definition.name.value}`;
  const names = definitions.map(rank);
  const sorted = [...names].sort();
  if (names.some((name, i) => name !== sorted[i]))
    throw new Error(
      `${location}: write the operation first and its fragments after it, sorted by name, so that Apollo Client's persisted-query link hashes the document as the manifest lists it`,
    );
}

/** Codegen imports the module and calls its named `plugin` export. */
export async function plugin(_schema, documents) {
  const files = [];
  for (const { location, document } of documents) {
    if (!location || !document) throw new Error('persisted operations must come from files');
    checkDefinitionOrder(document, location);
    files.push(location);
  }
  // The generator reports problems (anonymous or duplicate operations) on stderr and exits 1.
  const manifest = await generatePersistedQueryManifest({ documents: [...new Set(files)] }, undefined);
  return `${JSON.stringify(manifest, null, 2)}\n`;
}
