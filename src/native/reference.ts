import { LikenessError } from '../errors';
import type { Affine } from '../face/geometry';
import { invertAffine, nms } from '../face/geometry';
import { toNchw, warpAffineRgb } from '../face/warp';
import { insertTop, type TopK } from '../match/gallery';
import type { Box, RgbImage } from '../types';
import { int, num } from '../validate';
import { fbankPlan, type FbankOptions } from '../voice/fbank';

// TS twins of the native kernels. Each one is built from the library's existing TS reference (fbank.ts, warp.ts,
// geometry.ts, gallery.ts) and is what runs when the addon is missing. Tables that must be identical in both paths
// (fbank window and mel weights, resampler taps, inverse crop transforms) are computed here and handed to the addon.

/** The fbank plan in the flat form the native kernel takes; built from fbank.ts's own window and mel functions. */
export interface FbankTables {
  windowSize: number;
  windowShift: number;
  paddedSize: number;
  bins: number;
  scale: number;
  preemphasis: number;
  removeDcOffset: boolean;
  snipEdges: boolean;
  usePower: boolean;
  window: Float64Array;
  /** First FFT bin with a non-zero weight, per mel bin. */
  melStart: Int32Array;
  /** Number of weights from `melStart`, per mel bin. */
  melLen: Int32Array;
  /** Offset of each bin's weights in `melWeights`. */
  melOffset: Int32Array;
  melWeights: Float64Array;
}

const fbankTableCache = new Map<string, FbankTables>();

/**
 * The fbank tables for `opts`, exactly as src/voice/fbank.ts builds its plan (same window and mel functions, same
 * integer frame arithmetic). Options are validated by fbank.ts itself.
 */
export function fbankTables(opts: FbankOptions = {}): FbankTables {
  const plan = fbankPlan(opts); // validates the options the way fbank() does (throws E_INPUT)
  const o = plan.o;
  const key = JSON.stringify(o);
  const cached = fbankTableCache.get(key);
  if (cached) return cached;
  // The native kernel takes the sparse mel filters flattened into one array with per-bin offsets.
  const melLen = Int32Array.from(plan.melWeights, (w) => w.length);
  const melOffset = new Int32Array(o.numBins);
  for (let b = 1; b < o.numBins; b++) melOffset[b] = melOffset[b - 1]! + melLen[b - 1]!;
  const melWeights = new Float64Array(plan.melWeights.reduce((n, w) => n + w.length, 0));
  plan.melWeights.forEach((w, b) => melWeights.set(w, melOffset[b]!));
  const t: FbankTables = {
    windowSize: plan.windowSize,
    windowShift: plan.windowShift,
    paddedSize: plan.paddedSize,
    bins: o.numBins,
    scale: o.scale,
    preemphasis: o.preemphasis,
    removeDcOffset: o.removeDcOffset,
    snipEdges: o.snipEdges,
    usePower: o.usePower,
    window: plan.window,
    melStart: plan.melStart,
    melLen,
    melOffset,
    melWeights,
  };
  if (fbankTableCache.size > 32) fbankTableCache.clear();
  fbankTableCache.set(key, t);
  return t;
}

/** Checks crop arguments and returns the inverse (output -> source) transforms, 6 numbers per face. */
export function cropInverses(image: RgbImage, transforms: readonly Affine[], size: number): Float64Array {
  int('crop size', size, 1, 4096);
  if (!(image.data instanceof Uint8Array) || image.width < 1 || image.height < 1 || image.data.length < image.width * image.height * 3) {
    throw new LikenessError('E_INPUT', 'crop source must be a decoded RGB image (width x height x 3 bytes)');
  }
  const inv = new Float64Array(transforms.length * 6);
  transforms.forEach((m, i) => {
    const t = invertAffine(m);
    if (!t.every(Number.isFinite)) throw new LikenessError('E_INPUT', `face ${i}: the crop transform is singular or not finite`);
    inv.set(t, i * 6);
  });
  return inv;
}

/**
 * TS twin of the batched crop kernel: for each face, `warpAffineRgb` (bilinear, replicated border, rounded to bytes)
 * then `toNchw` with (x - mean) / std, into one `faces x 3 x size x size` float32 batch.
 * @param transforms source -> crop similarity transforms (e.g. from `similarityTransform(landmarks, ARCFACE_112)`)
 */
export function cropsToNchwTs(image: RgbImage, transforms: readonly Affine[], size: number, mean: number, std: number, flip = false): Float32Array {
  cropInverses(image, transforms, size);
  num('std', std, 1e-9, 1e9);
  const out = new Float32Array(transforms.length * 3 * size * size);
  transforms.forEach((m, i) => toNchw(warpAffineRgb(image, m, size, size), mean, std, out, i * 3 * size * size, flip));
  return out;
}

