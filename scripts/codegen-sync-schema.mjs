/**
 * GraphQL Code Generator schema loader: a domain's sync fields (packages/core/src/sync/sdl.ts
 * `syncSdl`), which the subgraph kit appends to a schema declaring `input <Domain>SyncEventInput`.
 * Pointer: `sync-sdl:<domain>`. Runs under tsx (scripts/codegen.ts), so it can import the TS source.
 */
import { parse } from 'graphql';
import { syncSdl } from '../packages/core/src/sync/sdl.ts';

export default function loadSyncSchema(pointer) {
  const domain = String(pointer).replace(/^sync-sdl:/, '');
  return parse(syncSdl(domain), { noLocation: true });
}
