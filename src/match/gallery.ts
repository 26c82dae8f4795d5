import { LikenessError } from '../errors';
import type { Modality, Store, Template } from '../store/types';

/**
 * One model's templates in memory: L2-normalised rows in one contiguous row-major buffer (`rows x dim`), with the
 * performer of each row as an index into `performerIds`. Built from the store; immutable once built.
 */
export interface Gallery {
  modelId: string;
  modality: Modality | null;
  dim: number;
  /** Number of template rows. */
  rows: number;
  /** Row-major `rows x dim`, every row unit length. */
  vectors: Float32Array;
  /** Performer index (into `performerIds`) of each row. */
  rowPerformer: Int32Array;
  /** Distinct performers, in first-seen order. */
  performerIds: string[];
  /** The store's change counter this gallery reflects. */
  version: number;
}

/** A top-k result: for each query, `k` entries (fewer when there are fewer rows or groups), best first. */
export interface TopK {
  /** `queries x k` row (or group) indices; -1 pads. */
  indices: Int32Array;
  /** `queries x k` scores; -Infinity pads. */
  scores: Float32Array;
  k: number;
}

/** A performer's best score against one query. */
export interface PerformerScore {
  performerId: string;
  /** Highest cosine over the performer's templates (items and centroid). */
  score: number;
}

/** Returns a unit-length copy of `v`. @throws LikenessError E_INPUT for zero or non-finite vectors. */
export function normalise(v: Float32Array): Float32Array {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!;
  if (!Number.isFinite(s) || s === 0) throw new LikenessError('E_INPUT', 'an embedding is zero or not finite');
  const inv = 1 / Math.sqrt(s);
  const out = new Float32Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = v[i]! * inv;
  return out;
}

/** Builds a gallery from templates (normalising each row). */
export function buildGallery(modelId: string, templates: Iterable<Template>, version = 0): Gallery {
  const list = [...templates];
  const dim = list.length ? list[0]!.vector.length : 0;
  const vectors = new Float32Array(list.length * dim);
  const rowPerformer = new Int32Array(list.length);
  const index = new Map<string, number>();
  const performerIds: string[] = [];
  list.forEach((t, r) => {
    if (t.vector.length !== dim) {
      throw new LikenessError('E_STORE', `model ${modelId} has templates of ${t.vector.length} and ${dim} dimensions`);
    }
    vectors.set(normalise(t.vector), r * dim);
    let p = index.get(t.performerId);
    if (p === undefined) {
      p = performerIds.length;
      index.set(t.performerId, p);
      performerIds.push(t.performerId);
    }
    rowPerformer[r] = p;
  });
  return {
    modelId,
    modality: list.length ? list[0]!.modality : null,
    dim,
    rows: list.length,
    vectors,
    rowPerformer,
    performerIds,
    version,
  };
}

/** Loads one model's gallery from the store (decrypting templates). */
export async function loadGallery(store: Store, modelId: string): Promise<Gallery> {
  const version = await store.changeCounter();
  const list: Template[] = [];
  for await (const t of store.templates(modelId)) list.push(t);
  return buildGallery(modelId, list, version);
}

/**
 * Keeps one gallery per model and rebuilds it when the store's change counter has moved (enroll, delete, consent).
 */
export class GalleryCache {
  private readonly galleries = new Map<string, Gallery>();

  constructor(private readonly store: Store) {}

  /** The current gallery for `modelId`, rebuilt if the store changed since it was built. */
  async get(modelId: string): Promise<Gallery> {
    const version = await this.store.changeCounter();
    const g = this.galleries.get(modelId);
    if (g && g.version === version) return g;
    const fresh = await loadGallery(this.store, modelId);
    this.galleries.set(modelId, fresh);
    return fresh;
  }

  /** Drops every cached gallery (their vectors become garbage). */
  clear(): void {
    this.galleries.clear();
  }
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

/** Packs query vectors into one row-major buffer, normalising each. @throws E_INPUT on a dimension mismatch. */
export function packQueries(queries: readonly Float32Array[], dim: number): Float32Array {
  const out = new Float32Array(queries.length * dim);
  queries.forEach((q, i) => {
    if (q.length !== dim) throw new LikenessError('E_INPUT', `query ${i} has ${q.length} dimensions, the gallery ${dim}`);
    out.set(normalise(q), i * dim);
  });
  return out;
}

/** Each query's top-k performers with their best score, best first. */
export function searchPerformers(g: Gallery, queries: readonly Float32Array[], k: number): PerformerScore[][] {
  if (g.rows === 0) return queries.map(() => []);
  const packed = packQueries(queries, g.dim);
  const r = topKGroups(g.vectors, g.dim, g.rowPerformer, g.performerIds.length, packed, k);
  return queries.map((_, q) => {
    const out: PerformerScore[] = [];
    for (let j = 0; j < r.k; j++) {
      const idx = r.indices[q * r.k + j]!;
      if (idx >= 0) out.push({ performerId: g.performerIds[idx]!, score: r.scores[q * r.k + j]! });
    }
    return out;
  });
}
