import { hammingWords } from '../kernels/hamming';
import type { FaceDetection, RgbImage } from '../types';
import { LikenessError } from '../errors';
import { fingerprintHeader, readFingerprintHeader } from '../media/fingerprint-format';
import { faceDetections, invalid, list, num, options, rgbImage } from '../validate';

// Face-anchored perceptual hashes, for telling the reuse of an enrolled photo or clip from another photo of the same
// person (issue 16). Lookups only happen for faces already matched to a performer, so the hash is anchored on the
// face: a context square around the face's five landmarks, wide enough to hold hair, clothes and background: the
// part that makes one photo differ from another photo of the same person.
//
// Why hand-written and not an npm perceptual-hash package (sharp-phash, blockhash-core, imghash...): those hash a
// whole image file through their own decode and resize, so a crop, a mirror or a frame taken from a video changes
// every bit; here the hash must be of a square anchored on the face's landmarks we already have, in the scan's hot path (one hash per
// face per sampled frame), on RGB pixels already decoded. It is a textbook DCT hash (pHash) on our own warp kernel:
// about 30 lines, no dependency, no extra decode.

/** Version of the visual hash algorithm; hashes of different versions are not comparable. */
export const FACE_HASH_VERSION = 2;

/**
 * Bits in one hash: the 64 lowest DCT frequencies. Measured on the face-api sample photos, the next 192 frequencies
 * of a 256-bit hash add more noise under re-encoding, crops and detector jitter than they add separation between
 * photos (see benchmarks/RESULTS.md, "Reuse or imitation").
 */
export const FACE_HASH_BITS = 64;

/** 32-bit words in one hash. */
export const FACE_HASH_WORDS = FACE_HASH_BITS / 32;

/**
 * Verification bits of a hash: the next 128 DCT frequencies. The 64 hashed bits find candidates; these tell the same
 * picture from another picture of the same person, which the 64 lowest frequencies alone do not always do (two
 * frontal headshots on white are within 8 bits of each other at some query variant). Measured: the grid's reused
 * photos are within 12 of 128 bits once the alignment is refined (scripts/origin-anchor.ts); of 5,220 pairs of
 * different photos (../shared/eval, same or other person) none passes both checks, of 152 transformed copies of the
 * same photo 144 do (npm run bench:origin).
 */
export const FACE_VERIFY_BITS = 128;

/** 32-bit words of the verification bits. */
export const FACE_VERIFY_WORDS = FACE_VERIFY_BITS / 32;

/** A candidate is the same picture when its refined verification distance is at most this many bits of 128. */
export const FACE_VERIFY_MAX_DISTANCE = 16;

/**
 * Side of the grey grid the DCT runs on. The 64 hashed frequencies (u + v <= 10) and the 128 verification ones
 * (u + v <= 20) fit a 16 x 16 grid; a finer grid would only pool the same pixels more finely, at four times the cost.
 */
const GRID = 16;

/**
 * Side of the hashed square in root-mean-square landmark radii (the five points' RMS distance from their centroid),
 * centred on the centroid: about 2.5 face widths, the face with three quarters of a face width of hair, clothes and
 * background on each side. Anchored on the landmarks, not on the detector's box: measured with
 * scripts/origin-anchor.ts, the box of the same face in the same pixels is 1.2-1.8x larger when the picture sits in a
 * wider video frame (the detector sees the whole frame squeezed to a square), the landmarks' radius 0.9-1.4x. Not on
 * the eyes alone: the inter-ocular distance changes by 30% on a turned head between a photo and its mirror image.
 */
const CONTEXT = 11;

/**
 * Shifts (fractions of the square's side) and scales of the square that a scanned face is hashed at ({@link
 * faceQueryHashes}): the lookup keeps the closest, which absorbs the detector's box jitter between the reference and
 * a re-encoded, cropped, mirrored or re-lit copy.
 */
