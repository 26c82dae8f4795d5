import { LikenessError } from '../errors';
import { topKGroups } from '../kernels/search';
import { normalise } from '../kernels/vector';
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

/** A performer's best score against one query. */
export interface PerformerScore {
  performerId: string;
  /** Highest cosine over the performer's templates (items and centroid). */
  score: number;
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
