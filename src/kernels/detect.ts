import { LikenessError, toLikenessError } from '../errors';
import type { Box } from '../types';
import { num } from '../validate';
import { loadAddon } from './addon';
import { nms } from './geometry';

/** Detector post-processing parameters (UltraFace outputs for one letterboxed region). */
export interface DetectionParams {
  /** Minimum face score. */
  minScore: number;
  /** Detector input width and height (320 x 240 for UltraFace). */
  detW: number;
  detH: number;
  /** Letterbox scale: canvas pixels per source pixel. */
  scale: number;
  /** Region offset in the source image. */
  rx: number;
  ry: number;
  /** NMS IoU threshold (boxes overlapping a kept one by more are dropped). */
  iou: number;
  /** Maximum number of faces kept; default unlimited. */
  limit?: number;
  /** Boxes narrower or lower than this many pixels are dropped; default 2 (as runDetector). */
  minSize?: number;
}

/** A kept detection in source-image pixels. */
export interface ScoredBox {
  score: number;
  box: Box;
}

/**
 * TS twin of the detector post-processing kernel: the score filter and scaling of `runDetector`
 * (src/face/faceplugin.ts) followed by `nms` (geometry.ts).
 * @param scores `n x 2` (background, face) per anchor
 * @param boxes `n x 4` corners in 0..1 of the detector canvas
 */
export function postprocessDetectionsTs(scores: Float32Array, boxes: Float32Array, p: DetectionParams): ScoredBox[] {
  const n = scores.length / 2;
  const minSize = p.minSize ?? 2;
  const cand: ScoredBox[] = [];
  for (let i = 0; i < n; i++) {
    const s = scores[i * 2 + 1]!;
    if (s < p.minScore) continue;
    const x1 = (boxes[i * 4]! * p.detW) / p.scale + p.rx, y1 = (boxes[i * 4 + 1]! * p.detH) / p.scale + p.ry;
    const x2 = (boxes[i * 4 + 2]! * p.detW) / p.scale + p.rx, y2 = (boxes[i * 4 + 3]! * p.detH) / p.scale + p.ry;
    if (x2 - x1 < minSize || y2 - y1 < minSize) continue;
    cand.push({ score: s, box: { x: x1, y: y1, w: x2 - x1, h: y2 - y1 } });
  }
  const keep = nms(cand.map((c) => c.box), cand.map((c) => c.score), p.iou, p.limit ?? Infinity);
  return keep.map((i) => cand[i]!);
}

/**
 * UltraFace post-processing for one letterboxed region in one call: score filter, corners to source pixels, greedy
 * NMS (kept boxes best first). Synchronous: a detector output is a few thousand anchors. Native kernel, or
 * `postprocessDetectionsTs` (runDetector's loop + `nms`) without the addon.
 */
export function postprocessDetections(scores: Float32Array, boxes: Float32Array, p: DetectionParams): ScoredBox[] {
  if (!(scores instanceof Float32Array) || !(boxes instanceof Float32Array) || scores.length % 2 !== 0 || boxes.length !== scores.length * 2) {
    throw new LikenessError('E_INPUT', 'detector outputs must be Float32Arrays of n x 2 scores and n x 4 boxes');
  }
  num('scale', p.scale, 1e-9, 1e9);
  num('iou', p.iou, 0, 1);
  const a = loadAddon();
  if (!a) return postprocessDetectionsTs(scores, boxes, p);
  const params = Float64Array.of(p.minScore, p.detW, p.detH, p.scale, p.rx, p.ry, p.iou, p.minSize ?? 2, p.limit ?? Number.MAX_VALUE);
  let rows: Float64Array;
  try {
    rows = a.detect(scores, boxes, params);
  } catch (e) {
    throw toLikenessError(e, 'E_INPUT', 'native detector post-processing');
  }
  const out: ScoredBox[] = [];
  for (let i = 0; i < rows.length; i += 5) out.push({ score: rows[i]!, box: { x: rows[i + 1]!, y: rows[i + 2]!, w: rows[i + 3]!, h: rows[i + 4]! } });
  return out;
}

