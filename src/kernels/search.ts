import { LikenessError } from '../errors';
import { int } from '../validate';
import { loadAddon, settle, SYNC_WORK } from './addon';

// Exact top-k search over contiguous unit rows: the TS reference loops, the int8 quantisation twins, and the
// dispatching entry points that run the native kernels when the addon loaded.

/** A top-k result: for each query, `k` entries (fewer when there are fewer rows or groups), best first. */
export interface TopK {
  /** `queries x k` row (or group) indices; -1 pads. */
  indices: Int32Array;
  /** `queries x k` scores; -Infinity pads. */
  scores: Float32Array;
  k: number;
}

/**
 * Exact top-k rows by dot product for each query. TS reference of the search kernel: a native kernel may replace it
 * and must return the same indices (ties: lower index first) and scores within float rounding.
 * @param gallery row-major `n x dim`
 * @param queries row-major `m x dim`
 */
export function topK(gallery: Float32Array, dim: number, queries: Float32Array, k: number): TopK {
  const n = dim > 0 ? gallery.length / dim : 0;
  const m = dim > 0 ? queries.length / dim : 0;
  const kk = Math.max(0, Math.min(k, n));
  const indices = new Int32Array(m * kk).fill(-1);
  const scores = new Float32Array(m * kk).fill(-Infinity);
  for (let q = 0; q < m; q++) {
    const qo = q * dim;
    for (let r = 0; r < n; r++) {
      insertTop(indices, scores, q * kk, kk, r, dot(gallery, r * dim, queries, qo, dim));
    }
  }
  return { indices, scores, k: kk };
}

/**
 * Per-group (performer) best score for each query, then the top-k groups. TS reference kernel like {@link topK}.
 * @param groupOf group index of each gallery row, in [0, groups)
 */
export function topKGroups(
  gallery: Float32Array,
  dim: number,
  groupOf: Int32Array,
  groups: number,
  queries: Float32Array,
  k: number,
): TopK {
  const n = dim > 0 ? gallery.length / dim : 0;
  const m = dim > 0 ? queries.length / dim : 0;
  const kk = Math.max(0, Math.min(k, groups));
  const indices = new Int32Array(m * kk).fill(-1);
  const scores = new Float32Array(m * kk).fill(-Infinity);
  const best = new Float32Array(groups);
  for (let q = 0; q < m; q++) {
    best.fill(-Infinity);
    const qo = q * dim;
    for (let r = 0; r < n; r++) {
      const s = dot(gallery, r * dim, queries, qo, dim);
      const g = groupOf[r]!;
      if (s > best[g]!) best[g] = s;
    }
    for (let g = 0; g < groups; g++) insertTop(indices, scores, q * kk, kk, g, best[g]!);
  }
  return { indices, scores, k: kk };
}

// The hot loop: 4 accumulators let the JIT overlap multiplies; a native kernel replaces this for large galleries.
function dot(a: Float32Array, ao: number, b: Float32Array, bo: number, dim: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let i = 0;
  for (; i + 3 < dim; i += 4) {
    s0 += a[ao + i]! * b[bo + i]!;
    s1 += a[ao + i + 1]! * b[bo + i + 1]!;
    s2 += a[ao + i + 2]! * b[bo + i + 2]!;
    s3 += a[ao + i + 3]! * b[bo + i + 3]!;
  }
  for (; i < dim; i++) s0 += a[ao + i]! * b[bo + i]!;
  return s0 + s1 + s2 + s3;
}

/** Inserts (idx, s) into the sorted top list at `off..off+k` if it beats the last; ties keep the earlier index. */
export function insertTop(indices: Int32Array, scores: Float32Array, off: number, k: number, idx: number, s: number): void {
  if (k === 0 || Number.isNaN(s)) return;
  if (indices[off + k - 1]! !== -1 && !(s > scores[off + k - 1]!)) return;
  let j = k - 1;
  while (j > 0 && (indices[off + j - 1]! === -1 || s > scores[off + j - 1]!)) {
    indices[off + j] = indices[off + j - 1]!;
    scores[off + j] = scores[off + j - 1]!;
    j--;
  }
  indices[off + j] = idx;
  scores[off + j] = s;
}

/** A gallery quantised to int8 with one float32 scale per row (value ~= q * scale). */
export interface QuantizedGallery {
  dim: number;
  rows: number;
  data: Int8Array;
  scales: Float32Array;
}

/** Math.round with the native kernel's float64 steps: halves go towards +infinity. */
function jsRound(x: number): number {
  const f = Math.floor(x);
  return x - f >= 0.5 ? f + 1 : f;
}

/** TS twin of row quantisation: scale = max|v| / 127 (float32), q = round(v / scale). */
export function quantizeRowsTs(vectors: Float32Array, dim: number): QuantizedGallery {
  int('dim', dim, 1, 1 << 20);
  const rows = Math.floor(vectors.length / dim);
  const data = new Int8Array(rows * dim);
  const scales = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    let maxAbs = 0;
    for (let i = 0; i < dim; i++) maxAbs = Math.max(maxAbs, Math.abs(vectors[r * dim + i]!));
    const s = Math.fround(maxAbs / 127);
    scales[r] = s;
    for (let i = 0; i < dim; i++) {
      const t = s > 0 ? jsRound(vectors[r * dim + i]! / s) : 0;
      data[r * dim + i] = Math.min(127, Math.max(-127, t));
    }
  }
  return { dim, rows, data, scales };
}

/** Largest int16 query value for which no int32 dot product over `dim` int8 x int16 terms can overflow. */
export function queryQuantMax(dim: number): number {
  return Math.min(32767, Math.max(1, Math.floor(2147483647 / (127 * Math.max(1, dim)))));
}

