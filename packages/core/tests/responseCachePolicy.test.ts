import { describe, expect, it } from 'vitest';
import { DOMAINS } from '../src/domains.js';
import { mergeResponseCachePolicies, readResponseCachePolicy } from '../src/responseCachePolicy.js';
import { hubResponseCachePolicy, subgraphSchemaPath, subgraphSdl } from '../src/schemaFiles.js';

const DIRECTIVES = `directive @responseCache(policy: String!, reason: String) on FIELD_DEFINITION
  directive @inaccessible on FIELD_DEFINITION`;

const read = (sdl: string) => readResponseCachePolicy(`${DIRECTIVES}\n${sdl}`);

describe('response-cache decisions', () => {
  it('reads each Query root field’s decision, extensions included; only EVENTS is cached', () => {
    const { fields, cached, problems } = read(`
      type Query {
        a: Int @responseCache(policy: "EVENTS")
        b: Int @responseCache(policy: "NEVER", reason: "changes without an event")
      }
      extend type Query { c: Int @responseCache(policy: "EVENTS") }`);
    expect(problems).toEqual([]);
    expect(Object.fromEntries(fields)).toEqual({
      a: { policy: 'EVENTS' },
      b: { policy: 'NEVER', reason: 'changes without an event' },
      c: { policy: 'EVENTS' },
    });
    expect([...cached]).toEqual(['a', 'c']);
  });

  it('refuses a root field without a decision, and leaves it uncached', () => {
    const { cached, problems } = read(`type Query { a: Int b: Int @responseCache(policy: "EVENTS") }`);
    expect(problems).toEqual(['Query.a: no @responseCache decision (EVENTS or NEVER)']);
    expect([...cached]).toEqual(['b']);
  });

  it('refuses an unknown policy (not cached), a NEVER without its reason and a second directive', () => {
    expect(read(`type Query { a: Int @responseCache(policy: "ALWAYS") }`)).toMatchObject({
      problems: ['Query.a: policy must be one of EVENTS, NEVER, got "ALWAYS"'],
      cached: new Set(),
    });
    expect(read(`type Query { a: Int @responseCache(policy: "NEVER") }`).problems).toEqual([
      'Query.a: a NEVER decision gives its reason',
    ]);
  });

  it('asks nothing of fields outside the API, and refuses the directive off a Query field', () => {
    expect(read(`type Query { _internal: Int @inaccessible _entities: Int _service: Int }`).problems).toEqual([]);
    expect(read(`type Query { _internal: Int @inaccessible @responseCache(policy: "EVENTS") }`).problems).toEqual([
      'Query._internal: @inaccessible, not in the API: no @responseCache',
    ]);
    expect(read(`type Customer { id: ID! @responseCache(policy: "EVENTS") }`).problems).toEqual([
      'Customer.id: only a Query root field takes @responseCache',
    ]);
  });

  it('holds a root field several subgraphs declare to one policy', () => {
    const events = read(`type Query { sync: Int @responseCache(policy: "EVENTS") }`);
    const never = read(`type Query { sync: Int @responseCache(policy: "NEVER", reason: "bookkeeping") }`);
    expect(
      mergeResponseCachePolicies([
        ['a', never],
        ['b', never],
      ]).problems,
    ).toEqual([]);
    expect(
      mergeResponseCachePolicies([
        ['a', never],
        ['b', events],
      ]).problems,
    ).toEqual(['b: Query.sync is EVENTS here, NEVER in another subgraph']);
  });

  it('finds a decision for every root field of the seven subgraphs as they are served', () => {
    for (const domain of DOMAINS)
      expect(readResponseCachePolicy(subgraphSdl(subgraphSchemaPath(domain))).problems, domain).toEqual([]);
    const hub = hubResponseCachePolicy();
    expect(hub.problems).toEqual([]);
    expect(hub.fields.get('sync')?.policy).toBe('NEVER');
    expect(hub.fields.get('contact')?.policy).toBe('NEVER');
    expect(hub.cached).toContain('customers');
  });
});
