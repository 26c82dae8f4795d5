import { thrownCode } from '../../test/helpers/error-code';
import { hammingWords, popcount32 } from '../kernels/hamming';
import { resizeRgb } from '../kernels/image';
import type { FaceDetection, RgbImage } from '../types';
import {
  FACE_HASH_VERSION,
  FACE_HASH_WORDS,
  FACE_QUERY_VARIANTS,
  FACE_VERIFY_MAX_DISTANCE,
  FACE_VERIFY_WORDS,
  canvasQueryHashes,
  deserializeVisualFingerprint,
  faceHash,
  faceHashDistance,
  faceQueryCanvas,
  faceQueryHashes,
  faceVerifyDistance,
  stillFaceHashes,
  serializeVisualFingerprint,
  visualFingerprint,
} from './fingerprint';

/** A seeded picture with structure at several scales (blobs of colour on a gradient). */
function picture(w: number, h: number, seed: number): RgbImage {
  const data = new Uint8Array(w * h * 3);
  let s = seed;
  const blobs = Array.from({ length: 12 }, () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return { x: s % w, y: (s >>> 8) % h, r: 10 + (s % 40), v: (s >>> 16) % 256 };
  });
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let v = (x * 255) / w * 0.5 + (y * 255) / h * 0.3;
      for (const b of blobs) if ((x - b.x) ** 2 + (y - b.y) ** 2 < b.r * b.r) v = b.v;
      const i = (y * w + x) * 3;
      data[i] = v;
      data[i + 1] = (v * 0.8 + 30) % 256;
      data[i + 2] = 255 - v;
    }
  }
  return { width: w, height: h, data };
}

const det = (x: number, y: number, s: number): FaceDetection => ({
  box: { x, y, w: s, h: s },
  landmarks: [[x + s * 0.3, y + s * 0.4], [x + s * 0.7, y + s * 0.4], [x + s * 0.5, y + s * 0.6], [x + s * 0.35, y + s * 0.8], [x + s * 0.65, y + s * 0.8]],
  score: 0.9,
});

function flop(img: RgbImage): RgbImage {
  const out = new Uint8Array(img.data.length);
  for (let y = 0; y < img.height; y++) for (let x = 0; x < img.width; x++) for (let c = 0; c < 3; c++) out[(y * img.width + img.width - 1 - x) * 3 + c] = img.data[(y * img.width + x) * 3 + c]!;
  return { ...img, data: out };
}

test('a hash has 64 bits, half of them set, and is deterministic', () => {
  const img = picture(320, 240, 1);
  const a = faceHash(img, det(120, 80, 60));
  expect(a.hash.length).toBe(FACE_HASH_WORDS);
  expect(popcount32(a.hash[0]!) + popcount32(a.hash[1]!)).toBe(32);
  expect(faceHashDistance(a.hash, faceHash(img, det(120, 80, 60)).hash)).toBe(0);
});

test('the mirror hash is the hash of the mirrored picture, and the first query hash is the hash', () => {
  const img = picture(320, 240, 2);
  const a = faceHash(img, det(100, 70, 70));
  const m = faceHash(flop(img), det(320 - 100 - 70, 70, 70));
  expect(faceHashDistance(a.mirror, m.hash)).toBeLessThanOrEqual(4);
  const q = faceQueryHashes(img, det(100, 70, 70));
  expect(q.length).toBe(FACE_QUERY_VARIANTS * FACE_HASH_WORDS);
  expect(hammingWords(q, 0, a.hash, 0, FACE_HASH_WORDS)).toBe(0);
});

test('brightness and scale leave the hash close; another picture is far', () => {
  const img = picture(320, 240, 3);
  const a = faceHash(img, det(120, 80, 60)).hash;
  const darker = { ...img, data: img.data.map((v) => Math.round(v * 0.7)) };
  expect(faceHashDistance(a, faceHash(darker, det(120, 80, 60)).hash)).toBeLessThanOrEqual(6);
  const half = resizeRgb(img, 160, 120);
  expect(faceHashDistance(a, faceHash(half, det(60, 40, 30)).hash)).toBeLessThanOrEqual(6);
  const other = faceHash(picture(320, 240, 99), det(120, 80, 60)).hash;
  expect(faceHashDistance(a, other)).toBeGreaterThan(12);
});

