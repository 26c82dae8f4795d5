import type { Face, RgbImage } from '../types';
import { fuseConfidence, intersectSpans, mergeSegments, strongestOrigin, verdicts } from './fuse';
import type { ScanMatch } from '../report/schema';
import { FaceTracker, PRINT_INTERVAL_SECONDS, faceSignature, patchSignature, signatureCorrelation, trackEmbedding } from './track';
import type { FivePoints } from '../types';
import { iou } from '../kernels/geometry';

function unit(dim: number, hot: number, noise = 0, seed = 1): Float32Array {
  const v = new Float32Array(dim);
  let s = seed;
  for (let i = 0; i < dim; i++) {
    s = (s * 16807) % 2147483647;
    v[i] = (i === hot ? 1 : 0) + noise * ((s / 2147483647) * 2 - 1);
  }
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

function face(x: number, emb: Float32Array, quality = 0.9): Face {
  return {
    detection: { box: { x, y: 50, w: 100, h: 100 }, landmarks: [[0, 0], [0, 0], [0, 0], [0, 0], [0, 0]], score: 0.9 },
    quality: { score: quality, reasons: [], interocular: 40, sharpness: 100, yaw: 0, pitch: 0, brightness: 120 },
    embedding: emb,
    modelId: 'test',
  };
}

/** A 400x200 frame with a pattern in [x, x+100) x [50, 150) seeded by `seed`. */
function frame(x: number, seed: number): RgbImage {
  const data = new Uint8Array(400 * 200 * 3).fill(128);
  for (let py = 50; py < 150; py++)
    for (let px = x; px < x + 100; px++) {
      const v = ((px - x) * seed * 7 + py * (seed + 3) * 13) % 251;
      data.set([v, v, v], (py * 400 + px) * 3);
    }
  return { width: 400, height: 200, data };
}

const A = unit(8, 0, 0.1, 1);
const A2 = unit(8, 0, 0.1, 2);
const B = unit(8, 1, 0.1, 3);

test('iou of boxes', () => {
  expect(iou({ x: 0, y: 0, w: 10, h: 10 }, { x: 0, y: 0, w: 10, h: 10 })).toBe(1);
  expect(iou({ x: 0, y: 0, w: 10, h: 10 }, { x: 5, y: 0, w: 10, h: 10 })).toBeCloseTo(50 / 150);
  expect(iou({ x: 0, y: 0, w: 10, h: 10 }, { x: 20, y: 0, w: 10, h: 10 })).toBe(0);
});

test('a face seen in consecutive frames is one track; a gap over 1.5 intervals splits its segments; end = last + interval', () => {
  const t = new FaceTracker({ interval: 0.5, closeAfter: 5 });
  const img = frame(0, 1);
  for (const time of [1, 1.5, 2, 3.5, 4]) expect(t.push(time, [face(10, time === 2 ? A2 : A)], img)).toEqual([]);
  const [tr, ...rest] = t.finish();
  expect(rest).toEqual([]);
  expect(tr!.segments).toEqual([{ start: 1, end: 2.5 }, { start: 3.5, end: 4.5 }]);
  expect(tr!.frames).toBe(5);
  expect(tr!.best).toHaveLength(3);
});

test('a different person in the same place starts a new track (embedding check), and tracks close after closeAfter', () => {
  const t = new FaceTracker({ interval: 0.5, closeAfter: 1 });
  const img = frame(0, 1);
  t.push(0, [face(10, A)], img);
  t.push(0.5, [face(10, B)], img);
  const closed = t.push(2, [], img);
  expect(closed.map((c) => c.segments)).toEqual([[{ start: 0, end: 0.5 }], [{ start: 0.5, end: 1 }]]);
});

test('planFollows lets an unchanged face skip embedding, but not a cut to another face in the same place', () => {
  const t = new FaceTracker({ interval: 0.5, refreshSeconds: 3, keepBest: 1 });
  const img1 = frame(100, 1);
  const box = { x: 100, y: 50, w: 100, h: 100 };
  const sig1 = patchSignature(img1, box);
  t.push(0, [face(100, A)], img1, { signatures: [sig1] });
  expect([...t.planFollows(0.5, [box], [patchSignature(img1, box)])]).toEqual([[0, 1]]);
  const other = frame(100, 5);
  const sig2 = patchSignature(other, box);
  expect(signatureCorrelation(sig1, sig2)).toBeLessThan(0.9);
  expect(t.planFollows(0.5, [box], [sig2]).size).toBe(0);
  // Past the refresh time an embedding is due even for an unchanged face.
  t.push(0.5, [], img1, { follows: [{ trackId: 1, box, signature: sig1 }] });
  expect(t.planFollows(3.0, [box], [sig1]).size).toBe(0);
  const [tr] = t.finish();
  expect(tr!.segments).toEqual([{ start: 0, end: 1 }]);
});

test('a track collects keepBest embedded faces before it may follow without embedding', () => {
  const t = new FaceTracker({ interval: 0.5, keepBest: 2 });
  const img = frame(100, 1);
  const box = { x: 100, y: 50, w: 100, h: 100 };
  const sig = patchSignature(img, box);
  t.push(0, [face(100, A)], img, { signatures: [sig] });
  expect(t.planFollows(0.5, [box], [sig]).size).toBe(0);
  t.push(0.5, [face(100, A2)], img, { signatures: [sig] });
  expect(t.planFollows(1, [box], [sig]).size).toBe(1);
});

test('the track embedding is the quality-weighted mean of its best faces', () => {
  const e = trackEmbedding([
    { time: 0, box: { x: 0, y: 0, w: 1, h: 1 }, quality: 1, embedding: unit(4, 0) },
    { time: 0, box: { x: 0, y: 0, w: 1, h: 1 }, quality: 1, embedding: unit(4, 1) },
  ]);
  expect(e[0]).toBeCloseTo(Math.SQRT1_2);
  expect(e[1]).toBeCloseTo(Math.SQRT1_2);
});

test('segments merge across small gaps; spans intersect', () => {
  expect(mergeSegments([{ start: 3, end: 4 }, { start: 0, end: 1 }, { start: 1.2, end: 2 }], 0.25)).toEqual([{ start: 0, end: 2 }, { start: 3, end: 4 }]);
  expect(intersectSpans([{ start: 0, end: 2 }, { start: 3, end: 5 }], [{ start: 1, end: 4 }])).toEqual([{ start: 1, end: 2 }, { start: 3, end: 4 }]);
});

test('segments of different origins never merge; a reuse continues only where its offset advances with the media', () => {
  const reuse = (referenceId: string, referenceOffset: number, similarity = 0.9) => ({ kind: 'reference-reuse' as const, referenceId, performerId: 'p', referenceOffset, similarity });
  const newMedia = { kind: 'new-media' as const };
  // New media next to a reuse: two segments, each with its own origin.
  expect(mergeSegments([{ start: 0, end: 2, origin: newMedia }, { start: 2.1, end: 4, origin: reuse('a', 0) }], 0.5)).toHaveLength(2);
  // The same clip played on: one segment, the first offset, the best similarity.
  expect(mergeSegments([{ start: 10, end: 12, origin: reuse('a', 3, 0.8) }, { start: 12.2, end: 14, origin: reuse('a', 5.2, 0.95) }], 0.5)).toEqual([
    { start: 10, end: 14, origin: reuse('a', 3, 0.95) },
  ]);
  // Another part of the same clip (a cut): kept apart, so each part's offset stays checkable.
  expect(mergeSegments([{ start: 10, end: 12, origin: reuse('a', 3) }, { start: 12.2, end: 14, origin: reuse('a', 40) }], 0.5)).toHaveLength(2);
  // Another reference: kept apart. A photo (offset 0) shown twice: one segment.
  expect(mergeSegments([{ start: 0, end: 2, origin: reuse('a', 0) }, { start: 2.1, end: 4, origin: reuse('b', 0) }], 0.5)).toHaveLength(2);
  expect(mergeSegments([{ start: 0, end: 2, origin: reuse('a', 0) }, { start: 2.1, end: 4, origin: reuse('a', 0) }], 0.5)).toHaveLength(1);
  expect(strongestOrigin([{ start: 0, end: 1, origin: { kind: 'unknown' } }, { start: 1, end: 2, origin: newMedia }])).toEqual(newMedia);
  expect(strongestOrigin([{ start: 0, end: 1, origin: reuse('a', 0, 0.7) }, { start: 1, end: 2, origin: newMedia }, { start: 2, end: 3, origin: reuse('b', 0, 0.9) }])).toEqual(reuse('b', 0, 0.9));
  expect(strongestOrigin([{ start: 0, end: 1 }])).toBeUndefined();
});

test('verdicts fuse face and voice only where they coincide', () => {
  const m = (modality: 'face' | 'voice', start: number, end: number, confidence: number, decision: 'match' | 'possible'): ScanMatch => ({
    performerId: 'p', name: 'P', modality, score: 0.5, confidence, decision, segments: [{ start, end }], evidence: { time: start }, modelId: 'x',
  });
  const [both] = verdicts([m('face', 0, 4, 0.8, 'possible'), m('voice', 2, 6, 0.7, 'possible')]);
  expect(both!.confidence).toBeCloseTo(fuseConfidence(0.8, 0.7));
  expect(both!.confidence).toBeCloseTo(0.94);
  expect(both!.decision).toBe('match');
  expect(both!.overlaps).toEqual([{ start: 2, end: 4 }]);
  const [apart] = verdicts([m('face', 0, 1, 0.8, 'possible'), m('voice', 5, 6, 0.7, 'possible')]);
  expect(apart).toMatchObject({ confidence: 0.8, decision: 'possible', overlaps: [] });
});

test('a track takes its face prints lazily, at most every PRINT_INTERVAL_SECONDS (2 s) and at the start of each on-screen span', () => {
  expect(PRINT_INTERVAL_SECONDS).toBe(2);
  const tracker = new FaceTracker({ interval: 0.5, refreshSeconds: 0 });
  const calls: number[] = [];
  const thunk = (t: number) => () => (calls.push(t), Float32Array.of(t * 10, 0));
  const img = frame(50, 1);
  for (const t of [0, 0.5, 1, 1.5, 2, 2.5]) tracker.push(t, [face(50, A)], img, { prints: [thunk(t)] });
  // Gone for 1 s (a new span), back at 3.5 s.
  for (const t of [3.5, 4]) tracker.push(t, [face(50, A)], img, { prints: [thunk(t)] });
  const [track] = tracker.finish();
  expect(track!.segments).toEqual([{ start: 0, end: 3 }, { start: 3.5, end: 4.5 }]);
  expect(calls).toEqual([0, 2, 3.5]);
  expect(track!.prints.map((p) => p.time)).toEqual([0, 2, 3.5]);
  expect(Array.from(track!.prints[1]!.canvas)).toEqual([20, 0]);
});

/** A smooth "face" texture (seeded) at (fx, fy) over a background pattern that changes with `bg`, and its landmarks. */
function faceOver(fx: number, fy: number, seed: number, bg: number): { img: RgbImage; landmarks: FivePoints } {
  const W = 400, H = 300;
  const data = new Uint8Array(W * H * 3);
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) {
      const inFace = (x - fx - 50) ** 2 / 45 ** 2 + (y - fy - 60) ** 2 / 58 ** 2 < 1;
      const v = inFace
        ? 128 + 60 * Math.sin((x - fx) * 0.09 * seed + seed) * Math.cos((y - fy) * 0.07 * (seed + 1))
        : ((x * 7 + y * 13 + bg * 37) % 97) * 2.6;
      data.set([v, v, v], (y * W + x) * 3);
    }
  const p = (x: number, y: number): [number, number] => [fx + x, fy + y];
  return { img: { width: W, height: H, data }, landmarks: [p(32, 45), p(68, 45), p(50, 65), p(36, 85), p(64, 85)] };
}

test('faceSignature follows the face, not the box: a face drifting over a moving background keeps it, another face in its place does not', () => {
  const a = faceOver(100, 80, 1, 0);
  const moved = faceOver(117, 71, 1, 5);
  const other = faceOver(100, 80, 2, 0);
  const sa = faceSignature(a.img, a.landmarks);
  expect(signatureCorrelation(sa, faceSignature(moved.img, moved.landmarks))).toBeGreaterThan(0.97);
  expect(signatureCorrelation(sa, faceSignature(other.img, other.landmarks))).toBeLessThan(0.8);
  // The box patch of the same faces sees the background move.
  const box = (fx: number, fy: number) => ({ x: fx - 40, y: fy - 40, w: 180, h: 180 });
  expect(signatureCorrelation(patchSignature(a.img, box(100, 80)), patchSignature(moved.img, box(117, 71)))).toBeLessThan(0.9);
});