/** TS twin of query quantisation (int16 per value, float64 scale per query), as the native search does it. */
export function quantizeQueriesTs(queries: Float32Array, dim: number): { data: Int16Array; scales: Float64Array } {
  const m = Math.floor(queries.length / dim);
  const qmax = queryQuantMax(dim);
  const data = new Int16Array(m * dim);
  const scales = new Float64Array(m);
  for (let q = 0; q < m; q++) {
    let maxAbs = 0;
    for (let i = 0; i < dim; i++) maxAbs = Math.max(maxAbs, Math.abs(queries[q * dim + i]!));
    const s = maxAbs / qmax;
    scales[q] = s;
    for (let i = 0; i < dim; i++) {
      const t = s > 0 ? jsRound(queries[q * dim + i]! / s) : 0;
      data[q * dim + i] = Math.min(qmax, Math.max(-qmax, t));
    }
  }
  return { data, scales };
}

/**
 * TS twin of the int8 search: exact integer dot products of int8 rows with int16-quantised queries, scaled back to
 * float32 scores; same top-k and tie rules as `topK` in src/kernels/search.ts.
 */
export function topKInt8Ts(g: QuantizedGallery, queries: Float32Array, k: number): TopK {
  const { dim, rows } = g;
  const q = quantizeQueriesTs(queries, dim);
  const m = q.scales.length;
  const kk = Math.max(0, Math.min(k, rows));
  const indices = new Int32Array(m * kk).fill(-1);
  const scores = new Float32Array(m * kk).fill(-Infinity);
  for (let qi = 0; qi < m; qi++) {
    const qo = qi * dim;
    for (let r = 0; r < rows; r++) {
      const ro = r * dim;
      let dot = 0;
      for (let i = 0; i < dim; i++) dot += g.data[ro + i]! * q.data[qo + i]!;
      insertTop(indices, scores, qi * kk, kk, r, Math.fround(dot * g.scales[r]! * q.scales[qi]!));
    }
  }
  return { indices, scores, k: kk };
}

function checkSearch(gallery: ArrayLike<number>, dim: number, queries: Float32Array, k: number): void {
  int('dim', dim, 1, 1 << 20);
  int('k', k, 0, 1 << 20);
  if (!(queries instanceof Float32Array) || queries.length % dim !== 0) throw new LikenessError('E_INPUT', `queries must be a Float32Array of rows of ${dim} values`);
  if (gallery.length % dim !== 0) throw new LikenessError('E_INPUT', `the gallery must hold rows of ${dim} values`);
  if (gallery.length / dim > 0x7fffffff) throw new LikenessError('E_TOO_LARGE', 'the gallery has more than 2^31 rows');
}

/**
 * Exact top-k rows by dot product (cosine for unit rows) for a batch of queries, all queries in one pass over the
 * gallery. Same result shape and tie rules as `topK` (src/kernels/search.ts), which runs without the addon; native
 * scores are float32 sums, so they differ from the float64 TS loop by float rounding.
 */
export async function searchTopK(gallery: Float32Array, dim: number, queries: Float32Array, k: number): Promise<TopK> {
  if (!(gallery instanceof Float32Array)) throw new LikenessError('E_INPUT', 'the gallery must be a Float32Array');
  checkSearch(gallery, dim, queries, k);
  const a = loadAddon();
  if (!a) return topK(gallery, dim, queries, k);
  const n = gallery.length / dim, m = queries.length / dim;
  const kk = Math.max(0, Math.min(k, n));
  const indices = new Int32Array(m * kk).fill(-1);
  const scores = new Float32Array(m * kk).fill(-Infinity);
  if (m > 0 && kk > 0) await settle(() => a.searchF32(gallery, dim, queries, kk, indices, scores, gallery.length * m > SYNC_WORK), 'search');
  return { indices, scores, k: kk };
}

/** Quantises unit rows to int8 with one scale per row (4x less memory to stream than float32). */
export async function quantizeGallery(vectors: Float32Array, dim: number): Promise<QuantizedGallery> {
  int('dim', dim, 1, 1 << 20);
  if (!(vectors instanceof Float32Array) || vectors.length % dim !== 0) throw new LikenessError('E_INPUT', `vectors must be a Float32Array of rows of ${dim} values`);
  const a = loadAddon();
  if (!a) return quantizeRowsTs(vectors, dim);
  const rows = vectors.length / dim;
  const data = new Int8Array(rows * dim);
  const scales = new Float32Array(rows);
  await settle(() => a.quantizeRows(vectors, dim, data, scales, vectors.length > SYNC_WORK), 'quantize');
  return { dim, rows, data, scales };
}

/**
 * Exact top-k over an int8 gallery (queries quantised to int16, integer dot products, scaled back): approximate
 * with respect to the float32 gallery, exact with respect to the quantised one. `topKInt8Ts` without the addon.
 */
export async function searchTopKInt8(g: QuantizedGallery, queries: Float32Array, k: number): Promise<TopK> {
  checkSearch(g.data, g.dim, queries, k);
  if (g.scales.length !== g.rows || g.data.length !== g.rows * g.dim) throw new LikenessError('E_INPUT', 'quantised gallery sizes do not match');
  const a = loadAddon();
  if (!a) return topKInt8Ts(g, queries, k);
  const m = queries.length / g.dim;
  const kk = Math.max(0, Math.min(k, g.rows));
  const indices = new Int32Array(m * kk).fill(-1);
  const scores = new Float32Array(m * kk).fill(-Infinity);
  if (m > 0 && kk > 0) await settle(() => a.searchI8(g.data, g.scales, g.dim, queries, kk, indices, scores, g.data.length * m > SYNC_WORK), 'int8 search');
  return { indices, scores, k: kk };
}

