import { hammingWords } from '../kernels/hamming';
import type { FaceDetection, RgbImage } from '../types';
import { LikenessError } from '../errors';
import { fingerprintHeader, readFingerprintHeader } from '../media/fingerprint-format';
import { faceDetections, invalid, list, num, rgbImage } from '../validate';

// Face-anchored perceptual hashes, for telling the reuse of an enrolled photo or clip from another photo of the same
// person (issue 16). Lookups only happen for faces already matched to a performer, so the hash is anchored on the
// face: a context square around the face box, wide enough (2.5 box sides) to hold hair, clothes and background: the
// part that makes one photo differ from another photo of the same person.
//
// Why hand-written and not an npm perceptual-hash package (sharp-phash, blockhash-core, imghash...): those hash a
// whole image file through their own decode and resize, so a crop, a mirror or a frame taken from a video changes
// every bit; here the hash must be of a square anchored on the face box we already have, in the scan's hot path (one hash per
// face per sampled frame), on RGB pixels already decoded. It is a textbook DCT hash (pHash) on our own warp kernel:
// about 30 lines, no dependency, no extra decode.

/** Version of the visual hash algorithm; hashes of different versions are not comparable. */
export const FACE_HASH_VERSION = 1;

/**
 * Bits in one hash: the 64 lowest DCT frequencies. Measured on the face-api sample photos, the next 192 frequencies
 * of a 256-bit hash add more noise under re-encoding, crops and detector jitter than they add separation between
 * photos (see benchmarks/RESULTS.md, "Reuse or imitation").
 */
export const FACE_HASH_BITS = 64;

/** 32-bit words in one hash. */
export const FACE_HASH_WORDS = FACE_HASH_BITS / 32;

/** Side of the grey grid the DCT runs on. */
const GRID = 32;

/**
 * Side of the hashed square in face-box sides (the larger of width and height), centred on the box: the face with
 * about three quarters of a face width of hair, clothes and background on each side. Anchored on the box, not on the
 * eyes: measured, the detector's eye points move more than its box between a photo and its mirror image or a darker
 * copy (a 30% change of the inter-ocular distance on a turned head).
 */
const CONTEXT = 2.5;

/**
 * Shifts (fractions of the square's side) and scales of the square that a scanned face is hashed at ({@link
 * faceQueryHashes}): the lookup keeps the closest, which absorbs the detector's box jitter between the reference and
 * a re-encoded, cropped, mirrored or re-lit copy.
 */
const JITTER_SHIFTS: readonly number[] = [-0.04, 0, 0.04];
/**
 * Down to 0.62: measured on the issue 16 grid, the detector's box of the same face in the same pixels is up to 1.6x
 * larger when the picture sits in a wider video frame (91 px in a 320 x 320 photo, 122-158 px in a 640 x 360 ad;
 * `scripts/origin-photo-box.ts`), and the best-matching scale of the ad's box was 0.65-0.85 in every case.
 */
const JITTER_SCALES: readonly number[] = [0.62, 0.7, 0.78, 0.87, 0.94, 1, 1.06];

/** Hashes per scanned face in {@link faceQueryHashes}. */
export const FACE_QUERY_VARIANTS = JITTER_SHIFTS.length ** 2 * JITTER_SCALES.length;

/** The canvas (around the square, room for the jitter) is this many square sides wide. */
const CANVAS = 1.25;
/** Canvas pixels per side (about 2.4 per grid cell). */
const CANVAS_PX = 96;

/** The perceptual hash of one face: its context square, and its mirror image (how a mirrored reuse of the same picture hashes). */
export interface FaceHash {
  /** {@link FACE_HASH_WORDS} words, {@link FACE_HASH_BITS} bits. */
  hash: Uint32Array;
  /** The hash of the horizontally mirrored square. */
  mirror: Uint32Array;
}

/** The 64 lowest DCT frequencies of a 32 x 32 grid (ordered by u + v, DC left out), as row * 32 + column. */
const ORDER: Int32Array = (() => {
  const idx: [number, number][] = [];
  for (let u = 0; u < GRID; u++) for (let v = 0; v < GRID; v++) if (u + v > 0) idx.push([u, v]);
  idx.sort((a, b) => a[0] + a[1] - (b[0] + b[1]) || a[0] - b[0]);
  return Int32Array.from(idx.slice(0, FACE_HASH_BITS).map(([u, v]) => u * GRID + v));
})();
/** Highest frequency index used (rows and columns of the DCT that are computed). */
const MAX_FREQ = Math.max(...Array.from(ORDER, (k) => Math.max((k / GRID) | 0, k % GRID))) + 1;

