import { applyAffine, invertAffine, iou, nms, similarityTransform, ARCFACE_112 } from '../../src/kernels/geometry';
import { resizeRgb, warpAffineRgb } from '../../src/kernels/image';
import { l2normalize } from '../../src/face/faceplugin';
import type { Point } from '../../src/types';

test('similarityTransform recovers a known rotation + scale + translation exactly', () => {
  const th = 0.3, s = 1.7, tx = 12, ty = -5;
  const m = (p: Point): Point => [s * (Math.cos(th) * p[0] - Math.sin(th) * p[1]) + tx, s * (Math.sin(th) * p[0] + Math.cos(th) * p[1]) + ty];
  const src = ARCFACE_112.map((p) => [p[0] * 2 + 3, p[1] * 2 - 7] as Point);
  const dst = src.map(m);
  const a = similarityTransform(src, dst);
  for (const p of src) {
    const q = applyAffine(a, p), r = m(p);
    expect(q[0]).toBeCloseTo(r[0], 9);
    expect(q[1]).toBeCloseTo(r[1], 9);
  }
  const back = applyAffine(invertAffine(a), dst[2]!);
  expect(back[0]).toBeCloseTo(src[2]![0], 9);
});

test('similarityTransform is the least-squares fit under noise (better than any perturbed transform)', () => {
  const src: Point[] = [[10, 10], [50, 12], [30, 35], [15, 55], [48, 52]];
  const dst: Point[] = src.map(([x, y], i) => [x * 0.9 + 4 + (i % 2 ? 0.7 : -0.5), y * 0.9 - 2 + (i % 3 ? -0.4 : 0.6)]);
  const a = similarityTransform(src, dst);
  const err = (m: number[]) => src.reduce((s, p, i) => {
    const q = [m[0]! * p[0] + m[1]! * p[1] + m[2]!, m[3]! * p[0] + m[4]! * p[1] + m[5]!];
    return s + (q[0]! - dst[i]![0]) ** 2 + (q[1]! - dst[i]![1]) ** 2;
  }, 0);
  const base = err(a);
  for (const [k, d] of [[0, 0.01], [1, 0.01], [2, 0.1], [5, -0.1]] as const) {
    const b = [...a];
    b[k] += d;
    if (k === 0) b[4] += d;
    if (k === 1) b[3] -= d;
    expect(err(b)).toBeGreaterThan(base);
  }
});

test('warpAffineRgb with identity copies pixels; resize of a constant image stays constant', () => {
  const img = { width: 4, height: 3, data: Uint8Array.from({ length: 36 }, (_, i) => (i * 7) % 256) };
  expect(Array.from(warpAffineRgb(img, [1, 0, 0, 0, 1, 0], 4, 3).data)).toEqual(Array.from(img.data));
  const flat = { width: 7, height: 5, data: new Uint8Array(105).fill(90) };
  expect(resizeRgb(flat, 13, 11).data.every((v) => v === 90)).toBe(true);
});

test('iou and nms', () => {
  expect(iou({ x: 0, y: 0, w: 10, h: 10 }, { x: 5, y: 0, w: 10, h: 10 })).toBeCloseTo(50 / 150);
  const boxes = [{ x: 0, y: 0, w: 10, h: 10 }, { x: 1, y: 1, w: 10, h: 10 }, { x: 50, y: 50, w: 10, h: 10 }];
  expect(nms(boxes, [0.8, 0.9, 0.7], 0.4)).toEqual([1, 2]);
});

test('l2normalize makes unit vectors and keeps zero vectors finite', () => {
  const v = l2normalize(Float32Array.of(3, 4));
  expect(v[0]).toBeCloseTo(0.6, 6);
  expect(v[1]).toBeCloseTo(0.8, 6);
  expect(Array.from(l2normalize(Float32Array.of(0, 0)))).toEqual([0, 0]);
});

test('iou is 1 for the same box and 0 for disjoint boxes', () => {
  const a = { x: 0, y: 0, w: 10, h: 10 };
  expect(iou(a, a)).toBeCloseTo(1, 9);
  expect(iou(a, { x: 20, y: 20, w: 5, h: 5 })).toBe(0);
  expect(iou(a, { x: 5, y: 0, w: 10, h: 10 })).toBeCloseTo(50 / 150, 9);
});
