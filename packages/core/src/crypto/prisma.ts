/**
 * The Prisma side of encryption at rest: one query extension on a store's client, so loaders,
 * resolvers and seeds read and write plaintext while the columns hold ciphertext. Below every
 * other extension (tenant and viewer scopes wrap this client), it sees the tenant those put in.
 *
 * - writes (create, createMany, update, updateMany, upsert): encrypted fields are encrypted under
 *   the row's tenant (from the data, else the `where`), their blind index set;
 * - reads: encrypted fields of the model's rows, and of rows of encrypted models included through a
 *   relation, are decrypted;
 * - conditions: equality on a field with a blind index (`{ email: x }`, `{ email: { equals: x } }`,
 *   `{ email: { in: [...] } }`) becomes a condition on the index; any other condition, ordering or
 *   grouping on an encrypted field is refused (UNSUPPORTED_QUERY): ciphertext has no order.
 */
import { EncryptionError } from './envelope.js';
import type { Extendable } from '@hub/store/tenant';
import type { FieldCrypto } from './fields.js';
import type { TenantKeys } from './keyring.js';

type Args = Record<string, unknown>;

/** Relation fields per model, from the generated client's runtime data model. */
type Relations = ReadonlyMap<string, ReadonlyMap<string, string>>;

function isRecord(value: unknown): value is Args {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

function relationsOf(client: object): Relations {
  const model = (
    client as {
      _runtimeDataModel?: { models: Record<string, { fields: { name: string; kind: string; type: string }[] }> };
    }
  )._runtimeDataModel;
  if (!model) throw new Error('encryption: the Prisma client has no runtime data model to find relations in');
  return new Map(
    Object.entries(model.models).map(([name, { fields }]) => [
      name,
      new Map(fields.filter((f) => f.kind === 'object').map((f) => [f.name, f.type])),
    ]),
  );
}

/** The tenant a `where` confines to (the tenant scope ANDs `{ tenantId }` in), if any. */
function tenantOfWhere(where: unknown): string | undefined {
  if (!isRecord(where)) return undefined;
  if (typeof where['tenantId'] === 'string') return where['tenantId'];
  const and = where['AND'];
  for (const part of Array.isArray(and) ? and : and === undefined ? [] : [and]) {
    const found = tenantOfWhere(part);
    if (found) return found;
  }
  return undefined;
}

export function encryptingClient<C>(client: C, crypto: FieldCrypto): C {
  const relations = relationsOf(client as object);
  // Models whose rows, or rows reachable through their relations, carry encrypted fields.
  const reaches = (model: string, seen = new Set<string>()): boolean => {
    if (crypto.encrypts(model)) return true;
    if (seen.has(model)) return false;
    seen.add(model);
    return [...(relations.get(model)?.values() ?? [])].some((target) => reaches(target, seen));
  };
  const reaching = new Set([...relations.keys()].filter((model) => reaches(model)));

  async function rewriteWhere(model: string, where: unknown, tenantId: string | undefined): Promise<unknown> {
    if (!isRecord(where)) return where;
    const out: Args = {};
    for (const [key, value] of Object.entries(where)) {
      if (key === 'AND' || key === 'OR' || key === 'NOT') {
        out[key] = Array.isArray(value)
          ? await Promise.all(value.map((part) => rewriteWhere(model, part, tenantId)))
          : await rewriteWhere(model, value, tenantId);
        continue;
      }
      if (!crypto.plan.get(model)?.fields.includes(key)) {
        out[key] = value;
        continue;
      }
      const index = crypto.blindIndexColumn(model, key);
      const equals = typeof value === 'string' ? [value] : isRecord(value) ? equalityOf(value) : undefined;
      if (!index || equals === undefined)
        throw new EncryptionError(
          'UNSUPPORTED_QUERY',
          `${model}.${key} is encrypted: only equality${index ? '' : ' through a blind index (it has none)'} can be looked up`,
        );
      if (!tenantId)
        throw new EncryptionError('TENANT_REQUIRED', `${model}.${key}: a lookup needs the tenant's index key`);
      const hashed = await Promise.all(equals.map((v) => crypto.blindIndex(tenantId, model, key, v)));
      out[index] = typeof value === 'string' || 'equals' in (value as Args) ? hashed[0] : { in: hashed };
    }
    return out;
  }

  function refuseOrdering(model: string, args: Args): void {
    const fields = crypto.plan.get(model)?.fields ?? [];
    const named = (value: unknown): string[] =>
      Array.isArray(value)
        ? value.flatMap(named)
        : isRecord(value)
          ? Object.keys(value)
          : typeof value === 'string'
            ? [value]
            : [];
    for (const key of ['orderBy', 'by', 'distinct', 'cursor'] as const) {
      const hit = named(args[key]).find((name) => fields.includes(name));
      if (hit)
        throw new EncryptionError(
          'UNSUPPORTED_QUERY',
          `${model}.${hit} is encrypted: it cannot be ${key === 'by' ? 'grouped' : 'ordered'} by`,
        );
    }
  }

  async function encodeData(model: string, data: unknown, tenantFromWhere: string | undefined): Promise<unknown> {
    if (Array.isArray(data)) return Promise.all(data.map((row) => encodeData(model, row, tenantFromWhere)));
    if (!isRecord(data)) return data;
    const fields = crypto.plan.get(model)?.fields ?? [];
    if (!fields.some((field) => Object.hasOwn(data, field))) return data;
    const tenantId = typeof data['tenantId'] === 'string' ? data['tenantId'] : tenantFromWhere;
    if (!tenantId)
      throw new EncryptionError('TENANT_REQUIRED', `${model}: an encrypted field is written without a tenant`);
    const keys: TenantKeys = await crypto.writeKeys(tenantId);
    // `{ set: value }` is Prisma's long form of an update.
    const plain: Args = { ...data };
    for (const field of fields) {
      const value = plain[field];
      if (isRecord(value) && 'set' in value) plain[field] = value['set'];
    }
    return crypto.encodeRow(keys, model, plain);
  }

  async function decodeResult(model: string, result: unknown): Promise<void> {
    const rows = Array.isArray(result) ? result : isRecord(result) ? [result] : [];
    const own = rows.filter(isRecord);
    if (own.length === 0) return;
    await crypto.decodeRows(model, own);
    for (const [field, target] of relations.get(model) ?? []) {
      if (!reaching.has(target)) continue;
      const nested = own.flatMap((row) => {
        const value = row[field];
        return Array.isArray(value) ? value : value === undefined || value === null ? [] : [value];
      });
      await decodeResult(target, nested);
    }
  }

  return (client as unknown as Extendable).$extends({
    name: 'hub-encryption',
    query: {
      $allModels: {
        async $allOperations({ model, args, query }) {
          if (!reaching.has(model)) return query(args);
          const scoped: Args = isRecord(args) ? { ...args } : {};
          if (crypto.encrypts(model)) {
            refuseOrdering(model, scoped);
            const tenantId = tenantOfWhere(scoped['where']);
            if (scoped['where'] !== undefined) scoped['where'] = await rewriteWhere(model, scoped['where'], tenantId);
            if (scoped['data'] !== undefined) scoped['data'] = await encodeData(model, scoped['data'], tenantId);
            if (scoped['create'] !== undefined) scoped['create'] = await encodeData(model, scoped['create'], tenantId);
            if (scoped['update'] !== undefined) scoped['update'] = await encodeData(model, scoped['update'], tenantId);
          }
          const result = await query(scoped);
          await decodeResult(model, result);
          return result;
        },
      },
    },
  }) as C;
}

/** The values an equality condition names (`equals`, `in`), or undefined for any other operator. */
function equalityOf(condition: Args): string[] | undefined {
  const keys = Object.keys(condition).filter((k) => k !== 'mode');
  if (keys.length !== 1) return undefined;
  const equals = condition['equals'];
  if (keys[0] === 'equals' && typeof equals === 'string') return [equals];
  const list = condition['in'];
  if (keys[0] === 'in' && Array.isArray(list) && list.every((v) => typeof v === 'string')) return list as string[];
  return undefined;
}
