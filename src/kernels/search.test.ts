import { topK, type TopK } from './search';
import { nearVector, rng, unitVector } from '../../test/helpers/vectors';
import { nativeAvailable, nativeInfo } from './addon';
import { quantizeGallery, searchTopK, searchTopKInt8 } from './search';
import { quantizeRowsTs, topKInt8Ts } from './search';
import { withoutNative } from '../../test/helpers/native';

// Native gallery search vs the TS references: float32 vs `topK` (src/kernels/search.ts), int8 vs its TS twin
// (bit-identical integer arithmetic), and the recall of int8 against exact float32 results.

const native = nativeAvailable();
const itNative = native ? it : it.skip;
const nativeNote = native ? '' : ' (skipped: native addon not built, only the TS fallback is tested)';
if (!native) console.warn(`native search tests skipped: ${nativeInfo().reason}`);

function pack(vs: Float32Array[]): Float32Array {
  const dim = vs[0]?.length ?? 0;
  const out = new Float32Array(vs.length * dim);
  vs.forEach((v, i) => out.set(v, i * dim));
  return out;
}

/** Clustered "identities": `ids` centres with `per` templates each near it; queries near some centres. */
function clustered(seed: number, ids: number, per: number, dim: number, queries: number): { gallery: Float32Array; queries: Float32Array } {
  const r = rng(seed);
  const centres = Array.from({ length: ids }, () => unitVector(r, dim));
  const rows: Float32Array[] = [];
  for (let i = 0; i < ids; i++) for (let j = 0; j < per; j++) rows.push(nearVector(r, centres[i]!, 0.8));
  const q = Array.from({ length: queries }, (_, i) => nearVector(r, centres[(i * 7) % ids]!, 0.8));
  return { gallery: pack(rows), queries: pack(q) };
}

/** Same indices, except where neighbouring scores tie within float32 rounding (order may then differ). */
function expectSameTopK(got: TopK, ref: TopK, tol: number): void {
  expect(got.k).toBe(ref.k);
  expect(got.indices.length).toBe(ref.indices.length);
  for (let i = 0; i < ref.indices.length; i++) {
    expect(Math.abs(got.scores[i]! - ref.scores[i]!)).toBeLessThan(tol);
    if (got.indices[i] !== ref.indices[i]) {
      const q = Math.floor(i / ref.k);
      const row = Array.from(ref.indices.subarray(q * ref.k, (q + 1) * ref.k));
      expect(row).toContain(got.indices[i]); // a near-tie swapped places, nothing new came in
    }
  }
}

describe(`native gallery search${nativeNote}`, () => {
  itNative('float32, random unit rows, odd sizes and k: the same top-k as the TS loop', async () => {
    const r = rng(11);
    for (const [n, dim, m, k] of [[1000, 512, 7, 10], [333, 37, 4, 5], [5, 16, 3, 10], [2048, 128, 1, 1]] as const) {
      const g = pack(Array.from({ length: n }, () => unitVector(r, dim)));
      const q = pack(Array.from({ length: m }, () => unitVector(r, dim)));
      const ref = topK(g, dim, q, k);
      const got = await searchTopK(g, dim, q, k);
      expectSameTopK(got, ref, 1e-5);
      expect(got.k).toBe(Math.min(k, n));
    }
  });

  itNative('float32, clustered (realistic) templates with exact duplicates: ties keep the lower index', async () => {
    const { gallery, queries } = clustered(12, 300, 5, 512, 9);
    const dup = new Float32Array(gallery.length + 512 * 2);
    dup.set(gallery);
    dup.set(gallery.subarray(0, 512), gallery.length); // row 1500 duplicates row 0
    dup.set(gallery.subarray(0, 512), gallery.length + 512);
    const q = new Float32Array(queries);
    q.set(gallery.subarray(0, 512), 0); // query 0 is row 0 itself: rows 0, 1500, 1501 tie exactly
    const ref = topK(dup, 512, q, 10);
    const got = await searchTopK(dup, 512, q, 10);
    expectSameTopK(got, ref, 1e-5);
    expect(Array.from(got.indices.subarray(0, 3))).toEqual([0, 1500, 1501]);
  });

  itNative('int8: quantisation and search are identical to the TS twin', async () => {
    const { gallery, queries } = clustered(13, 200, 5, 96, 6);
    const g8 = await quantizeGallery(gallery, 96);
    const ts8 = quantizeRowsTs(gallery, 96);
    expect(Array.from(g8.data)).toEqual(Array.from(ts8.data));
    expect(Array.from(g8.scales)).toEqual(Array.from(ts8.scales));
    const ref = topKInt8Ts(ts8, queries, 10);
    const got = await searchTopKInt8(g8, queries, 10);
    expect(Array.from(got.indices)).toEqual(Array.from(ref.indices));
    expect(Array.from(got.scores)).toEqual(Array.from(ref.scores));
  });

  itNative('int8 recall@10 against exact float32 results is high on clustered templates', async () => {
    const { gallery, queries } = clustered(14, 400, 10, 256, 16);
    const exact = await searchTopK(gallery, 256, queries, 10);
    const approx = await searchTopKInt8(await quantizeGallery(gallery, 256), queries, 10);
    let hit = 0;
    for (let q = 0; q < 16; q++) {
      const truth = new Set(exact.indices.subarray(q * 10, q * 10 + 10));
      for (const i of approx.indices.subarray(q * 10, q * 10 + 10)) if (truth.has(i)) hit++;
    }
    expect(hit / 160).toBeGreaterThanOrEqual(0.95);
  });

  it('empty gallery, k = 0 and bad shapes', async () => {
    expect((await searchTopK(new Float32Array(0), 4, new Float32Array(8), 3)).indices.length).toBe(0);
    expect((await searchTopK(new Float32Array(16), 4, new Float32Array(8), 0)).k).toBe(0);
    await expect(searchTopK(new Float32Array(10), 4, new Float32Array(8), 3)).rejects.toMatchObject({ code: 'E_INPUT' });
    await expect(searchTopK(new Float32Array(16), 4, new Float32Array(7), 3)).rejects.toMatchObject({ code: 'E_INPUT' });
    const bad = { dim: 4, rows: 4, data: new Int8Array(16), scales: new Float32Array(3) }; // one scale missing
    await expect(searchTopKInt8(bad, new Float32Array(4), 2)).rejects.toMatchObject({ code: 'E_INPUT' });
  });
});

describe('search fallback (addon disabled with LIKENESS_NO_NATIVE=1)', () => {
  it('returns exactly topK and the int8 TS twin', async () => {
    await withoutNative(async (mod) => {
      expect(mod.nativeAvailable()).toBe(false);
      const { gallery, queries } = clustered(15, 50, 4, 64, 3);
      const got = await mod.searchTopK(gallery, 64, queries, 5);
      expect(got).toEqual(topK(gallery, 64, queries, 5));
      const g8 = await mod.quantizeGallery(gallery, 64);
      expect(await mod.searchTopKInt8(g8, queries, 5)).toEqual(topKInt8Ts(quantizeRowsTs(gallery, 64), queries, 5));
    });
  });
});
