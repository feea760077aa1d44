import { Readable } from 'node:stream';
import fc from 'fast-check';
import { buildSchema } from 'graphql';
import { describe, expect, it } from 'vitest';
import { camelKey, parseLine, snakeKey, syncApiOf, type SyncApi } from '../src/sync/events.js';
import { splitLines, type RawLine } from '../src/sync/lines.js';
import { BRIEF_USAGE_ANALYTICS, BRIEF_USAGE_ANALYTICS_EVENT, PRODUCT_SYNC_SDL } from './syncFixtures.js';

async function collect(chunks: (string | Buffer)[], maxLineBytes?: number, firstLine?: number): Promise<RawLine[]> {
  const out: RawLine[] = [];
  for await (const line of splitLines(Readable.from(chunks), { maxLineBytes, firstLine })) out.push(line);
  return out;
}

describe('NDJSON line splitting', () => {
  it('yields the same lines however the bytes are chunked, CRLF or LF, numbering blank lines without yielding them', async () => {
    const text = 'a\r\n{"é":1}\n\n  \nlast';
    const expected = [
      { number: 1, text: 'a', end: 3 },
      { number: 2, text: '{"é":1}', end: 12 },
      { number: 5, text: 'last', end: 20 },
    ];
    const bytes = Buffer.from(text);
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.integer({ min: 1, max: bytes.length - 1 }), { maxLength: 8 }),
        async (cuts) => {
          const points = [0, ...cuts.sort((a, b) => a - b), bytes.length];
          const chunks = points.slice(1).map((end, i) => bytes.subarray(points[i], end));
          expect(await collect(chunks)).toEqual(expected);
        },
      ),
    );
  });

  it('reports a line over the limit as too long without holding it, and goes on with the next line', async () => {
    const long = 'x'.repeat(5000);
    const lines = await collect(['{"a":1}\n', long.slice(0, 2500), long.slice(2500), '\n{"b":2}\n'], 1024);
    expect(lines).toEqual([
      { number: 1, text: '{"a":1}', end: 8 },
      { number: 2, tooLong: true, end: 8 + 5001 },
      { number: 3, text: '{"b":2}', end: 8 + 5001 + 8 },
    ]);
    expect(await collect([long], 1024)).toEqual([{ number: 1, tooLong: true, end: 5000 }]);
    // Exactly at the limit is accepted.
    expect(await collect(['y'.repeat(1024), '\n'], 1024)).toMatchObject([{ number: 1, end: 1025 }]);
  });

  it('numbers from firstLine and flags invalid UTF-8', async () => {
    const lines = await collect([Buffer.from([0x7b, 0xff, 0x7d, 0x0a]), '{}\n'], undefined, 41);
    expect(lines).toEqual([
      { number: 41, invalidUtf8: true, end: 4 },
      { number: 42, text: '{}', end: 7 },
    ]);
  });
});

describe('snake_case keys to GraphQL names', () => {
  it.each([
    ['sync_timestamp', 'syncTimestamp'],
    ['usage_analytics_sync', 'usageAnalyticsSync'],
    ['30_day_change', '_30DayChange'],
    ['customerId', 'customerId'],
    ['roi_achievement', 'roiAchievement'],
  ])('%s -> %s and back', (snake, camel) => {
    expect(camelKey(snake)).toBe(camel);
    if (snake !== camel) expect(snakeKey(camel)).toBe(snake);
  });
});

