import { toLikenessError } from '../errors';
import type { Box } from '../types';
import { num, invalid } from '../validate';
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
  if (p === null || typeof p !== 'object') throw invalid('detection parameters must be an object');
  for (const k of ['minScore', 'detW', 'detH', 'rx', 'ry'] as const) num(k, p[k], -1e9, 1e9);
  if (!(scores instanceof Float32Array) || !(boxes instanceof Float32Array) || scores.length % 2 !== 0 || boxes.length !== scores.length * 2) {
    throw invalid('detector outputs must be Float32Arrays of n x 2 scores and n x 4 boxes');
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


/** BlazeFace decoding parameters (Human's settings for the back-camera model). */
export interface BlazeFaceParams {
  /** Square input size in pixels (256). */
  size: number;
  /** Candidates need a score above this (Human's minConfidence, 0.3). */
  minScore: number;
  /** A candidate overlapping a kept box by this IoU or more is dropped (Human's iouThreshold, 0.1). */
  iou: number;
  /** Most boxes kept (Human's maxDetected). */
  maxFaces: number;
}

/** A kept BlazeFace box in detector-input pixels, with the anchor row it came from (for its key points). */
export interface BlazeFaceBox {
  /** Face probability (sigmoid of the logit, float32). */
  score: number;
  x1: number;
  y1: number;
  x2: number;
  y2: number;
  /** Row of the anchor / regressor that produced the box. */
  anchor: number;
}

/**
 * BlazeFace anchor centres for a square input of `size` pixels, as Human generates them: the 16x16 grid (stride
 * size/16, 2 anchors per cell) then the 8x8 grid (stride size/8, 6 per cell); (x, y) pairs in input pixels.
 */
export function blazeFaceAnchors(size: number): Float32Array {
  const out: number[] = [];
  for (const [stride, perCell] of [[size / 16, 2], [size / 8, 6]] as const) {
    const cells = Math.floor((size + stride - 1) / stride);
    for (let gy = 0; gy < cells; gy++) {
      for (let gx = 0; gx < cells; gx++) {
        for (let k = 0; k < perCell; k++) out.push(stride * (gx + 0.5), stride * (gy + 0.5));
      }
    }
  }
  return Float32Array.from(out);
}

const f32 = Math.fround;

/**
 * TS twin of the BlazeFace decoding kernel, step for step what Human does in tfjs: sigmoid scores, box centre =
 * regressor + anchor, corners = (centre / size -+ (extent / size) / 2) * size in float32, then TensorFlow's
 * non-max suppression (score above `minScore`, best first with ties to the lower row, a box dropped when its IoU
 * with a kept one is `iou` or more).
 * @param logits one score logit per anchor row
 * @param regressors 16 per row: centre offset (x, y), extent (w, h), 6 key points (x, y) relative to the anchor
 * @param anchors (x, y) per row, from {@link blazeFaceAnchors}
 */
export function decodeBlazeFaceTs(logits: Float32Array, regressors: Float32Array, anchors: Float32Array, p: BlazeFaceParams): BlazeFaceBox[] {
  const n = logits.length;
  const size = f32(p.size);
  const scores = new Float32Array(n);
  const corners = new Float32Array(n * 4);
  for (let i = 0; i < n; i++) {
    scores[i] = 1 / (1 + Math.exp(-logits[i]!));
    const r = i * 16;
    for (let d = 0; d < 2; d++) {
      const centre = f32(f32(regressors[r + d]! + anchors[i * 2 + d]!) / size);
      const half = f32(f32(regressors[r + 2 + d]! / size) / 2);
      corners[i * 4 + d] = f32(f32(centre - half) * size);
      corners[i * 4 + 2 + d] = f32(f32(centre + half) * size);
    }
  }
  const order: number[] = [];
  for (let i = 0; i < n; i++) if (scores[i]! > p.minScore) order.push(i);
  order.sort((a, b) => scores[b]! - scores[a]! || a - b);
  const kept: number[] = [];
  for (const i of order) {
    if (kept.length >= p.maxFaces) break;
    if (kept.every((k) => tfIou(corners, i, k) < p.iou)) kept.push(i);
  }
  return kept.map((i) => ({ score: scores[i]!, x1: corners[i * 4]!, y1: corners[i * 4 + 1]!, x2: corners[i * 4 + 2]!, y2: corners[i * 4 + 3]!, anchor: i }));
}

/** TensorFlow's IoU of rows i and j of a corner array (either corner order; 0 for an empty box). */
function tfIou(c: Float32Array, i: number, j: number): number {
  const ay0 = Math.min(c[i * 4]!, c[i * 4 + 2]!), ax0 = Math.min(c[i * 4 + 1]!, c[i * 4 + 3]!);
  const ay1 = Math.max(c[i * 4]!, c[i * 4 + 2]!), ax1 = Math.max(c[i * 4 + 1]!, c[i * 4 + 3]!);
  const by0 = Math.min(c[j * 4]!, c[j * 4 + 2]!), bx0 = Math.min(c[j * 4 + 1]!, c[j * 4 + 3]!);
  const by1 = Math.max(c[j * 4]!, c[j * 4 + 2]!), bx1 = Math.max(c[j * 4 + 1]!, c[j * 4 + 3]!);
  const areaA = (ay1 - ay0) * (ax1 - ax0), areaB = (by1 - by0) * (bx1 - bx0);
  if (areaA <= 0 || areaB <= 0) return 0;
  const inter = Math.max(Math.min(ay1, by1) - Math.max(ay0, by0), 0) * Math.max(Math.min(ax1, bx1) - Math.max(ax0, bx0), 0);
  return inter / (areaA + areaB - inter);
}

/**
 * BlazeFace decoding + non-max suppression in one call (see {@link decodeBlazeFaceTs}, its TS twin, which runs
 * without the addon). Synchronous: 896 anchors take microseconds.
 */
export function decodeBlazeFace(logits: Float32Array, regressors: Float32Array, anchors: Float32Array, p: BlazeFaceParams): BlazeFaceBox[] {
  const n = logits instanceof Float32Array ? logits.length : -1;
  if (n < 0 || !(regressors instanceof Float32Array) || regressors.length !== n * 16 || !(anchors instanceof Float32Array) || anchors.length !== n * 2) {
    throw invalid('BlazeFace outputs must be Float32Arrays of n logits, n x 16 regressors and n x 2 anchors');
  }
  if (p === null || typeof p !== 'object') throw invalid('BlazeFace parameters must be an object');
  num('size', p.size, 1, 1e6);
  num('iou', p.iou, 0, 1);
  num('minScore', p.minScore, 0, 1);
  num('maxFaces', p.maxFaces, 0, 1e6);
  const a = loadAddon();
  if (!a) return decodeBlazeFaceTs(logits, regressors, anchors, p);
  let rows: Float64Array;
  try {
    rows = a.blazeface(logits, regressors, anchors, Float64Array.of(p.size, p.minScore, p.iou, p.maxFaces));
  } catch (e) {
    throw toLikenessError(e, 'E_INPUT', 'native BlazeFace decoding');
  }
  const out: BlazeFaceBox[] = [];
  for (let i = 0; i < rows.length; i += 6) out.push({ score: rows[i]!, x1: rows[i + 1]!, y1: rows[i + 2]!, x2: rows[i + 3]!, y2: rows[i + 4]!, anchor: rows[i + 5]! });
  return out;
}