/** cos((2x + 1) u pi / 64), [u][x]. */
const COS: Float64Array = (() => {
  const c = new Float64Array(GRID * GRID);
  for (let u = 0; u < GRID; u++) for (let x = 0; x < GRID; x++) c[u * GRID + x] = Math.cos(((2 * x + 1) * u * Math.PI) / (2 * GRID));
  return c;
})();

/**
 * A grey canvas of {@link CANVAS_PX} pixels per side around the face's context square: each canvas pixel is the mean
 * of f x f point samples of the source (a box filter, so it does not alias), the border replicated outside the image.
 */
function greyCanvas(image: RgbImage, d: FaceDetection): Float64Array {
  const b = d.box;
  const side = Math.max(b.w, b.h, 1) * CONTEXT * CANVAS;
  const step = side / CANVAS_PX;
  // About two source pixels between samples at most.
  const f = Math.min(8, Math.max(1, Math.ceil(step / 2)));
  const x0 = b.x + b.w / 2 - side / 2, y0 = b.y + b.h / 2 - side / 2;
  const { width: W, height: H, data } = image;
  const xs = new Int32Array(CANVAS_PX * f);
  for (let i = 0; i < xs.length; i++) xs[i] = Math.min(W - 1, Math.max(0, Math.floor(x0 + ((i + 0.5) / f) * step))) * 3;
  const g = new Float64Array(CANVAS_PX * CANVAS_PX);
  for (let j = 0; j < CANVAS_PX * f; j++) {
    const sy = Math.min(H - 1, Math.max(0, Math.floor(y0 + ((j + 0.5) / f) * step)));
    const row = sy * W * 3;
    const out = ((j / f) | 0) * CANVAS_PX;
    for (let i = 0; i < xs.length; i++) {
      const k = row + xs[i]!;
      g[out + ((i / f) | 0)] += 0.299 * data[k]! + 0.587 * data[k + 1]! + 0.114 * data[k + 2]!;
    }
  }
  return g;
}

function bilinear(g: Float64Array, x: number, y: number): number {
  const cx = Math.min(Math.max(x, 0), CANVAS_PX - 1), cy = Math.min(Math.max(y, 0), CANVAS_PX - 1);
  const x0 = Math.floor(cx), y0 = Math.floor(cy);
  const x1 = Math.min(x0 + 1, CANVAS_PX - 1), y1 = Math.min(y0 + 1, CANVAS_PX - 1);
  const fx = cx - x0, fy = cy - y0;
  const top = g[y0 * CANVAS_PX + x0]! + (g[y0 * CANVAS_PX + x1]! - g[y0 * CANVAS_PX + x0]!) * fx;
  const bot = g[y1 * CANVAS_PX + x0]! + (g[y1 * CANVAS_PX + x1]! - g[y1 * CANVAS_PX + x0]!) * fx;
  return top + (bot - top) * fy;
}

/** The 32 x 32 grid of the square shifted by (sx, sy) sides and scaled by `scale`, from the canvas (2 x 2 samples per cell). */
function grid(canvas: Float64Array, sx: number, sy: number, scale: number): Float64Array {
  const g = new Float64Array(GRID * GRID);
  const unit = CANVAS_PX / CANVAS; // canvas pixels per square side
  const cell = (unit * scale) / GRID;
  const x0 = CANVAS_PX / 2 + (sx - scale / 2) * unit;
  const y0 = CANVAS_PX / 2 + (sy - scale / 2) * unit;
  for (let gy = 0; gy < GRID; gy++) {
    for (let gx = 0; gx < GRID; gx++) {
      let s = 0;
      for (const oy of [0.25, 0.75]) for (const ox of [0.25, 0.75]) s += bilinear(canvas, x0 + (gx + ox) * cell - 0.5, y0 + (gy + oy) * cell - 0.5);
      g[gy * GRID + gx] = s;
    }
  }
  return g;
}