describe('one NDJSON line -> one sync event, checked against the schema', () => {
  const api = syncApiOf(buildSchema(PRODUCT_SYNC_SDL), 'product') as SyncApi;
  const defaults = { maxLineBytes: 1024 * 1024 };
  const parse = (text: string, source?: string) =>
    parseLine(api, { number: 7, text, end: text.length + 1 }, { ...defaults, source });

  it('reads the sync API from the schema: mutation, event type, kinds by their brief names', () => {
    expect(api.mutation).toBe('syncProduct');
    expect(api.eventType.name).toBe('ProductSyncEventInput');
    expect([...api.kinds]).toEqual([['usageAnalyticsSync', 'usage_analytics_sync']]);
    expect(syncApiOf(buildSchema(PRODUCT_SYNC_SDL), 'sales')).toBeUndefined();
    expect(syncApiOf(buildSchema(PRODUCT_SYNC_SDL), 'nope')).toBeUndefined();
  });

  it("converts the brief's usage analytics example: camelCase keys, feature maps to lists keyed by name, enum case", () => {
    const parsed = parse(JSON.stringify(BRIEF_USAGE_ANALYTICS));
    expect(parsed).toEqual({ ok: true, line: 7, event: { ...BRIEF_USAGE_ANALYTICS_EVENT, line: 7 } });
  });

  it("takes a list item's only required String field as its key when it has no name/key/id (product's `feature`)", () => {
    const sdl = PRODUCT_SYNC_SDL.replace('name: String!', 'feature: String!\n    label: String');
    const byFeature = syncApiOf(buildSchema(sdl), 'product') as SyncApi;
    const parsed = parseLine(byFeature, { number: 1, text: JSON.stringify(BRIEF_USAGE_ANALYTICS), end: 0 }, defaults);
    expect(parsed.ok && parsed.event).toMatchObject({
      usageAnalyticsSync: {
        featureUsage: {
          coreFeatures: [
            { feature: 'email_campaigns', usageCount: 45 },
            { feature: 'analytics_dashboard', usageCount: 23 },
          ],
        },
      },
    });
  });

  it('keeps the idempotency key and source of the line; ?source= only fills a missing source', () => {
    const line = { idempotency_key: 'k-1', source: 'amplitude', ...BRIEF_USAGE_ANALYTICS };
    expect(parse(JSON.stringify(line), 'mixpanel')).toMatchObject({
      ok: true,
      event: { idempotencyKey: 'k-1', source: 'amplitude' },
    });
    expect(parse(JSON.stringify(BRIEF_USAGE_ANALYTICS), 'mixpanel')).toMatchObject({
      ok: true,
      event: { source: 'mixpanel' },
    });
  });

  const usage = BRIEF_USAGE_ANALYTICS.usage_analytics_sync;
  const withUsage = (patch: Record<string, unknown>) =>
    JSON.stringify({ idempotency_key: 'k-2', usage_analytics_sync: { ...usage, ...patch } });
  it.each([
    ['not JSON', '{"usage_analytics_sync": ', null, /not valid JSON/],
    ['not an object', '[1,2]', null, /JSON object/],
    [
      'unknown kind',
      '{"billing_sync": {}}',
      'billing_sync',
      /unknown payload kind "billing_sync".*usage_analytics_sync/,
    ],
    ['no payload', '{"idempotency_key": "k"}', null, /no payload/],
    ['two payloads', JSON.stringify({ ...BRIEF_USAGE_ANALYTICS, billing_sync: {} }), 'billing_sync', /unknown/],
    ['a wrong type', withUsage({ usage_period: 5 }), 'usagePeriod', /String/],
    ['an invalid DateTime', withUsage({ sync_timestamp: 'yesterday' }), 'syncTimestamp', /ISO-8601/],
    ['a missing required field', withUsage({ customer_id: undefined }), 'customerId', /required/],
    ['an unknown field', withUsage({ colour: 'red' }), 'colour', /not defined/],
    [
      'a wrong type inside a feature map',
      withUsage({
        feature_usage: {
          core_features: { email_campaigns: { usage_count: 'many', adoption_score: 1, success_correlation: 1 } },
        },
      }),
      'featureUsage.coreFeatures.email_campaigns.usageCount',
      /Int/,
    ],
    [
      'an unknown enum value',
      withUsage({ adoption_metrics: { ...usage.adoption_metrics, maturity_level: 'guru' } }),
      'adoptionMetrics.maturityLevel',
      /MaturityLevel/,
    ],
    ['a NUL byte', withUsage({ usage_period: 'a\u0000b' }), 'usagePeriod', /NUL/],
  ])('rejects %s with the field at fault', (_name, text, field, reason) => {
    const parsed = parse(text);
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed).toMatchObject({ line: 7, code: 'BAD_USER_INPUT', field });
    expect(parsed.reason).toMatch(reason);
    expect(parsed.reason).not.toMatch(/Did you mean/);
    if (text.includes('"k-2"')) expect(parsed.idempotencyKey).toBe('k-2');
  });

  it('rejects over-long and non-UTF-8 lines', () => {
    expect(parseLine(api, { number: 3, tooLong: true, end: 0 }, defaults)).toMatchObject({
      ok: false,
      line: 3,
      reason: 'the line is longer than 1048576 bytes',
    });
    expect(parseLine(api, { number: 4, invalidUtf8: true, end: 0 }, defaults)).toMatchObject({ ok: false, line: 4 });
  });
});
