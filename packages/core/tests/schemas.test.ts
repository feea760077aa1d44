import { describe, expect, it } from 'vitest';
import { Kind, parse, visit, type ASTNode } from 'graphql';
import { readFileSync } from 'node:fs';
import { DOMAINS } from '../src/domains.js';
import { subgraphSchemaPath } from '../src/subgraph.js';

type Described = ASTNode & { description?: { value: string } | undefined; name: { value: string } };
const DESCRIBED_KINDS = new Set<string>([
  Kind.OBJECT_TYPE_DEFINITION,
  Kind.FIELD_DEFINITION,
  Kind.INPUT_OBJECT_TYPE_DEFINITION,
  Kind.INPUT_VALUE_DEFINITION,
  Kind.ENUM_TYPE_DEFINITION,
  Kind.ENUM_VALUE_DEFINITION,
  Kind.SCALAR_TYPE_DEFINITION,
  Kind.INTERFACE_TYPE_DEFINITION,
  Kind.UNION_TYPE_DEFINITION,
]);

describe.each(DOMAINS)('the %s subgraph schema', (domain) => {
  it('documents every type, field, argument, input field and enum value', () => {
    const undocumented: string[] = [];
    const parents: string[] = [];
    let checked = 0;
    visit(parse(readFileSync(subgraphSchemaPath(domain), 'utf8')), {
      enter(node) {
        if (!DESCRIBED_KINDS.has(node.kind)) return;
        const described = node as Described;
        parents.push(described.name.value);
        checked++;
        if (!described.description?.value.trim()) undocumented.push(parents.join('.'));
      },
      leave(node) {
        if (DESCRIBED_KINDS.has(node.kind)) parents.pop();
      },
    });
    expect(checked).toBeGreaterThan(20);
    expect(undocumented).toEqual([]);
  });

  it('declares the Customer entity by its id', () => {
    const sdl = readFileSync(subgraphSchemaPath(domain), 'utf8');
    expect(sdl).toMatch(/type Customer @key\(fields: "id"\)/);
    expect(sdl).toMatch(/^extend schema @link\(url: "https:\/\/specs\.apollo\.dev\/federation\/v2\.\d+"/m);
  });
});
