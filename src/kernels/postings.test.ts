import { testIf } from '../../test/helpers/requires';
import { loadAddon, nativeAvailable } from './addon';
import { PostingTable } from './postings';

// The batched probe (native kernel) against the one-key-at-a-time TS lookup it replaces: the same hits, in the same
// order, with and without the filter, with a stop-word cap, and for keys that are absent.

/** A deterministic 32-bit generator (xorshift), so a failure replays. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return s >>> 0;
  };
}

function table(n: number, distinct: number, filter: boolean, seed: number): { t: PostingTable; key: Uint32Array } {
  const r = rng(seed);
  const pool = Uint32Array.from({ length: distinct }, r);
  const key = new Uint32Array(n), entry = new Uint32Array(n), frame = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    key[i] = pool[r() % distinct]!;
    entry[i] = r() % 1000;
    frame[i] = i;
  }
  return { t: new PostingTable({ key, entry, frame, n }, { filter }), key };
}

function probesFor(key: Uint32Array, count: number, seed: number): Uint32Array {
  const r = rng(seed);
  // Half present keys, half random (nearly all absent).
  return Uint32Array.from({ length: count }, (_, i) => (i % 2 ? key[r() % key.length]! : r()));
}

function oneByOne(t: PostingTable, probes: Uint32Array, count: number, cap: number): number[] {
  const out: number[] = [];
  for (let k = 0; k < count; k++) t.forEach(probes[k]!, (e, f) => out.push(k, e, f), cap);
  return out;
}

function batched(t: PostingTable, probes: Uint32Array, count: number, cap: number): number[] {
  const out: number[] = [];
  t.forEachOf(probes, count, (e, f, k) => out.push(k, e, f), cap);
  return out;
}

describe('PostingTable.forEachOf', () => {
  const cases: [string, number, number, boolean, number][] = [
    ['filtered, many distinct keys', 50_000, 40_000, true, Infinity],
    ['unfiltered, repeated keys, stop-word cap', 20_000, 3_000, false, 8],
    ['filtered, heavy repeats, cap', 30_000, 500, true, 64],
  ];
  test.each(cases)('%s: same hits as one key at a time', (_name, n, distinct, filter, cap) => {
    const { t, key } = table(n, distinct, filter, n + distinct);
    const probes = probesFor(key, 5_000, 7);
    const want = oneByOne(t, probes, 4_000, cap);
    expect(want.length).toBeGreaterThan(0);
    expect(batched(t, probes, 4_000, cap)).toEqual(want);
  });

  test('more hits than the reused buffer holds: all of them come back', () => {
    const { t, key } = table(10_000, 50, false, 3);
    const probes = probesFor(key, 600, 5);
    const want = oneByOne(t, probes, 600, Infinity);
    expect(want.length / 3).toBeGreaterThan(4096);
    expect(batched(t, probes, 600, Infinity)).toEqual(want);
  });

  test('an empty table and an empty batch give no hits', () => {
    const t = new PostingTable({ key: new Uint32Array(0), entry: new Uint32Array(0), frame: new Uint32Array(0), n: 0 }, { filter: true });
    expect(batched(t, Uint32Array.of(1, 2, 3), 3, Infinity)).toEqual([]);
    const { t: full } = table(100, 50, true, 9);
    expect(batched(full, new Uint32Array(0), 0, Infinity)).toEqual([]);
  });

  testIf(nativeAvailable(), 'the native addon', 'native')('the native kernel refuses a table whose parts do not fit together', () => {
    const a = loadAddon()!;
    const u = (n: number): Uint32Array => new Uint32Array(n);
    // offsets must have 2^(32 - shift) + 1 entries; entry and frame as many as keys; count within probes.
    expect(() => a.probePostings!(u(0), 0, u(10), 28, u(4), u(4), u(4), u(4), 4, 64, u(30))).toThrow(/inconsistent table|too short/);
    expect(() => a.probePostings!(u(0), 0, u(17), 28, u(4), u(2), u(4), u(4), 4, 64, u(30))).toThrow(/inconsistent table|too short/);
    expect(() => a.probePostings!(u(0), 0, u(17), 28, u(4), u(4), u(4), u(4), 9, 64, u(30))).toThrow(/inconsistent table|too short/);
    expect(() => a.probePostings!(u(32), 100, u(17), 28, u(4), u(4), u(4), u(4), 4, 64, u(30))).toThrow(/inconsistent table|too short/);
    // Offsets that point past the postings are clamped, not followed.
    const off = u(17).fill(1000);
    off[0] = 0;
    expect(a.probePostings!(u(0), 0, off, 28, u(4), u(4), u(4), u(4), 4, 2 ** 32 - 1, u(30))).toBeGreaterThanOrEqual(0);
  });
});