/**
 * TS twin of the letterbox kernel: `warpAffineRgb` of the image into the top-left `validW x validH`, a `pad` border
 * up to `width x height`, then `toNchw` with (x - mean) / std (what resizeRgb + padImage + toNchw compute).
 */
export function letterboxToNchwTs(
  image: RgbImage,
  transform: Affine,
  width: number,
  height: number,
  validW: number,
  validH: number,
  pad: number,
  mean: number,
  std: number,
): Float32Array {
  cropInverses(image, [transform], 1);
  const canvas = new Uint8Array(width * height * 3).fill(pad);
  if (validW > 0 && validH > 0) {
    const warped = warpAffineRgb(image, transform, validW, validH);
    for (let y = 0; y < validH; y++) canvas.set(warped.data.subarray(y * validW * 3, (y + 1) * validW * 3), y * width * 3);
  }
  const out = new Float32Array(3 * width * height);
  toNchw({ width, height, data: canvas }, mean, std, out);
  return out;
}

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
 * (src/face/faceplugin.ts) followed by `nms` (src/face/geometry.ts).
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

/** A gallery quantised to int8 with one float32 scale per row (value ~= q * scale). */
export interface QuantizedGallery {
  dim: number;
  rows: number;
  data: Int8Array;
  scales: Float32Array;
}

/** Math.round with the native kernel's float64 steps: halves go towards +infinity. */
function jsRound(x: number): number {
  const f = Math.floor(x);
  return x - f >= 0.5 ? f + 1 : f;
}

/** TS twin of row quantisation: scale = max|v| / 127 (float32), q = round(v / scale). */
export function quantizeRowsTs(vectors: Float32Array, dim: number): QuantizedGallery {
  int('dim', dim, 1, 1 << 20);
  const rows = Math.floor(vectors.length / dim);
  const data = new Int8Array(rows * dim);
  const scales = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    let maxAbs = 0;
    for (let i = 0; i < dim; i++) maxAbs = Math.max(maxAbs, Math.abs(vectors[r * dim + i]!));
    const s = Math.fround(maxAbs / 127);
    scales[r] = s;
    for (let i = 0; i < dim; i++) {
      const t = s > 0 ? jsRound(vectors[r * dim + i]! / s) : 0;
      data[r * dim + i] = Math.min(127, Math.max(-127, t));
    }
  }
  return { dim, rows, data, scales };
}

/** Largest int16 query value for which no int32 dot product over `dim` int8 x int16 terms can overflow. */
export function queryQuantMax(dim: number): number {
  return Math.min(32767, Math.max(1, Math.floor(2147483647 / (127 * Math.max(1, dim)))));
}

/** TS twin of query quantisation (int16 per value, float64 scale per query), as the native search does it. */
export function quantizeQueriesTs(queries: Float32Array, dim: number): { data: Int16Array; scales: Float64Array } {
  const m = Math.floor(queries.length / dim);
  const qmax = queryQuantMax(dim);
  const data = new Int16Array(m * dim);
  const scales = new Float64Array(m);
  for (let q = 0; q < m; q++) {
    let maxAbs = 0;
    for (let i = 0; i < dim; i++) maxAbs = Math.max(maxAbs, Math.abs(queries[q * dim + i]!));
    const s = maxAbs / qmax;
    scales[q] = s;
    for (let i = 0; i < dim; i++) {
      const t = s > 0 ? jsRound(queries[q * dim + i]! / s) : 0;
      data[q * dim + i] = Math.min(qmax, Math.max(-qmax, t));
    }
  }
  return { data, scales };
}

/**
 * TS twin of the int8 search: exact integer dot products of int8 rows with int16-quantised queries, scaled back to
 * float32 scores; same top-k and tie rules as `topK` in src/match/gallery.ts.
 */
export function topKInt8Ts(g: QuantizedGallery, queries: Float32Array, k: number): TopK {
  const { dim, rows } = g;
  const q = quantizeQueriesTs(queries, dim);
  const m = q.scales.length;
  const kk = Math.max(0, Math.min(k, rows));
  const indices = new Int32Array(m * kk).fill(-1);
  const scores = new Float32Array(m * kk).fill(-Infinity);
  for (let qi = 0; qi < m; qi++) {
    const qo = qi * dim;
    for (let r = 0; r < rows; r++) {
      const ro = r * dim;
      let dot = 0;
      for (let i = 0; i < dim; i++) dot += g.data[ro + i]! * q.data[qo + i]!;
      insertTop(indices, scores, qi * kk, kk, r, Math.fround(dot * g.scales[r]! * q.scales[qi]!));
    }
  }
  return { indices, scores, k: kk };
}

