import sharp from 'sharp';
import { FaceAnalyzer } from '../../src/face/analyzer';
import { decodeImage } from '../../src/media/image';
import { cosine } from '../../src/eval/face-eval';
import type { Face, RgbImage } from '../../src/types';
import { sampleImage } from '../helpers/images';

let fa: FaceAnalyzer;
let group: RgbImage;
let faces: Face[];

beforeAll(async () => {
  fa = await FaceAnalyzer.create({ preset: 'fast' });
  group = await decodeImage(sampleImage(1));
  faces = await fa.analyzeRgb(group);
});

test('finds the three people of the group photo with plausible landmarks', () => {
  expect(faces.length).toBeGreaterThanOrEqual(3);
  for (const f of faces.slice(0, 3)) {
    const [le, re, nose, lm, rm] = f.detection.landmarks;
    const { x, y, w, h } = f.detection.box;
    expect(le[0]).toBeLessThan(re[0]);
    expect(lm[0]).toBeLessThan(rm[0]);
    expect(nose[1]).toBeGreaterThan(Math.min(le[1], re[1]));
    expect((lm[1] + rm[1]) / 2).toBeGreaterThan(nose[1]);
    for (const [px, py] of f.detection.landmarks) {
      expect(px).toBeGreaterThanOrEqual(x - w * 0.2);
      expect(px).toBeLessThanOrEqual(x + w * 1.2);
      expect(py).toBeGreaterThanOrEqual(y - h * 0.2);
      expect(py).toBeLessThanOrEqual(y + h * 1.2);
    }
    expect(f.embedding).toHaveLength(512);
    expect(Math.hypot(...f.embedding)).toBeCloseTo(1, 4);
    expect(f.quality.score).toBeGreaterThan(0);
    expect(f.quality.score).toBeLessThanOrEqual(1);
  }
});

test('a re-framed, smaller, recompressed copy of one face matches that face and not the others', async () => {
  const target = faces[0]!;
  const b = target.detection.box;
  const pad = b.w * 0.8;
  const left = Math.max(0, Math.round(b.x - pad)), top = Math.max(0, Math.round(b.y - pad));
  const width = Math.min(group.width - left, Math.round(b.w + 2 * pad));
  const height = Math.min(group.height - top, Math.round(b.h + 2 * pad));
  const jpeg = await sharp(Buffer.from(group.data), { raw: { width: group.width, height: group.height, channels: 3 } })
    .extract({ left, top, width, height })
    .resize({ width: Math.round(width * 0.6) })
    .jpeg({ quality: 55 })
    .toBuffer();
  const probe = await fa.analyze(jpeg);
  expect(probe.faces.length).toBeGreaterThanOrEqual(1);
  const e = probe.faces[0]!.embedding;
  const same = cosine(e, target.embedding);
  const others = faces.slice(1).map((f) => cosine(e, f.embedding));
  expect(same).toBeGreaterThan(0.5);
  for (const o of others) expect(o).toBeLessThan(same - 0.2);
});

test('a batch keeps order and returns per-image results', async () => {
  const r = await fa.analyzeBatch([sampleImage(2), sampleImage(3)]);
  expect(r).toHaveLength(2);
  for (const x of r) expect('faces' in x && x.faces.length >= 2).toBe(true);
});

test('an image without faces gives no faces, not an error', async () => {
  const blank = { width: 320, height: 240, data: new Uint8Array(320 * 240 * 3).fill(200) };
  expect(await fa.analyzeRgb(blank)).toEqual([]);
});