/** The low-frequency corner of the 2-D DCT-II of a 32 x 32 grid (unnormalised; only signs against the median matter). */
function dct2(g: Float64Array): Float64Array {
  const tmp = new Float64Array(GRID * MAX_FREQ);
  for (let y = 0; y < GRID; y++) {
    for (let v = 0; v < MAX_FREQ; v++) {
      let s = 0;
      for (let x = 0; x < GRID; x++) s += g[y * GRID + x]! * COS[v * GRID + x]!;
      tmp[y * MAX_FREQ + v] = s;
    }
  }
  const out = new Float64Array(GRID * GRID);
  for (let u = 0; u < MAX_FREQ; u++) {
    for (let v = 0; v < MAX_FREQ; v++) {
      let s = 0;
      for (let y = 0; y < GRID; y++) s += tmp[y * MAX_FREQ + v]! * COS[u * GRID + y]!;
      out[u * GRID + v] = s;
    }
  }
  return out;
}

/** Bits of the selected coefficients against their median into out[o..]; `mirror` negates odd horizontal frequencies first. */
function bits(coef: Float64Array, mirror: boolean, out: Uint32Array, o: number): void {
  const sel = new Float64Array(FACE_HASH_BITS);
  for (let i = 0; i < FACE_HASH_BITS; i++) {
    const k = ORDER[i]!;
    sel[i] = mirror && (k % GRID) % 2 === 1 ? -coef[k]! : coef[k]!;
  }
  const sorted = Float64Array.from(sel).sort();
  const median = (sorted[FACE_HASH_BITS / 2 - 1]! + sorted[FACE_HASH_BITS / 2]!) / 2;
  for (let i = 0; i < FACE_HASH_BITS; i++) if (sel[i]! > median) out[o + (i >> 5)]! |= 1 << (i & 31);
}

/**
 * The perceptual hash of one detected face in a reference: the square of 2.5 face-box sides around the box, pooled
 * to a 32 x 32 grey grid, 2-D DCT, the 64 lowest frequencies thresholded at their median; and the same for the
 * mirrored square. Brightness changes leave it alone (a median threshold of a linear transform), and so do scaling
 * and crops that leave the square in the frame (it is anchored on the face, not on the image borders); another photo
 * of the same person changes the context and the pose and hashes far away. Throws E_INPUT for a malformed image or
 * detection.
 */
export function faceHash(image: RgbImage, detection: FaceDetection): FaceHash {
  rgbImage('image', image);
  faceDetections('detection', [detection]);
  const coef = dct2(grid(greyCanvas(image, detection), 0, 0, 1));
  const hash = new Uint32Array(FACE_HASH_WORDS), mirror = new Uint32Array(FACE_HASH_WORDS);
  bits(coef, false, hash, 0);
  bits(coef, true, mirror, 0);
  return { hash, mirror };
}

/**
 * The hashes of one scanned face for a lookup: {@link FACE_QUERY_VARIANTS} hashes of {@link FACE_HASH_WORDS} words
 * each (the first is {@link faceHash}'s `hash`), of the square shifted by up to 4% and scaled by 0.94-1.06, so that
 * the lookup can take the closest. Throws E_INPUT for a malformed image or detection.
 */
export function faceQueryHashes(image: RgbImage, detection: FaceDetection): Uint32Array {
  rgbImage('image', image);
  faceDetections('detection', [detection]);
  const canvas = greyCanvas(image, detection);
  const out = new Uint32Array(FACE_QUERY_VARIANTS * FACE_HASH_WORDS);
  let v = 0;
  // The unshifted, unscaled square first.
  const combos: [number, number, number][] = [[0, 0, 1]];
  for (const sc of JITTER_SCALES) for (const sy of JITTER_SHIFTS) for (const sx of JITTER_SHIFTS) if (!(sx === 0 && sy === 0 && sc === 1)) combos.push([sx, sy, sc]);
  for (const [sx, sy, sc] of combos) bits(dct2(grid(canvas, sx, sy, sc)), false, out, FACE_HASH_WORDS * v++);
  return out;
}

/** Bits that differ between two hashes of {@link FACE_HASH_WORDS} words. */
export function faceHashDistance(a: Uint32Array, b: Uint32Array): number {
  return hammingWords(a, 0, b, 0, FACE_HASH_WORDS);
}

