import * as path from 'path';
import { isLikenessError } from '../errors';
import type { FaceAnalyzer } from '../face/analyzer';
import { decodeImage } from '../media/image';
import { readPairsCsv } from './csv';
import { scorePairs } from './score-pairs';

export { cosine } from './score-pairs';
import { VerificationMetrics, verificationMetrics } from './metrics';

/** Result of `likeness eval faces`. Rates are fractions in [0, 1]. */
export interface FaceEvalResult extends VerificationMetrics {
  pairs: number;
  scored: number;
  failed: number;
  failures: { file: string; code: string }[];
  /** Mean milliseconds per image for detect + align + embed (decode excluded). */
  msPerImage: number;
  model: string;
}

/** Lowest possible cosine: a pair with an unusable image scores this (a miss if same-person, a reject if not). */
export const FAILED_PAIR_SCORE = -1;

/**
 * Scores every pair of a `fileA,fileB,same` list with the largest face of each image. Each file is analysed once.
 * Thresholds are chosen on the list itself: this is an evaluation, not a calibration.
 */
export async function evalFacePairs(
  analyzer: FaceAnalyzer,
  pairsFile: string,
  root: string,
  onProgress?: (done: number, total: number) => void,
): Promise<FaceEvalResult & { scores: { same: boolean; score: number }[] }> {
  const pairs = readPairsCsv(pairsFile);
  const files = Array.from(new Set(pairs.flatMap((p) => [p.fileA, p.fileB])));
  const embeddings = new Map<string, Float32Array | { code: string }>();
  let ms = 0;
  let timed = 0;
  for (const [i, f] of files.entries()) {
    try {
      const img = await decodeImage(path.resolve(root, f));
      const t = performance.now();
      const faces = await analyzer.analyzeRgb(img);
      ms += performance.now() - t;
      timed++;
      embeddings.set(f, faces.length ? faces[0]!.embedding : { code: 'E_NO_FACE' });
    } catch (e) {
      if (!isLikenessError(e)) throw e;
      embeddings.set(f, { code: e.code });
    }
    onProgress?.(i + 1, files.length);
  }
  const { genuine, impostor, scores, failed, failures } = scorePairs(pairs, embeddings, FAILED_PAIR_SCORE);
  return {
    pairs: pairs.length,
    scored: pairs.length - failed,
    failed,
    failures,
    ...verificationMetrics(genuine, impostor),
    msPerImage: timed ? ms / timed : 0,
    model: analyzer.modelId,
    scores,
  };
}