test('visual fingerprints round-trip through bytes; damaged bytes are typed errors', () => {
  const img = picture(160, 120, 4);
  const frames = [0.5, 0, 0.25].map((time) => ({ time, ...faceHash(img, det(50, 30, 40 + time * 10)) }));
  const fp = visualFingerprint(frames);
  expect(fp.frames.map((f) => f.time)).toEqual([0, 0.25, 0.5]);
  const back = deserializeVisualFingerprint(serializeVisualFingerprint(fp));
  expect(back).toEqual(fp);
  const still = visualFingerprint([frames[1]!, { ...frames[0]!, time: 0 }], { still: true });
  expect(deserializeVisualFingerprint(serializeVisualFingerprint(still))).toEqual(still);
  const movedStill = serializeVisualFingerprint(still);
  new DataView(movedStill.buffer).setFloat64(8, 0.5, true);
  expect(thrownCode(() => deserializeVisualFingerprint(movedStill))).toBe('E_DECODE');
  const bytes = serializeVisualFingerprint(fp);
  expect(thrownCode(() => deserializeVisualFingerprint(bytes.subarray(0, 20)))).toBe('E_DECODE');
  const badTime = Uint8Array.from(bytes);
  new DataView(badTime.buffer).setFloat64(8, NaN, true);
  expect(thrownCode(() => deserializeVisualFingerprint(badTime))).toBe('E_DECODE');
  const newer = Uint8Array.from(bytes);
  newer[2] = FACE_HASH_VERSION + 1;
  expect(thrownCode(() => deserializeVisualFingerprint(newer))).toBe('E_UNSUPPORTED');
  expect(thrownCode(() => visualFingerprint([]))).toBe('E_INPUT');
  expect(thrownCode(() => visualFingerprint(frames, { still: true }))).toBe('E_INPUT');
  expect(thrownCode(() => visualFingerprint([{ time: -1, hash: new Uint32Array(2), mirror: new Uint32Array(2), verify: new Uint32Array(4), mirrorVerify: new Uint32Array(4) }]))).toBe('E_INPUT');
  expect(thrownCode(() => visualFingerprint([{ time: 0, hash: new Uint32Array(2), mirror: new Uint32Array(2) } as never]))).toBe('E_INPUT');
  expect(thrownCode(() => faceHash({ width: 2, height: 2, data: new Uint8Array(3) }, det(0, 0, 1)))).toBe('E_INPUT');
  expect(thrownCode(() => faceQueryHashes(img, { box: { x: NaN, y: 0, w: 1, h: 1 } } as never))).toBe('E_INPUT');
});

test('verification: the same picture re-encoded darker and at half size verifies, another picture does not', () => {
  const img = picture(320, 240, 5);
  const ref = faceHash(img, det(120, 80, 60));
  expect(ref.verify.length).toBe(FACE_VERIFY_WORDS);
  const darker = { ...img, data: img.data.map((v) => Math.round(v * 0.7)) };
  const half = resizeRgb(img, 160, 120);
  for (const [copy, d] of [[darker, det(120, 80, 60)], [half, det(60, 40, 30)]] as const) {
    const canvas = faceQueryCanvas(copy, d);
    expect(faceVerifyDistance(canvas, 0, ref.verify)).toBeLessThanOrEqual(FACE_VERIFY_MAX_DISTANCE);
  }
  // Mirrored: the mirrored copy verifies against the mirror bits.
  const m = faceQueryCanvas(flop(img), det(320 - 120 - 60, 80, 60));
  expect(faceVerifyDistance(m, 0, ref.mirrorVerify)).toBeLessThanOrEqual(FACE_VERIFY_MAX_DISTANCE);
  const other = faceQueryCanvas(picture(320, 240, 77), det(120, 80, 60));
  expect(faceVerifyDistance(other, 0, ref.verify)).toBeGreaterThan(FACE_VERIFY_MAX_DISTANCE * 2);
  expect(Array.from(canvasQueryHashes(faceQueryCanvas(img, det(120, 80, 60))))).toEqual(Array.from(faceQueryHashes(img, det(120, 80, 60))));
  expect(thrownCode(() => faceVerifyDistance(new Float32Array(3), 0, ref.verify))).toBe('E_INPUT');
  expect(thrownCode(() => faceVerifyDistance(other, FACE_QUERY_VARIANTS, ref.verify))).toBe('E_INPUT');
  expect(thrownCode(() => faceVerifyDistance(other, 0, new Uint32Array(2)))).toBe('E_INPUT');
  expect(thrownCode(() => canvasQueryHashes(new Float32Array(10)))).toBe('E_INPUT');
});

test('a still is hashed as found, as the detector finds it in other frame shapes, and inside the photo near its border', async () => {
  const img = picture(320, 240, 6);
  // A face near the left border: its square leaves the picture, so squares fitted inside it are added.
  const near = det(10, 80, 60);
  const seen: { width: number; height: number }[] = [];
  // A detector that finds the same face in the framed picture (the picture sits centred in the frame).
  const detect = async (framed: RgbImage): Promise<FaceDetection[]> => {
    seen.push({ width: framed.width, height: framed.height });
    const dx = (framed.width - img.width) >> 1, dy = (framed.height - img.height) >> 1;
    return [{ ...near, box: { ...near.box, x: near.box.x + dx, y: near.box.y + dy }, landmarks: near.landmarks.map(([x, y]) => [x + dx + 1, y + dy]) as FaceDetection['landmarks'] }];
  };
  const hashes = await stillFaceHashes(img, near, detect);
  // 4:3 is neither 16:9 nor 9:16: both frames are tried.
  expect(seen.map((s) => (s.width / s.height).toFixed(2))).toEqual(['1.78', '0.56']);
  expect(hashes[0]).toEqual(faceHash(img, near));
  expect(hashes.length).toBeGreaterThan(3);
  const fp = visualFingerprint(hashes.map((h) => ({ time: 0, ...h })), { still: true });
  expect(deserializeVisualFingerprint(serializeVisualFingerprint(fp))).toEqual(fp);
  // A face in the middle, and a detector that finds nothing: the one hash as found.
  expect(await stillFaceHashes(img, det(130, 90, 60), async () => [])).toEqual([faceHash(img, det(130, 90, 60))]);
  await expect(stillFaceHashes(img, { box: { x: NaN, y: 0, w: 1, h: 1 } } as never, detect)).rejects.toMatchObject({ code: 'E_INPUT' });
});