const JITTER_SHIFTS: readonly number[] = [-0.08, -0.04, 0, 0.04, 0.08];
/**
 * Mostly below 1: measured with scripts/origin-anchor.ts, the landmarks' radius of a reused photo in a 640 x 360 ad is
 * 0.9-1.4x its radius in the photo, so the ad's square must shrink to about 0.7-1.1 of its size to cover the photo's;
 * down to 0.5 for the squares a still keeps inside its border ({@link stillFaceHashes}). 1.1 for the opposite case
 * (a wide reference frame reused in a narrower one).
 */
const JITTER_SCALES: readonly number[] = [0.5, 0.58, 0.66, 0.74, 0.82, 0.9, 1, 1.1];

/** Hashes per scanned face in {@link faceQueryHashes}. */
export const FACE_QUERY_VARIANTS = JITTER_SHIFTS.length ** 2 * JITTER_SCALES.length;

/** The canvas (around the square, room for the jitter) is this many square sides wide. */
const CANVAS = 1.3;
/** Canvas pixels per side (about 2.4 per grid cell). */
const CANVAS_PX = 50;

/** The perceptual hash of one face: its context square, and its mirror image (how a mirrored reuse of the same picture hashes). */
export interface FaceHash {
  /** {@link FACE_HASH_WORDS} words, {@link FACE_HASH_BITS} bits. */
  hash: Uint32Array;
  /** The hash of the horizontally mirrored square. */
  mirror: Uint32Array;
  /** {@link FACE_VERIFY_WORDS} words of verification bits of the square. */
  verify: Uint32Array;
  /** The verification bits of the mirrored square. */
  mirrorVerify: Uint32Array;
}

/** The DCT frequencies of the grid ordered by u + v (DC left out), as row * GRID + column. */
const FREQUENCIES: readonly number[] = (() => {
  const idx: [number, number][] = [];
  for (let u = 0; u < GRID; u++) for (let v = 0; v < GRID; v++) if (u + v > 0) idx.push([u, v]);
  idx.sort((a, b) => a[0] + a[1] - (b[0] + b[1]) || a[0] - b[0]);
  return idx.map(([u, v]) => u * GRID + v);
})();
/** The hashed frequencies: the {@link FACE_HASH_BITS} lowest. */
const ORDER = Int32Array.from(FREQUENCIES.slice(0, FACE_HASH_BITS));
/** The verification frequencies: the next {@link FACE_VERIFY_BITS}. */
const VERIFY_ORDER = Int32Array.from(FREQUENCIES.slice(FACE_HASH_BITS, FACE_HASH_BITS + FACE_VERIFY_BITS));
/** Rows and columns of the DCT computed for the hashed bits alone (the query variants). */
const MAX_FREQ = Math.max(...Array.from(ORDER, (k) => Math.max((k / GRID) | 0, k % GRID))) + 1;

/** cos((2x + 1) u pi / 64), [u][x]. */
const COS: Float64Array = (() => {
  const c = new Float64Array(GRID * GRID);
  for (let u = 0; u < GRID; u++) for (let x = 0; x < GRID; x++) c[u * GRID + x] = Math.cos(((2 * x + 1) * u * Math.PI) / (2 * GRID));
  return c;
})();

/**
 * The hashed square of a face: centred on the centroid of its five landmarks, {@link CONTEXT} RMS landmark radii wide.
 * Landmarks that collapse to a point (under a pixel of radius) fall back to the box, 3.2 radii to a box side, the ratio
 * on frontal faces.
 */
function anchor(d: FaceDetection): { cx: number; cy: number; side: number } {
  const L = d.landmarks;
  let cx = 0, cy = 0;
  for (const [x, y] of L) {
    cx += x / L.length;
    cy += y / L.length;
  }
  let ss = 0;
  for (const [x, y] of L) ss += (x - cx) ** 2 + (y - cy) ** 2;
  const rms = Math.sqrt(ss / L.length);
  const b = d.box;
  if (rms >= 1) return { cx, cy, side: rms * CONTEXT };
  return { cx: b.x + b.w / 2, cy: b.y + b.h / 2, side: (Math.max(b.w, b.h, 1) / 3.2) * CONTEXT };
}

