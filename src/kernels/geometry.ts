import type { Box, FaceDetection, FivePoints, Point } from '../types';

/** ArcFace's five-point template for a 112x112 crop (insightface's reference points). */
export const ARCFACE_112: FivePoints = [
  [38.2946, 51.6963],
  [73.5318, 51.5014],
  [56.0252, 71.7366],
  [41.5493, 92.3655],
  [70.7299, 92.2041],
];

/** A 2x3 affine matrix [a, b, tx, c, d, ty] mapping (x, y) -> (a x + b y + tx, c x + d y + ty). */
export type Affine = [number, number, number, number, number, number];

/**
 * Least-squares similarity transform (rotation, uniform scale, translation) mapping `src` points onto `dst`
 * (Umeyama 1991, without reflection). Closed form for the 2-D case.
 */
export function similarityTransform(src: readonly Point[], dst: readonly Point[]): Affine {
  const n = src.length;
  let sx = 0, sy = 0, dx = 0, dy = 0;
  for (let i = 0; i < n; i++) {
    sx += src[i]![0]; sy += src[i]![1]; dx += dst[i]![0]; dy += dst[i]![1];
  }
  sx /= n; sy /= n; dx /= n; dy /= n;
  // With centred points, the optimal [a -b; b a] solves a = sum(x'u + y'v)/sum|x'|^2, b = sum(x'v - y'u)/sum|x'|^2.
  let num1 = 0, num2 = 0, den = 0;
  for (let i = 0; i < n; i++) {
    const x = src[i]![0] - sx, y = src[i]![1] - sy;
    const u = dst[i]![0] - dx, v = dst[i]![1] - dy;
    num1 += x * u + y * v;
    num2 += x * v - y * u;
    den += x * x + y * y;
  }
  if (den < 1e-12) return [1, 0, dx - sx, 0, 1, dy - sy];
  const a = num1 / den, b = num2 / den;
  return [a, -b, dx - (a * sx - b * sy), b, a, dy - (b * sx + a * sy)];
}

/** Inverse of a similarity/affine transform. */
export function invertAffine(m: Affine): Affine {
  const [a, b, tx, c, d, ty] = m;
  const det = a * d - b * c;
  const ia = d / det, ib = -b / det, ic = -c / det, id = a / det;
  return [ia, ib, -(ia * tx + ib * ty), ic, id, -(ic * tx + id * ty)];
}

/** Applies an affine transform to a point. */
export function applyAffine(m: Affine, p: Point): Point {
  return [m[0] * p[0] + m[1] * p[1] + m[2], m[3] * p[0] + m[4] * p[1] + m[5]];
}

/** Intersection over union of two boxes. */
export function iou(a: Box, b: Box): number {
  const x1 = Math.max(a.x, b.x), y1 = Math.max(a.y, b.y);
  const x2 = Math.min(a.x + a.w, b.x + b.w), y2 = Math.min(a.y + a.h, b.y + b.h);
  const inter = Math.max(0, x2 - x1) * Math.max(0, y2 - y1);
  const uni = a.w * a.h + b.w * b.h - inter;
  return uni > 0 ? inter / uni : 0;
}

/** Greedy non-maximum suppression; returns kept indices, best score first. */
export function nms(boxes: Box[], scores: number[], threshold: number, limit = Infinity): number[] {
  const order = scores.map((_, i) => i).sort((i, j) => scores[j]! - scores[i]!);
  const keep: number[] = [];
  for (const i of order) {
    if (keep.length >= limit) break;
    if (keep.every((k) => iou(boxes[k]!, boxes[i]!) <= threshold)) keep.push(i);
  }
  return keep;
}

/** The face with the largest box area, or undefined. */
export function largestFace<T extends { detection: FaceDetection } | FaceDetection>(faces: T[]): T | undefined {
  const area = (f: T): number => {
    const b = 'detection' in f ? f.detection.box : f.box;
    return b.w * b.h;
  };
  return faces.reduce<T | undefined>((best, f) => (best === undefined || area(f) > area(best) ? f : best), undefined);
}