/** A polyphase windowed-sinc filter bank for one rate pair. */
export interface ResamplePlan {
  inRate: number;
  outRate: number;
  /** Rates divided by their gcd: output position n sits at input position n * down / up. */
  up: number;
  down: number;
  /** Tabulated phases: `up` when that is small enough, else 4096 (the nearest phase is used). */
  phases: number;
  /** Taps per phase (2 x half). */
  numTaps: number;
  half: number;
  /** `phases x numTaps` filter taps, each phase normalised to unit DC gain. */
  taps: Float64Array;
}

const MAX_PHASES = 4096;
/** Zero crossings of the sinc on each side: with the Kaiser window below, stop-band rejection is about 80 dB. */
const ZERO_CROSSINGS = 16;
const KAISER_BETA = 8.6;
/** Pass-band edge as a fraction of the lower Nyquist frequency. */
const ROLLOFF = 0.945;

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

function besselI0(x: number): number {
  let sum = 1, term = 1;
  for (let k = 1; k < 64; k++) {
    term *= (x / (2 * k)) ** 2;
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return sum;
}

const resamplePlans = new Map<string, ResamplePlan>();

/** The filter bank for `inRate` -> `outRate` (integer rates, 1 Hz .. 384 kHz); cached per pair. */
export function resamplePlan(inRate: number, outRate: number): ResamplePlan {
  int('input sample rate', inRate, 1, 384000);
  int('output sample rate', outRate, 1, 384000);
  const key = `${inRate}:${outRate}`;
  const cached = resamplePlans.get(key);
  if (cached) return cached;
  const g = gcd(inRate, outRate);
  const up = outRate / g, down = inRate / g;
  const phases = Math.min(up, MAX_PHASES);
  // Cutoff in cycles per input sample: below the lower of the two Nyquist frequencies.
  const fc = 0.5 * Math.min(1, outRate / inRate) * ROLLOFF;
  const half = Math.ceil(ZERO_CROSSINGS / (2 * fc));
  const numTaps = 2 * half;
  const taps = new Float64Array(phases * numTaps);
  const i0b = besselI0(KAISER_BETA);
  for (let p = 0; p < phases; p++) {
    const frac = p / phases;
    let sum = 0;
    for (let j = 0; j < numTaps; j++) {
      const d = j - half + 1 - frac; // input sample minus output position
      const u = d / half;
      const w = Math.abs(u) >= 1 ? 0 : besselI0(KAISER_BETA * Math.sqrt(1 - u * u)) / i0b;
      const x = 2 * fc * d;
      const sinc = x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x);
      taps[p * numTaps + j] = 2 * fc * sinc * w;
      sum += taps[p * numTaps + j]!;
    }
    for (let j = 0; j < numTaps; j++) taps[p * numTaps + j]! /= sum;
  }
  const plan: ResamplePlan = { inRate, outRate, up, down, phases, numTaps, half, taps };
  if (resamplePlans.size > 16) resamplePlans.clear();
  resamplePlans.set(key, plan);
  return plan;
}

/** Output length for `inLen` input samples: ceil(inLen * up / down). */
export function resampledLength(inLen: number, plan: ResamplePlan): number {
  return floorDiv(inLen * plan.up + plan.down - 1, plan.down);
}

/** Exact floor(a / b) for non-negative integers below 2^53 (a float division can round up to the next integer). */
function floorDiv(a: number, b: number): number {
  let q = Math.floor(a / b);
  while (q * b > a) q--;
  while ((q + 1) * b <= a) q++;
  return q;
}

/** TS twin of the resampler: out[n] = sum_j taps[phase(n)][j] * x[base(n) - half + 1 + j], zeros outside the input. */
export function resampleTs(samples: Float32Array, plan: ResamplePlan): Float32Array {
  const { up, down, phases, numTaps, half, taps } = plan;
  const outLen = resampledLength(samples.length, plan);
  const out = new Float32Array(outLen);
  const n = samples.length;
  for (let o = 0; o < outLen; o++) {
    const pos = o * down;
    let base = floorDiv(pos, up);
    const frac = pos - base * up;
    let p = frac;
    if (phases !== up) {
      p = Math.floor((2 * frac * phases + up) / (2 * up));
      if (p === phases) {
        p = 0;
        base++;
      }
    }
    const start = base - half + 1;
    const h = p * numTaps;
    let acc = 0;
    for (let j = 0; j < numTaps; j++) {
      const i = start + j;
      if (i >= 0 && i < n) acc += taps[h + j]! * samples[i]!;
    }
    out[o] = acc;
  }
  return out;
}