/**
 * A grey canvas of {@link CANVAS_PX} pixels per side around the face's context square: each canvas pixel is the mean
 * of f x f point samples of the source (a box filter, so it does not alias), the border replicated outside the image.
 */
function greyCanvas(image: RgbImage, d: FaceDetection): Float32Array {
  const a = anchor(d);
  const side = a.side * CANVAS;
  const step = side / CANVAS_PX;
  // About two source pixels between samples at most.
  const f = Math.min(8, Math.max(1, Math.ceil(step / 2)));
  const x0 = a.cx - side / 2, y0 = a.cy - side / 2;
  const { width: W, height: H, data } = image;
  const xs = new Int32Array(CANVAS_PX * f);
  for (let i = 0; i < xs.length; i++) xs[i] = Math.min(W - 1, Math.max(0, Math.floor(x0 + ((i + 0.5) / f) * step))) * 3;
  const g = new Float32Array(CANVAS_PX * CANVAS_PX);
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

function bilinear(g: Float32Array, x: number, y: number): number {
  const cx = Math.min(Math.max(x, 0), CANVAS_PX - 1), cy = Math.min(Math.max(y, 0), CANVAS_PX - 1);
  const x0 = Math.floor(cx), y0 = Math.floor(cy);
  const x1 = Math.min(x0 + 1, CANVAS_PX - 1), y1 = Math.min(y0 + 1, CANVAS_PX - 1);
  const fx = cx - x0, fy = cy - y0;
  const top = g[y0 * CANVAS_PX + x0]! + (g[y0 * CANVAS_PX + x1]! - g[y0 * CANVAS_PX + x0]!) * fx;
  const bot = g[y1 * CANVAS_PX + x0]! + (g[y1 * CANVAS_PX + x1]! - g[y1 * CANVAS_PX + x0]!) * fx;
  return top + (bot - top) * fy;
}

/** The 32 x 32 grid of the square shifted by (sx, sy) sides and scaled by `scale`, from the canvas (2 x 2 samples per cell). */
function grid(canvas: Float32Array, sx: number, sy: number, scale: number): Float64Array {
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
function dct2(g: Float64Array, freqs = MAX_FREQ): Float64Array {
  const tmp = new Float64Array(GRID * freqs);
  for (let y = 0; y < GRID; y++) {
    for (let v = 0; v < freqs; v++) {
      let s = 0;
      for (let x = 0; x < GRID; x++) s += g[y * GRID + x]! * COS[v * GRID + x]!;
      tmp[y * freqs + v] = s;
    }
  }
  const out = new Float64Array(GRID * GRID);
  for (let u = 0; u < freqs; u++) {
    for (let v = 0; v < freqs; v++) {
      let s = 0;
      for (let y = 0; y < GRID; y++) s += tmp[y * freqs + v]! * COS[u * GRID + y]!;
      out[u * GRID + v] = s;
    }
  }
  return out;
}

/** Bits of the selected coefficients against their median into out[o..]; `mirror` negates odd horizontal frequencies first. */
function bits(coef: Float64Array, mirror: boolean, out: Uint32Array, o: number, order: Int32Array = ORDER): void {
  const n = order.length;
  const sel = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const k = order[i]!;
    sel[i] = mirror && (k % GRID) % 2 === 1 ? -coef[k]! : coef[k]!;
  }
  const sorted = Float64Array.from(sel).sort();
  const median = (sorted[n / 2 - 1]! + sorted[n / 2]!) / 2;
  for (let i = 0; i < n; i++) if (sel[i]! > median) out[o + (i >> 5)]! |= 1 << (i & 31);
}

/**
 * The perceptual hash of one detected face in a reference: the square of {@link CONTEXT} landmark radii around the
 * landmarks' centroid, pooled to a 16 x 16 grey grid, 2-D DCT, the 64 lowest frequencies thresholded at their
 * median; and the same for the mirrored square. Brightness changes leave it alone (a median threshold of a linear transform), and so do scaling
 * and crops that leave the square in the frame (it is anchored on the face, not on the image borders); another photo
 * of the same person changes the context and the pose and hashes far away. Throws E_INPUT for a malformed image or
 * detection.
 */
export function faceHash(image: RgbImage, detection: FaceDetection, opts: { scale?: number } = {}): FaceHash {
  rgbImage('image', image);
  faceDetections('detection', [detection]);
  const scale = num('scale', options('faceHash options', opts).scale ?? 1, 0.25, 1);
  const coef = dct2(grid(greyCanvas(image, detection), 0, 0, scale), GRID);
  const hash = new Uint32Array(FACE_HASH_WORDS), mirror = new Uint32Array(FACE_HASH_WORDS);
  const verify = new Uint32Array(FACE_VERIFY_WORDS), mirrorVerify = new Uint32Array(FACE_VERIFY_WORDS);
  bits(coef, false, hash, 0);
  bits(coef, true, mirror, 0);
  bits(coef, false, verify, 0, VERIFY_ORDER);
  bits(coef, true, mirrorVerify, 0, VERIFY_ORDER);
  return { hash, mirror, verify, mirrorVerify };
}

/** Values in a query canvas ({@link faceQueryCanvas}). */
export const FACE_QUERY_CANVAS_SIZE = CANVAS_PX * CANVAS_PX;

/** (shift x, shift y, scale) of each query variant; the unshifted, unscaled square first. */
const VARIANTS: readonly (readonly [number, number, number])[] = (() => {
  const combos: [number, number, number][] = [[0, 0, 1]];
  for (const sc of JITTER_SCALES) for (const sy of JITTER_SHIFTS) for (const sx of JITTER_SHIFTS) if (!(sx === 0 && sy === 0 && sc === 1)) combos.push([sx, sy, sc]);
  return combos;
})();

/**
 * What a lookup needs of one scanned face: the grey canvas around its hashed square ({@link FACE_QUERY_CANVAS_SIZE}
 * values, 10 kB). A scan keeps this per sampled frame and hashes the variants only when the face is matched to a
 * performer and looked up ({@link canvasQueryHashes}). Throws E_INPUT for a malformed image or detection.
 */
export function faceQueryCanvas(image: RgbImage, detection: FaceDetection): Float32Array {
  rgbImage('image', image);
  faceDetections('detection', [detection]);
  return greyCanvas(image, detection);
}

function queryCanvas(name: string, canvas: Float32Array): Float32Array {
  if (!(canvas instanceof Float32Array) || canvas.length !== FACE_QUERY_CANVAS_SIZE) throw invalid(`${name} must be a Float32Array of ${FACE_QUERY_CANVAS_SIZE} values (faceQueryCanvas)`);
  return canvas;
}

/**
 * The {@link FACE_QUERY_VARIANTS} hashes of a query canvas, {@link FACE_HASH_WORDS} words each (the first is the
 * unshifted, unscaled square: {@link faceHash}'s `hash`): the square shifted by up to 8% and scaled by 0.5-1.1, so
 * that the lookup can take the closest. Throws E_INPUT for a canvas not made by {@link faceQueryCanvas}.
 */
export function canvasQueryHashes(canvas: Float32Array): Uint32Array {
  queryCanvas('canvas', canvas);
  const out = new Uint32Array(FACE_QUERY_VARIANTS * FACE_HASH_WORDS);
  VARIANTS.forEach(([sx, sy, sc], v) => bits(dct2(grid(canvas, sx, sy, sc)), false, out, FACE_HASH_WORDS * v));
  return out;
}

/** {@link canvasQueryHashes} of the face's {@link faceQueryCanvas}. Throws E_INPUT for a malformed image or detection. */
export function faceQueryHashes(image: RgbImage, detection: FaceDetection): Uint32Array {
  return canvasQueryHashes(faceQueryCanvas(image, detection));
}

/** Coordinate-descent steps of the verification (shift x, shift y as square sides; scale as a ratio), halved to a quarter. */
const REFINE_STEPS: readonly number[] = [0.02, 0.02, 0.04];
/** Verification evaluations at most per candidate. */
const REFINE_BUDGET = 40;

/**
 * The verification distance of a scanned face to a stored hash that its `variant` found: the alignment of the variant
 * refined by coordinate descent (shifts down to 0.5% of the square, scale to 1%) to the fewest differing verification
 * bits, against `verify` ({@link FaceHash}'s `verify`, or `mirrorVerify` for a mirrored candidate). The verification
 * bits are high frequencies, so they agree only when the alignment is close; at most {@link REFINE_BUDGET} hashes per
 * candidate. Throws E_INPUT for a bad canvas, variant or verification words.
 */
export function faceVerifyDistance(canvas: Float32Array, variant: number, verify: Uint32Array): number {
  queryCanvas('canvas', canvas);
  num('variant', variant, 0, FACE_QUERY_VARIANTS - 1);
  if (!Number.isInteger(variant)) throw invalid('variant must be a whole number');
  if (!(verify instanceof Uint32Array) || verify.length !== FACE_VERIFY_WORDS) throw invalid(`verify must be a Uint32Array of ${FACE_VERIFY_WORDS} words`);
  const words = new Uint32Array(FACE_VERIFY_WORDS);
  const at = (x: number, y: number, sc: number): number => {
    words.fill(0);
    bits(dct2(grid(canvas, x, y, sc), GRID), false, words, 0, VERIFY_ORDER);
    return hammingWords(words, 0, verify, 0, FACE_VERIFY_WORDS);
  };
  let [x, y, sc] = VARIANTS[variant]!;
  let best = at(x, y, sc);
  let step = [...REFINE_STEPS];
  for (let n = 1; n < REFINE_BUDGET && step[0]! >= REFINE_STEPS[0]! / 4 && best > 0; ) {
    let moved = false;
    for (const [dx, dy, ds] of [[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1]] as const) {
      const cx = x + dx * step[0]!, cy = y + dy * step[1]!, cs = sc * (1 + ds * step[2]!);
      const d = at(cx, cy, cs);
      n++;
      if (d < best) [best, x, y, sc, moved] = [d, cx, cy, cs, true];
    }
    if (!moved) step = step.map((t) => t / 2);
  }
  return best;
}

/**
 * Frame shapes a still reference is also seen in. The detector squeezes the whole frame to a square, so the same face
 * gets other landmarks when a photo sits in a wider or taller frame (measured with scripts/origin-anchor.ts: the
 * landmarks' radius of a square photo in a 640 x 360 ad is 0.9-1.4x its radius in the photo): a still's fingerprint
 * also holds the hashes of the face as the detector places it with the photo centred in a 16:9 and a 9:16 frame.
 */
const STILL_FRAME_ASPECTS: readonly number[] = [16 / 9, 9 / 16];

/** A square hashed at less than this share of its side (to stay inside the photo) is not kept: too little context. */
const MIN_FIT_SCALE = 0.5;

/** The image centred in a black frame of aspect `aspect` (width / height) at least as large, with the offset. */
function inFrame(image: RgbImage, aspect: number): { image: RgbImage; dx: number; dy: number } {
  const W = Math.round(Math.max(image.width, image.height * aspect)), H = Math.round(Math.max(image.height, image.width / aspect));
  const dx = (W - image.width) >> 1, dy = (H - image.height) >> 1;
  const data = new Uint8Array(W * H * 3);
  const row = image.width * 3;
  for (let y = 0; y < image.height; y++) data.set(image.data.subarray(y * row, (y + 1) * row), ((y + dy) * W + dx) * 3);
  return { image: { width: W, height: H, data }, dx, dy };
}

/**
 * The share of the hashed square's side that fits inside the image around the same centre (at most 1), the image's
 * border first cut by `crop` of its width and height on each side.
 */
function fitScale(image: RgbImage, d: FaceDetection, crop: number): number {
  const a = anchor(d);
  const { width: W, height: H } = image;
  return Math.min(1, (2 * Math.min(a.cx - crop * W, (1 - crop) * W - a.cx, a.cy - crop * H, (1 - crop) * H - a.cy)) / a.side);
}

/** Border cuts a still's inside squares are fitted to: none, and the 10% crop (5% a side) a reuse should survive. */
const FIT_CROPS: readonly number[] = [0, 0.05];

/**
 * The hashes of the enrolled face of a still reference (a photo), for {@link visualFingerprint}'s frames: the face as
 * detected in the photo, and as `detect` finds it with the photo centred in a 16:9 and a 9:16 frame (the detector
 * places a face differently in a frame of another shape); for each, when the hashed square leaves the photo, also the
 * largest squares around the same centre that stay inside it and inside its central 90% (what a reuse that puts the
 * photo, or a 10% crop of it, on other surroundings keeps). Identical hashes are kept once.
 */
export async function stillFaceHashes(image: RgbImage, detection: FaceDetection, detect: (image: RgbImage) => Promise<FaceDetection[]>): Promise<FaceHash[]> {
  rgbImage('image', image);
  faceDetections('detection', [detection]);
  const dets: FaceDetection[] = [detection];
  const at = anchor(detection);
  const aspect = image.width / image.height;
  for (const target of STILL_FRAME_ASPECTS) {
    if (Math.abs(Math.log(aspect / target)) < 0.1) continue;
    const framed = inFrame(image, target);
    // The same face: the detection whose landmarks' centre lies nearest the enrolled one's, within a fifth of the square.
    let best: FaceDetection | null = null, bestD = at.side / 5;
    for (const d of await detect(framed.image)) {
      const moved: FaceDetection = {
        ...d,
        box: { ...d.box, x: d.box.x - framed.dx, y: d.box.y - framed.dy },
        landmarks: d.landmarks.map(([x, y]) => [x - framed.dx, y - framed.dy]) as FaceDetection['landmarks'],
      };
      const m = anchor(moved);
      const dist = Math.hypot(m.cx - at.cx, m.cy - at.cy);
      if (dist < bestD) [best, bestD] = [moved, dist];
    }
    if (best) dets.push(best);
  }
  const out: FaceHash[] = [];
  const seen = new Set<string>();
  const keep = (h: FaceHash): void => {
    const k = `${h.hash.join(',')}/${h.verify.join(',')}`;
    if (!seen.has(k)) [seen.add(k), out.push(h)];
  };
  for (const d of dets) {
    keep(faceHash(image, d));
    for (const crop of FIT_CROPS) {
      const fit = fitScale(image, d, crop);
      if (fit < 0.95 && fit >= MIN_FIT_SCALE) keep(faceHash(image, d, { scale: fit }));
    }
  }
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

/** The visual fingerprint of one reference: a photo (`still`, its hashes as frames at time 0) or frames of a video clip. */
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
 * The fingerprint of a reference from its hashed face frames: frames at time 0 for a photo (`still`; see
 * {@link stillFaceHashes}), or the performer's face in frames sampled at {@link REFERENCE_VIDEO_FPS} for a clip. Frames
 * are sorted by time.
 */
export function visualFingerprint(frames: readonly FaceHashFrame[], opts: { still?: boolean } = {}): VisualFingerprint {
  list('frames', frames, 1);
  frames.forEach((f, i) => {
    num(`frames[${i}].time`, f?.time, 0, Number.MAX_VALUE);
    for (const k of ['hash', 'mirror'] as const) if (!(f[k] instanceof Uint32Array) || f[k].length !== FACE_HASH_WORDS) throw invalid(`frames[${i}].${k} must be a Uint32Array of ${FACE_HASH_WORDS} words`);
    for (const k of ['verify', 'mirrorVerify'] as const) if (!(f[k] instanceof Uint32Array) || f[k].length !== FACE_VERIFY_WORDS) throw invalid(`frames[${i}].${k} must be a Uint32Array of ${FACE_VERIFY_WORDS} words`);
  });
  const still = opts.still ?? false;
  if (still && frames.some((f) => f.time !== 0)) throw invalid('a still (photo) fingerprint has its frames at time 0');
  const sorted = [...frames]
    .sort((a, b) => a.time - b.time)
    .map((f) => ({ time: f.time, hash: Uint32Array.from(f.hash), mirror: Uint32Array.from(f.mirror), verify: Uint32Array.from(f.verify), mirrorVerify: Uint32Array.from(f.mirrorVerify) }));
  return { kind: 'visual', version: FACE_HASH_VERSION, still, frames: sorted };
}

const FRAME_BYTES = 8 + 8 * FACE_HASH_WORDS + 8 * FACE_VERIFY_WORDS;

/** The bytes of a visual fingerprint (header with the still flag, then per frame a float64 time, both hashes and both verification words, little-endian). */
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
    const v0 = o + 8 + 8 * FACE_HASH_WORDS;
    for (let w = 0; w < FACE_VERIFY_WORDS; w++) {
      view.setUint32(v0 + w * 4, f.verify[w]!, true);
      view.setUint32(v0 + (FACE_VERIFY_WORDS + w) * 4, f.mirrorVerify[w]!, true);
    }
  });
  return out;
}

