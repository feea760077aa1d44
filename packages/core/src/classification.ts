/**
 * Data classification of every field of the graph (issue 11, item 2), declared once next to the
 * schema with the `@classification` directive (packages/core/src/graphql/common.graphql):
 *
 *   type Contact @classification(level: "INTERNAL") {       # default of the fields this block declares
 *     email: String! @classification(level: "PII", mask: "EMAIL")   # a field's own level wins
 *   }
 *
 * A type-level directive is the default of the fields declared in that block only (a type's
 * extensions carry their own), so adding a field to a block states its level there and a field in
 * a block without one is unclassified. An unclassified field fails closed twice: the subgraph kit
 * refuses to start (`applyAuthorization` asserts it) and `npm run codegen:check` (which the test
 * pipeline runs first) fails with the list.
 *
 * What derives from it: the field masks (a PII output field names its mask; every viewer without a
 * PII role over the row gets the masked value), the partner-grant rule (a partner never reads PII,
 * whatever its grant names; `createApiKey` refuses a grant naming it), and the README's list
 * (`npm run codegen:check -- --write` regenerates it).
 *
 * Levels, from least to most sensitive:
 * - PUBLIC: structure with no customer data (page info, cursors' shape);
 * - INTERNAL: business data any role the matrix lets read the domain may see;
 * - CONFIDENTIAL: sensitive business data or free text that may carry personal data (credentials'
 *   metadata, contact names, ticket text, raw sync payloads in admin records);
 * - PII: personal data that identifies and reaches a person: masked, never granted to partners.
 *
 * This module reads AST nodes only (plain data), so the codegen loaders (scripts/*.mjs) and the
 * gateway, which hold other graphql-js instances, can use it too.
 */
import {
  Kind,
  parse,
  visit,
  type ConstDirectiveNode,
  type DocumentNode,
  type FieldDefinitionNode,
  type GraphQLSchema,
  type InputValueDefinitionNode,
} from 'graphql';

export const DATA_CLASSES = ['PUBLIC', 'INTERNAL', 'CONFIDENTIAL', 'PII'] as const;
export type DataClass = (typeof DATA_CLASSES)[number];

export function maskEmail(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const [local = '', domain = ''] = value.split('@');
  return `${local.slice(0, 1)}***@${domain}`;
}

export function maskPhone(value: unknown): unknown {
  return typeof value === 'string' ? `***${value.replace(/\D/g, '').slice(-2)}` : value;
}

/** The masks a PII output field may name. */
export const MASKS = {
  EMAIL: maskEmail,
  PHONE: maskPhone,
  REDACT: (value: unknown): unknown => (typeof value === 'string' ? '***' : value === undefined ? value : null),
} as const satisfies Record<string, (value: unknown) => unknown>;
export type MaskName = keyof typeof MASKS;

export interface FieldClass {
  readonly level: DataClass;
  /** Output PII fields only. */
  readonly mask?: MaskName;
}

export interface Classification {
  /** `Type.field` -> its class, for every classified field of object, interface and input types. */
  readonly fields: ReadonlyMap<string, FieldClass>;
  /** Fields without a level, with the reason in `problems`. */
  readonly problems: readonly string[];
}

const DIRECTIVE = 'classification';

/** Fields the federation machinery adds to every subgraph; they carry no domain data. */
const FEDERATION_FIELDS = new Set(['Query._entities', 'Query._service', '_Service.sdl']);

type Block = {
  kind: Kind;
  name: { value: string };
  directives?: readonly ConstDirectiveNode[] | undefined;
  fields?: readonly (FieldDefinitionNode | InputValueDefinitionNode)[] | undefined;
};

const CLASSIFIED_KINDS = new Set<Kind>([
  Kind.OBJECT_TYPE_DEFINITION,
  Kind.OBJECT_TYPE_EXTENSION,
  Kind.INTERFACE_TYPE_DEFINITION,
  Kind.INTERFACE_TYPE_EXTENSION,
  Kind.INPUT_OBJECT_TYPE_DEFINITION,
  Kind.INPUT_OBJECT_TYPE_EXTENSION,
]);
const INPUT_KINDS = new Set<Kind>([Kind.INPUT_OBJECT_TYPE_DEFINITION, Kind.INPUT_OBJECT_TYPE_EXTENSION]);

function argument(directive: ConstDirectiveNode, name: string): string | undefined {
  const arg = directive.arguments?.find((a) => a.name.value === name);
  return arg?.value.kind === Kind.STRING ? arg.value.value : undefined;
}

