/**
 * The codegen plugin that writes partner manifests (scripts/codegen-pq-manifest.mjs), on operation
 * files written to a temporary directory: what it refuses, and what Apollo's generator makes of
 * fragments kept in another file.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse, type DocumentNode } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PersistedQueryManifest } from '../src/plugins/usePersistedOperations.js';

type Plugin = (schema: unknown, documents: { location: string; document: DocumentNode }[]) => Promise<string>;

let dir: string;
let plugin: Plugin;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'hub-pq-'));
  // A plain JavaScript module loaded by codegen at run time; imported the same way here.
  const specifier = new URL('../../scripts/codegen-pq-manifest.mjs', import.meta.url).href;
  ({ plugin } = (await import(specifier)) as { plugin: Plugin });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Writes the files and hands them to the plugin as codegen would (parsed, with their location). */
async function manifestOf(files: Record<string, string>): Promise<PersistedQueryManifest> {
  const documents = await Promise.all(
    Object.entries(files).map(async ([name, text]) => {
      const location = path.join(dir, name);
      await writeFile(location, text);
      return { location, document: parse(text) };
    }),
  );
  return JSON.parse(await plugin(null, documents)) as PersistedQueryManifest;
}

describe('the partner manifest codegen plugin', () => {
  it.each([
    ['a fragment before its operation', 'fragment F on Customer { id }\nquery Q { customer(id: "1") { ...F } }'],
    [
      'fragments out of name order',
      'query Q { customer(id: "1") { ...B ...A } }\nfragment B on Customer { id }\nfragment A on Customer { name }',
    ],
  ])('refuses %s, whose standard-link hash would not be the manifest id', async (_why, text) => {
    await expect(manifestOf({ [`order-${text.length}.graphql`]: text })).rejects.toThrow(/operation first/);
  });

  it('lists a fragment kept in another file with the operation, __typename added, id = sha256 of the body', async () => {
    const manifest = await manifestOf({
      'Summary.graphql': 'fragment Summary on Customer { id name }',
      'One.graphql': 'query One($id: ID!) { customer(id: $id) { ...Summary } }',
    });
    expect(manifest.operations.map(({ name, type }) => ({ name, type }))).toEqual([{ name: 'One', type: 'query' }]);
    const [one] = manifest.operations;
    expect(one?.body).toBe(
      'query One($id: ID!) {\n  customer(id: $id) {\n    ...Summary\n    __typename\n  }\n}\n\n' +
        'fragment Summary on Customer {\n  id\n  name\n  __typename\n}',
    );
    expect(one?.id).toBe(
      createHash('sha256')
        .update(one?.body ?? '')
        .digest('hex'),
    );
  });
});