/** The visual fingerprint in bytes made by {@link serializeVisualFingerprint}; E_DECODE / E_UNSUPPORTED for other bytes. */
export function deserializeVisualFingerprint(bytes: Uint8Array): VisualFingerprint {
  const { count, view } = readFingerprintHeader(bytes, 'visual', FACE_HASH_VERSION, (n) => n * FRAME_BYTES);
  if (bytes[3]! > 1) throw new LikenessError('E_DECODE', 'visual fingerprint has a bad still flag');
  const frames: FaceHashFrame[] = [];
  for (let i = 0; i < count; i++) {
    const o = 8 + i * FRAME_BYTES;
    const time = view.getFloat64(o, true);
    if (!Number.isFinite(time) || time < 0 || (bytes[3] === 1 && time !== 0)) throw new LikenessError('E_DECODE', `visual fingerprint frame ${i} has a bad time`);
    const hash = new Uint32Array(FACE_HASH_WORDS), mirror = new Uint32Array(FACE_HASH_WORDS);
    for (let w = 0; w < FACE_HASH_WORDS; w++) {
      hash[w] = view.getUint32(o + 8 + w * 4, true);
      mirror[w] = view.getUint32(o + 8 + (FACE_HASH_WORDS + w) * 4, true);
    }
    const verify = new Uint32Array(FACE_VERIFY_WORDS), mirrorVerify = new Uint32Array(FACE_VERIFY_WORDS);
    const v0 = o + 8 + 8 * FACE_HASH_WORDS;
    for (let w = 0; w < FACE_VERIFY_WORDS; w++) {
      verify[w] = view.getUint32(v0 + w * 4, true);
      mirrorVerify[w] = view.getUint32(v0 + (FACE_VERIFY_WORDS + w) * 4, true);
    }
    frames.push({ time, hash, mirror, verify, mirrorVerify });
  }
  return { kind: 'visual', version: FACE_HASH_VERSION, still: bytes[3] === 1, frames };
}
