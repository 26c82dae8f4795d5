import sharp from 'sharp';
import type { FaceDetection, Point, RgbImage } from '../../src/types';
import { HumanDetector, HumanFaceresEmbedder, humanMemory } from '../../benchmarks/human-peer';
import { iou } from '../../src/kernels/geometry';
import { optionalSampleImage } from '../helpers/images';
import { describeIf } from '../helpers/requires';

// Test photo: demo/sample1.jpg shipped in @vladmandic/face-api (MIT), read from node_modules, never copied.
const photo = optionalSampleImage(1);
const describeWithPhoto = describeIf(photo !== undefined, 'the @vladmandic/face-api sample photos');
if (!photo) {
  // eslint-disable-next-line no-console
  console.warn('human.test: @vladmandic/face-api demo/sample1.jpg is not installed; skipping the photo tests');
}

async function loadSmall(file: string, width: number): Promise<RgbImage> {
  const { data, info } = await sharp(file).resize(width).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

const sub = (a: Point, b: Point): Point => [a[0] - b[0], a[1] - b[1]];
const dot = (a: Point, b: Point): number => a[0] * b[0] + a[1] * b[1];

/** Checks the five points in the face's own frame (x along the eye axis, y down the face), so roll does not matter. */
function expectPlausibleFivePoints(d: FaceDetection): void {
  const [le, re, nose, ml, mr] = d.landmarks;
  expect(le[0]).toBeLessThan(re[0]);
  const axis = sub(re, le);
  const len = Math.hypot(axis[0], axis[1]);
  const u: Point = [axis[0] / len, axis[1] / len];
  const v: Point = [-u[1], u[0]];
  const noseU = dot(sub(nose, le), u);
  expect(noseU).toBeGreaterThan(0);
  expect(noseU).toBeLessThan(len);
  expect(dot(sub(nose, le), v)).toBeGreaterThan(0);
  for (const m of [ml, mr]) expect(dot(sub(m, le), v)).toBeGreaterThan(dot(sub(nose, le), v) * 0.8);
  expect(dot(sub(ml, le), u)).toBeLessThan(dot(sub(mr, le), u));
  const { x, y, w, h } = d.box;
  for (const p of d.landmarks) {
    expect(p[0]).toBeGreaterThan(x - 0.1 * w);
    expect(p[0]).toBeLessThan(x + 1.1 * w);
    expect(p[1]).toBeGreaterThan(y - 0.1 * h);
    expect(p[1]).toBeLessThan(y + 1.1 * h);
  }
}

describe('HumanDetector input checks', () => {
  const det = new HumanDetector();
  it('rejects a zero-size image with E_INPUT', async () => {
    await expect(det.detect({ width: 0, height: 0, data: new Uint8Array(0) })).rejects.toMatchObject({ code: 'E_INPUT' });
  });
  it('rejects pixels that do not match the size with E_INPUT', async () => {
    await expect(det.detect({ width: 10, height: 10, data: new Uint8Array(10) })).rejects.toMatchObject({ code: 'E_INPUT' });
  });
  it('rejects bad padding options with E_INPUT', () => {
    expect(() => new HumanDetector({ padSmall: -1 })).toThrow(expect.objectContaining({ code: 'E_INPUT' }));
    expect(() => new HumanDetector({ padRatio: 0 })).toThrow(expect.objectContaining({ code: 'E_INPUT' }));
  });
});

describeWithPhoto('HumanDetector and HumanFaceresEmbedder on a photo with three faces', () => {
  let image: RgbImage;
  let faces: FaceDetection[];
  const det = new HumanDetector();

  beforeAll(async () => {
    image = await loadSmall(photo!, 640);
    faces = await det.detect(image);
  });

  it('finds the faces, best score first, with scores in [0, 1]', () => {
    expect(faces.length).toBeGreaterThanOrEqual(2);
    expect(faces.length).toBeLessThanOrEqual(4);
    for (let i = 1; i < faces.length; i++) expect(faces[i - 1].score).toBeGreaterThanOrEqual(faces[i].score);
    for (const f of faces) {
      expect(f.source).toBe(det.id);
      expect(f.score).toBeGreaterThan(0.3);
      expect(f.score).toBeLessThanOrEqual(1);
    }
  });

  it('gives five points in a plausible face layout', () => {
    for (const f of faces) expectPlausibleFivePoints(f);
  });

  it('boxes are distinct faces inside the image', () => {
    for (const f of faces) {
      expect(f.box.x).toBeGreaterThanOrEqual(0);
      expect(f.box.y).toBeGreaterThanOrEqual(0);
      expect(f.box.x + f.box.w).toBeLessThanOrEqual(image.width);
      expect(f.box.y + f.box.h).toBeLessThanOrEqual(image.height);
      expect(f.box.w).toBeGreaterThan(20);
    }
    for (let i = 0; i < faces.length; i++) for (let j = i + 1; j < faces.length; j++) expect(iou(faces[i].box, faces[j].box)).toBeLessThan(0.3);
  });

  it('finds a face in a tight small crop (grey border padding) and maps points back into the crop', async () => {
    const f = faces[0];
    const side = Math.min(image.width, image.height, Math.round(Math.max(f.box.w, f.box.h)));
    const left = Math.min(image.width - side, Math.max(0, Math.round(f.box.x + f.box.w / 2 - side / 2)));
    const top = Math.min(image.height - side, Math.max(0, Math.round(f.box.y + f.box.h / 2 - side / 2)));
    const { data, info } = await sharp(Buffer.from(image.data), { raw: { width: image.width, height: image.height, channels: 3 } })
      .extract({ left, top, width: side, height: side })
      .resize(96, 96)
      .raw()
      .toBuffer({ resolveWithObject: true });
    const crop: RgbImage = { width: info.width, height: info.height, data: new Uint8Array(data) };
    const found = await det.detect(crop);
    expect(found.length).toBeGreaterThanOrEqual(1);
    expectPlausibleFivePoints(found[0]);
    for (const p of found[0].landmarks) {
      expect(p[0]).toBeGreaterThanOrEqual(0);
      expect(p[0]).toBeLessThanOrEqual(96);
    }
  });

  it('embeds each face as a unit 1024-d vector; different people differ, the same face repeats', async () => {
    const emb = new HumanFaceresEmbedder();
    const e1 = await emb.embed(image, faces);
    expect(e1).toHaveLength(faces.length);
    for (const e of e1) {
      expect(e).toBeInstanceOf(Float32Array);
      expect(e.length).toBe(1024);
      expect(Math.sqrt(e.reduce((s, x) => s + x * x, 0))).toBeCloseTo(1, 4);
    }
    const cos = (a: Float32Array, b: Float32Array): number => a.reduce((s, x, i) => s + x * b[i], 0);
    // Human's mobilefacenet gave one embedding for every face; faceres must not.
    expect(cos(e1[0], e1[1])).toBeLessThan(0.95);
    const e2 = await emb.embed(image, faces.slice(0, 1));
    expect(cos(e1[0], e2[0])).toBeGreaterThan(0.999);
  });

  it('pairs detections from another detector by their points, and says E_NO_FACE where there is no face', async () => {
    const emb = new HumanFaceresEmbedder();
    const [ref] = await emb.embed(image, faces.slice(0, 1));
    const b = faces[0].box;
    const tight: FaceDetection = { ...faces[0], box: { x: b.x + 0.2 * b.w, y: b.y + 0.25 * b.h, w: 0.6 * b.w, h: 0.6 * b.h } };
    const [other] = await emb.embed(image, [tight]);
    expect(other.reduce((s, x, i) => s + x * ref[i], 0)).toBeGreaterThan(0.999);
    const wall: FaceDetection = {
      box: { x: 2, y: 2, w: 30, h: 30 },
      landmarks: [[10, 12], [24, 12], [17, 18], [12, 25], [22, 25]],
      score: 0.5,
    };
    await expect(emb.embed(image, [wall])).rejects.toMatchObject({ code: 'E_NO_FACE' });
  });

  it('does not leak tensors over 50 calls', async () => {
    const small = await loadSmall(photo!, 320);
    expect((await det.detect(small)).length).toBeGreaterThanOrEqual(1);
    const before = await humanMemory();
    for (let i = 0; i < 50; i++) await det.detect(small);
    const after = await humanMemory();
    expect(after.numTensors).toBe(before.numTensors);
    expect(after.numBytes).toBe(before.numBytes);
  });

  it('serialises concurrent calls and gives the same result as one at a time', async () => {
    const all = await Promise.all([det.detect(image), det.detect(image), det.detect(image)]);
    for (const r of all) {
      expect(r).toHaveLength(faces.length);
      expect(r[0].box.x).toBeCloseTo(faces[0].box.x, 3);
    }
  });
});
