import { dot } from '../kernels/vector';
import type { LabelledPair } from './csv';

/** An item's embedding, or the error code that left it without one. */
export type EmbeddingOrFailure = Float32Array | { code: string };

/** Scores of a labelled list, split by label, with the failures that forced the lowest score. */
export interface PairScores {
  genuine: number[];
  impostor: number[];
  scores: { same: boolean; score: number }[];
  failed: number;
  failures: { file: string; code: string }[];
}

/**
 * Cosine of every pair (embeddings are L2-normalised). A pair with a missing embedding keeps `failedScore` (the lowest
 * possible) so it counts as a miss or a correct reject, never dropped; each failing file is listed once.
 */
export function scorePairs(pairs: readonly LabelledPair[], embeddings: Map<string, EmbeddingOrFailure>, failedScore = -1): PairScores {
  const out: PairScores = { genuine: [], impostor: [], scores: [], failed: 0, failures: [] };
  const failures = new Map<string, string>();
  for (const p of pairs) {
    const a = embeddings.get(p.fileA)!;
    const b = embeddings.get(p.fileB)!;
    let score = failedScore;
    if (a instanceof Float32Array && b instanceof Float32Array) score = cosine(a, b);
    else {
      out.failed++;
      for (const [f, e] of [[p.fileA, a], [p.fileB, b]] as const) if (!(e instanceof Float32Array)) failures.set(f, e.code);
    }
    (p.same ? out.genuine : out.impostor).push(score);
    out.scores.push({ same: p.same, score });
  }
  out.failures = Array.from(failures, ([file, code]) => ({ file, code }));
  return out;
}

/** Cosine of two L2-normalised vectors (their dot product). */
export function cosine(a: Float32Array, b: Float32Array): number {
  return dot(a, 0, b, 0, Math.min(a.length, b.length));
}