/** Frames per second at which reference video is hashed (dense enough to place an offset within +-0.5 s). */
export const REFERENCE_VIDEO_FPS = 4;

/** One hashed frame of a reference: its time in the reference (seconds; 0 for a photo) and the two hashes. */
export interface FaceHashFrame extends FaceHash {
  time: number;
}

/** The visual fingerprint of one reference: a photo (`still`, one frame at time 0) or frames of a video clip. */
export interface VisualFingerprint {
  kind: 'visual';
  /** {@link FACE_HASH_VERSION} of the algorithm that made it. */
  version: number;
  /** True for a photo: it has no timeline, so a match reports offset 0 whatever the scanned time. */
  still: boolean;
  /** In time order. */
  frames: FaceHashFrame[];
}

/**
 * The fingerprint of a reference from its hashed face frames: one frame at time 0 for a photo (`still`), or the
 * performer's face in frames sampled at {@link REFERENCE_VIDEO_FPS} for a clip. Frames are sorted by time.
 */
export function visualFingerprint(frames: readonly FaceHashFrame[], opts: { still?: boolean } = {}): VisualFingerprint {
  list('frames', frames, 1);
  frames.forEach((f, i) => {
    num(`frames[${i}].time`, f?.time, 0, Number.MAX_VALUE);
    for (const k of ['hash', 'mirror'] as const) if (!(f[k] instanceof Uint32Array) || f[k].length !== FACE_HASH_WORDS) throw invalid(`frames[${i}].${k} must be a Uint32Array of ${FACE_HASH_WORDS} words`);
  });
  const still = opts.still ?? false;
  if (still && frames.length !== 1) throw invalid('a still (photo) fingerprint has exactly one frame');
  const sorted = [...frames].sort((a, b) => a.time - b.time).map((f) => ({ time: f.time, hash: Uint32Array.from(f.hash), mirror: Uint32Array.from(f.mirror) }));
  return { kind: 'visual', version: FACE_HASH_VERSION, still, frames: sorted };
}

const FRAME_BYTES = 8 + 8 * FACE_HASH_WORDS;

/** The bytes of a visual fingerprint (header with the still flag, then per frame a float64 time and both hashes, little-endian). */
export function serializeVisualFingerprint(fp: VisualFingerprint): Uint8Array {
  const n = fp.frames.length;
  const { out, view } = fingerprintHeader('visual', fp.version, n, n * FRAME_BYTES);
  out[3] = fp.still ? 1 : 0;
  fp.frames.forEach((f, i) => {
    const o = 8 + i * FRAME_BYTES;
    view.setFloat64(o, f.time, true);
    for (let w = 0; w < FACE_HASH_WORDS; w++) {
      view.setUint32(o + 8 + w * 4, f.hash[w]!, true);
      view.setUint32(o + 8 + (FACE_HASH_WORDS + w) * 4, f.mirror[w]!, true);
    }
  });
  return out;
}

/** The visual fingerprint in bytes made by {@link serializeVisualFingerprint}; E_DECODE / E_UNSUPPORTED for other bytes. */
export function deserializeVisualFingerprint(bytes: Uint8Array): VisualFingerprint {
  const { count, view } = readFingerprintHeader(bytes, 'visual', FACE_HASH_VERSION, (n) => n * FRAME_BYTES);
  if (bytes[3]! > 1 || (bytes[3] === 1 && count !== 1)) throw new LikenessError('E_DECODE', 'visual fingerprint has a bad still flag');
  const frames: FaceHashFrame[] = [];
  for (let i = 0; i < count; i++) {
    const o = 8 + i * FRAME_BYTES;
    const time = view.getFloat64(o, true);
    if (!Number.isFinite(time) || time < 0) throw new LikenessError('E_DECODE', `visual fingerprint frame ${i} has a bad time`);
    const hash = new Uint32Array(FACE_HASH_WORDS), mirror = new Uint32Array(FACE_HASH_WORDS);
    for (let w = 0; w < FACE_HASH_WORDS; w++) {
      hash[w] = view.getUint32(o + 8 + w * 4, true);
      mirror[w] = view.getUint32(o + 8 + (FACE_HASH_WORDS + w) * 4, true);
    }
    frames.push({ time, hash, mirror });
  }
  return { kind: 'visual', version: FACE_HASH_VERSION, still: bytes[3] === 1, frames };
}
