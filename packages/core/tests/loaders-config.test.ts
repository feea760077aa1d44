import { describe, expect, it } from 'vitest';
import { groupedLoader, keyedLoader } from '../src/loaders.js';
import { ConfigError, EnvReader, readMasterKeys } from '../src/config.js';
import { DEV_MASTER_KEY, masterKeyId } from '../src/crypto/envelope.js';
import { demoCustomers, demoRandom } from '../src/demo.js';
import { statementTable } from '../src/metrics.js';

describe('loaders', () => {
  it('batch all keys of one tick into one fetch and keep key order', async () => {
    const calls: (readonly string[])[] = [];
    const loader = keyedLoader(
      async (keys: readonly string[]) => {
        calls.push(keys);
        return keys
          .filter((k) => k !== 'missing')
          .map((id) => ({ id }))
          .reverse();
      },
      (row) => row.id,
    );
    const results = await Promise.all(['a', 'b', 'missing', 'a'].map((k) => loader.load(k)));
    expect(results).toEqual([{ id: 'a' }, { id: 'b' }, null, { id: 'a' }]);
    expect(calls).toEqual([['a', 'b', 'missing']]);
  });

  it('group rows per key, with object keys', async () => {
    let fetches = 0;
    const loader = groupedLoader(
      async (keys: readonly { c: string; p: string }[]) => {
        fetches++;
        return keys.flatMap((k) =>
          k.c === 'x'
            ? [
                { ...k, n: 1 },
                { ...k, n: 2 },
              ]
            : [],
        );
      },
      (row) => ({ c: row.c, p: row.p }),
    );
    const [x, y] = await Promise.all([loader.load({ c: 'x', p: '2025-11' }), loader.load({ c: 'y', p: '2025-11' })]);
    expect(x).toHaveLength(2);
    expect(y).toEqual([]);
    expect(fetches).toBe(1);
  });
});

describe('config', () => {
  it('reports every problem at once', () => {
    const read = new EnvReader({ PORT: 'abc', FLAG: 'maybe' });
    read.int('PORT', 1);
    read.bool('FLAG', false);
    read.string('REQUIRED');
    expect(() => read.done({})).toThrow(ConfigError);
    expect(read.problems).toHaveLength(3);
  });

  it('master keys: base64 of 32 bytes, the dev key only outside production, a malformed one refused', () => {
    const key = Buffer.alloc(32, 7);
    const problems = (env: Record<string, string>, production: boolean) => {
      const read = new EnvReader(env);
      const keys = readMasterKeys(read, production);
      return { problems: read.problems, keys };
    };
    const given = problems(
      { HUB_MASTER_KEY: key.toString('base64'), HUB_MASTER_KEY_PREVIOUS: DEV_MASTER_KEY.key.toString('base64') },
      false,
    );
    expect(given.problems).toEqual([]);
    expect(given.keys.currentId).toBe(masterKeyId(key));
    expect(given.keys.ids).toEqual([masterKeyId(key), DEV_MASTER_KEY.id]);
    // The dev key is public: production refuses it even as the previous key.
    expect(
      problems(
        { HUB_MASTER_KEY: key.toString('base64'), HUB_MASTER_KEY_PREVIOUS: DEV_MASTER_KEY.key.toString('base64') },
        true,
      ).problems,
    ).toEqual(['HUB_MASTER_KEY_PREVIOUS is the development key']);
    expect(problems({}, false)).toMatchObject({ problems: [], keys: { currentId: DEV_MASTER_KEY.id } });
    expect(problems({}, true).problems).toEqual([expect.stringContaining('HUB_MASTER_KEY is required in production')]);
    expect(problems({ HUB_MASTER_KEY: DEV_MASTER_KEY.key.toString('base64') }, true).problems).toEqual([
      'HUB_MASTER_KEY is the development key',
    ]);
    for (const bad of ['not base64!', Buffer.alloc(16).toString('base64'), Buffer.alloc(33).toString('base64')])
      expect(problems({ HUB_MASTER_KEY: bad }, false).problems).toEqual([
        expect.stringContaining('MASTER_KEY_INVALID: HUB_MASTER_KEY must be base64 of 32 random bytes'),
      ]);
  });
});

describe('demo roster and metrics helpers', () => {
  it('is deterministic: 2 tenants, 500 customers, stable values', () => {
    const customers = demoCustomers();
    expect(customers).toHaveLength(500);
    expect(new Set(customers.map((c) => c.tenantId))).toEqual(new Set(['acme', 'globex']));
    expect(demoRandom('sales:cust_00001').next()).toBe(demoRandom('sales:cust_00001').next());
  });

  it('finds the table of a Prisma statement', () => {
    expect(statementTable('SELECT "public"."Customer"."id" FROM "public"."Customer" WHERE 1=1')).toBe('Customer');
    expect(statementTable('INSERT INTO "sales"."ExpansionOpportunity" ("id") VALUES ($1)')).toBe(
      'ExpansionOpportunity',
    );
  });
});