/** One `@classification` of a type block or field, checked; `undefined` when absent. */
function readDirective(
  where: string,
  directives: readonly ConstDirectiveNode[] | undefined,
  problems: string[],
): { level?: string; mask?: string } | undefined {
  const found = directives?.filter((d) => d.name.value === DIRECTIVE) ?? [];
  if (found.length > 1) problems.push(`${where}: more than one @classification`);
  const [directive] = found;
  if (!directive) return undefined;
  const level = argument(directive, 'level');
  const mask = argument(directive, 'mask');
  if (level === undefined || !(DATA_CLASSES as readonly string[]).includes(level))
    problems.push(`${where}: level must be one of ${DATA_CLASSES.join(', ')}, got ${JSON.stringify(level)}`);
  if (mask !== undefined && !Object.hasOwn(MASKS, mask))
    problems.push(`${where}: mask must be one of ${Object.keys(MASKS).join(', ')}, got ${JSON.stringify(mask)}`);
  return { ...(level === undefined ? {} : { level }), ...(mask === undefined ? {} : { mask }) };
}

function classifyBlocks(blocks: Iterable<Block>): Classification {
  const fields = new Map<string, FieldClass>();
  const problems: string[] = [];
  for (const block of blocks) {
    if (!CLASSIFIED_KINDS.has(block.kind)) continue;
    const typeName = block.name.value;
    if (typeName.startsWith('__')) continue;
    const isInput = INPUT_KINDS.has(block.kind);
    const typeDefault = readDirective(typeName, block.directives, problems);
    if (typeDefault?.mask !== undefined) problems.push(`${typeName}: a mask belongs on a PII field, not on a type`);
    for (const field of block.fields ?? []) {
      const coordinate = `${typeName}.${field.name.value}`;
      if (FEDERATION_FIELDS.has(coordinate)) continue;
      const own = readDirective(coordinate, field.directives, problems);
      const level = (own?.level ?? typeDefault?.level) as DataClass | undefined;
      if (level === undefined) {
        if (own === undefined) problems.push(`${coordinate}: no @classification on the field or its type block`);
        continue;
      }
      const mask = own?.mask as MaskName | undefined;
      if (level === 'PII' && !isInput && mask === undefined)
        problems.push(`${coordinate}: a PII output field names its mask (${Object.keys(MASKS).join(', ')})`);
      if (mask !== undefined && (level !== 'PII' || isInput))
        problems.push(`${coordinate}: only a PII output field takes a mask`);
      const previous = fields.get(coordinate);
      if (previous && previous.level !== level)
        problems.push(`${coordinate}: classified both ${previous.level} and ${level}`);
      fields.set(coordinate, mask === undefined ? { level } : { level, mask });
    }
  }
  return { fields, problems };
}

/** The classification an SDL document declares (a subgraph's full SDL, or the gateway's live SDL). */
export function classifyDocument(document: DocumentNode | string): Classification {
  const doc = typeof document === 'string' ? parse(document) : document;
  return classifyBlocks(doc.definitions as readonly Block[]);
}

/**
 * The classification of a built schema, from the AST nodes it was built from (every block of every
 * type: its definition and its extensions). A field the SDL did not declare (federation's) is skipped.
 */
export function classifySchema(schema: GraphQLSchema): Classification {
  const blocks: Block[] = [];
  for (const type of Object.values(schema.getTypeMap())) {
    const nodes = [type.astNode, ...(type.extensionASTNodes ?? [])];
    for (const node of nodes) if (node) blocks.push(node as unknown as Block);
  }
  return classifyBlocks(blocks);
}

/** Throws, listing every problem, unless each field of `schema` is classified. */
export function assertClassified(name: string, classification: Classification): void {
  if (classification.problems.length === 0) return;
  throw new Error(
    `${name}: every field needs a data classification (@classification, packages/core/src/classification.ts):\n  ${classification.problems.join('\n  ')}`,
  );
}

/**
 * `document` without its `@classification` directives: for a schema that serves the graph (the
 * gateway's API schema extended with its live SDL), where the directive is metadata, not API.
 */
export function withoutClassification(document: DocumentNode): DocumentNode {
  return visit(document, {
    Directive: (node) => (node.name.value === DIRECTIVE ? null : undefined),
    DirectiveDefinition: (node) => (node.name.value === DIRECTIVE ? null : undefined),
  });
}

/** True when `coordinate` (`Type.field`) is personal data in `classification`. */
export function isPii(classification: Classification, coordinate: string): boolean {
  return classification.fields.get(coordinate)?.level === 'PII';
}

/**
 * The field names classified PII anywhere in `classification` (`email`, `phone`), each with the mask
 * a PII output field of that name names (`REDACT` when none does). The rule for values known only by
 * a field name, not by their type: the audit's unclassified columns (audit.ts) and the PII inside the
 * sync bookkeeping's JSON (crypto/bookkeeping.ts), both failing closed on the name.
 */
export function piiNames(classification: Classification): ReadonlyMap<string, MaskName> {
  const names = new Map<string, MaskName>();
  for (const [coordinate, { level, mask }] of classification.fields) {
    if (level !== 'PII') continue;
    const name = coordinate.slice(coordinate.indexOf('.') + 1);
    // An output field's own mask wins over an input field's (which has none).
    if (mask !== undefined && (names.get(name) ?? 'REDACT') === 'REDACT') names.set(name, mask);
    else if (!names.has(name)) names.set(name, 'REDACT');
  }
  return names;
}
