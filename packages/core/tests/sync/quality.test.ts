import { describe, expect, it } from 'vitest';
import { decideField } from '../../src/sync/conflicts.js';
import { completeness, passed, qualityScore, timeliness, valueAt } from '../../src/sync/quality.js';

const H = 3_600_000;
const arrival = new Date('2026-11-20T12:00:00.000Z');
const ago = (ms: number) => new Date(arrival.getTime() - ms);

describe('quality scoring', () => {
  it.each([
    [{ a: 1, b: 2, c: 3, d: 4 }, 1],
    [{ a: 1, b: 2, c: 3 }, 0.8],
    [{ a: 1, c: 3, d: null }, 0.5],
    [{ a: 1, b: '  ', c: 3, d: 4 }, 0.7],
    [{ b: 2 }, 0.3],
    [{}, 0],
  ])('completeness of %j with required a, b and optional c, d is %d', (payload, expected) => {
    expect(completeness(payload, ['a', 'b'], ['c', 'd'])).toBeCloseTo(expected, 4);
  });

  it('reads dotted paths and counts an empty list as present, an empty rule list as complete', () => {
    expect(valueAt({ x: { y: { z: 5 } } }, 'x.y.z')).toBe(5);
    expect(valueAt({ x: 1 }, 'x.y')).toBeUndefined();
    expect(completeness({ risks: [] }, ['risks'], [])).toBe(1);
    expect(completeness({}, [], [])).toBe(1);
  });

  it.each([
    [0, 1],
    [H, 1],
    [H + 1, 1],
    [(7 * 24 * H + H) / 2, 0.5],
    [7 * 24 * H, 0],
    [30 * 24 * H, 0],
    [-2 * 60_000, 1],
  ])('timeliness %d ms after the source time is %d', (age, expected) => {
    expect(timeliness(ago(age), arrival)).toBeCloseTo(expected, 3);
  });

  it('validity and consistency are the share of checks passed (1 without checks); the score weighs them', () => {
    expect(passed([])).toBe(1);
    expect(
      passed([
        { field: 'a', ok: true },
        { field: 'b', ok: false },
        { field: 'c', ok: true },
      ]),
    ).toBeCloseTo(0.6667, 4);
    expect(qualityScore({ validity: 1, completeness: 1, consistency: 1, timeliness: 1 }).score).toBe(1);
    expect(qualityScore({ validity: 1, completeness: 0, consistency: 0, timeliness: 0 }).score).toBe(0.35);
    expect(qualityScore({ validity: 0, completeness: 1, consistency: 0, timeliness: 0 }).score).toBe(0.25);
    expect(qualityScore({ validity: 0, completeness: 0, consistency: 1, timeliness: 0 }).score).toBe(0.25);
    expect(qualityScore({ validity: 0, completeness: 0, consistency: 0, timeliness: 1 }).score).toBe(0.15);
    expect(qualityScore({ validity: 0.5, completeness: 0.8, consistency: 1, timeliness: 0.5 }).score).toBeCloseTo(
      0.7,
      4,
    );
  });
});

describe('the conflict rule', () => {
  const t = (h: number) => h * H;
  // Every combination of owner / non-owner on each side and older / tie / newer incoming time.
  const cases = [
    // owners, incoming source, stored source, incoming time, stored time -> winner, rule
    [undefined, 'crm', 'erp', t(2), t(1), 'INCOMING', 'LATEST_SOURCE_TIME'],
    [undefined, 'crm', 'erp', t(1), t(2), 'STORED', 'LATEST_SOURCE_TIME'],
    [undefined, 'crm', 'erp', t(1), t(1), 'STORED', 'TIE_KEEPS_STORED'],
    [['erp'], 'erp', 'crm', t(1), t(2), 'INCOMING', 'SYSTEM_OF_RECORD'],
    [['erp'], 'crm', 'erp', t(3), t(2), 'STORED', 'SYSTEM_OF_RECORD'],
    [['erp'], 'erp', 'erp', t(1), t(2), 'STORED', 'LATEST_SOURCE_TIME'],
    [['erp'], 'erp', 'erp', t(3), t(2), 'INCOMING', 'LATEST_SOURCE_TIME'],
    [['erp'], 'crm', 'web', t(3), t(2), 'INCOMING', 'LATEST_SOURCE_TIME'],
    [['erp'], 'override:admin:u1', 'erp', t(0), t(2), 'INCOMING', 'OVERRIDE'],
    // A stored override gives way to time only, not to the owner.
    [['erp'], 'erp', 'override:admin:u1', t(1), t(2), 'STORED', 'LATEST_SOURCE_TIME'],
    [['erp'], 'erp', 'override:admin:u1', t(3), t(2), 'INCOMING', 'LATEST_SOURCE_TIME'],
    // A stored value without a time (no provenance) gives way.
    [undefined, 'crm', null, t(0), null, 'INCOMING', 'LATEST_SOURCE_TIME'],
  ] as const;
  it.each(cases)(
    'owners %j, incoming %s vs stored %s (%d vs %d): %s by %s',
    (owners, s, storedS, ti, ts, winner, rule) => {
      expect(decideField(owners, { s, t: ti }, { s: storedS, t: ts })).toEqual({ winner, rule });
    },
  );
});
