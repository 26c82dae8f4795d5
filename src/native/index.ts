import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { LikenessError, toLikenessError } from '../errors';
import type { Affine } from '../face/geometry';
import { topK, type TopK } from '../match/gallery';
import type { RgbImage } from '../types';
import { int, num } from '../validate';
import { fbank, fbankFrameCount, type Fbank, type FbankOptions } from '../voice/fbank';
import {
  cropInverses,
  cropsToNchwTs,
  letterboxToNchwTs,
  fbankTables,
  postprocessDetectionsTs,
  quantizeRowsTs,
  resamplePlan,
  resampledLength,
  resampleTs,
  topKInt8Ts,
  type DetectionParams,
  type QuantizedGallery,
  type ScoredBox,
} from './reference';

// The hot path's own code (issue 6): a C++ addon (binding.gyp, src/native/*.cc) with a TS twin for every kernel.
// Each export here runs the addon when it loaded and the TS twin otherwise, so a failed native build only costs
// speed. Work that can take more than about a millisecond runs on the libuv pool (the promise resolves when done);
// tiny inputs run synchronously because a thread hop would cost more than the work. Input and output arrays are
// shared with the worker thread: do not modify them until the promise settles.

export type { DetectionParams, QuantizedGallery, ScoredBox } from './reference';

interface Addon {
  fbank(s: Float32Array, w: Float64Array, ms: Int32Array, ml: Int32Array, mo: Int32Array, mw: Float64Array, p: Float64Array, out: Float32Array, async: boolean, threads: number): Promise<void> | undefined;
  crops(img: Uint8Array, w: number, h: number, inv: Float64Array, geometry: Float64Array, flip: boolean, out: Float32Array, async: boolean, threads: number): Promise<void> | undefined;
  detect(scores: Float32Array, boxes: Float32Array, params: Float64Array): Float64Array;
  searchF32(g: Float32Array, dim: number, q: Float32Array, k: number, idx: Int32Array, sc: Float32Array, async: boolean): Promise<void> | undefined;
  quantizeRows(v: Float32Array, dim: number, q: Int8Array, s: Float32Array, async: boolean): Promise<void> | undefined;
  searchI8(g: Int8Array, s: Float32Array, dim: number, q: Float32Array, k: number, idx: Int32Array, sc: Float32Array, async: boolean): Promise<void> | undefined;
  resample(x: Float32Array, taps: Float64Array, phases: number, numTaps: number, half: number, up: number, down: number, out: Float32Array, async: boolean): Promise<void> | undefined;
  simd(): string;
}

/** What `likeness doctor` reports about the native kernels. */
export interface NativeInfo {
  /** True when the addon loaded and its kernels run. */
  available: boolean;
  /** Instruction set the kernels chose at run time (`avx2+fma` or `portable`); undefined without the addon. */
  simd?: string;
  /** Why the addon is not in use (not built, load error, or LIKENESS_NO_NATIVE=1). */
  reason?: string;
}

/** Options for kernels that can split long inputs over threads. */
export interface NativeOptions {
  /**
   * Most threads one call may use (long inputs only). Default: the number of CPUs, at most 4, for fbank (10 s of
   * audio or more per thread); 1 for face crops.
   */
  threads?: number;
}

function defaultThreads(): number {
  return Math.max(1, Math.min(4, os.availableParallelism?.() ?? os.cpus().length));
}

// Below these sizes a kernel runs synchronously: about a millisecond of native work or less (measured on the
// development machine), where a hop to the thread pool would cost a noticeable part of the work itself.
/** Multiply-adds (search, resampling) or values (quantisation). */
const SYNC_WORK = 1 << 20;
/** fbank input samples: 10 s at 16 kHz, about 1000 frames at about 0.8 us each. */
const SYNC_FBANK_SAMPLES = 160_000;
/** Output pixels of a crop batch: about 12 faces of 112 x 112 at about 7 ns per pixel. */
const SYNC_CROP_PIXELS = 150_000;

let addon: Addon | null | undefined;
let loadReason: string | undefined;

/** The package root: the folder above src/native (or dist/native) that holds binding.gyp or package.json. */
function packageRoot(): string {
  let dir = __dirname;
  for (let i = 0; i < 5; i++) {
    if (fs.existsSync(path.join(dir, 'binding.gyp')) || fs.existsSync(path.join(dir, 'package.json'))) return dir;
    dir = path.dirname(dir);
  }
  return path.resolve(__dirname, '..', '..');
}

function load(): Addon | null {
  if (addon !== undefined) return addon;
  if (process.env['LIKENESS_NO_NATIVE'] === '1') {
    loadReason = 'disabled by LIKENESS_NO_NATIVE=1';
    return (addon = null);
  }
  try {
    const gypBuild = require('node-gyp-build') as (dir: string) => unknown;
    addon = gypBuild(packageRoot()) as Addon;
  } catch (e) {
    loadReason = `native addon not built or not loadable (${(e as Error).message.split('\n')[0]}); run "npx node-gyp rebuild" in the package folder`;
    addon = null;
  }
  return addon;
}

/** True when the C++ kernels are in use (false: the TS implementations run instead). */
export function nativeAvailable(): boolean {
  return load() !== null;
}

/** Whether the addon is in use, which instruction set it chose, or why it is not in use. */
export function nativeInfo(): NativeInfo {
  const a = load();
  return a ? { available: true, simd: a.simd() } : { available: false, reason: loadReason };
}

/** Runs an addon call (sync or async) and turns whatever it throws into a LikenessError. */
async function settle(call: () => Promise<void> | undefined, what: string): Promise<void> {
  try {
    await call();
  } catch (e) {
    throw toLikenessError(e, 'E_INPUT', `native ${what}`);
  }
}

/**
 * Kaldi log-mel filterbank of a whole signal: the native kernel, or `fbank` from src/voice/fbank.ts without the
 * addon. Same options and result as `fbank`; the two agree within 1e-4.
 */
export async function computeFbank(samples: Float32Array, opts: FbankOptions = {}, native: NativeOptions = {}): Promise<Fbank> {
  if (!(samples instanceof Float32Array)) throw new LikenessError('E_INPUT', 'fbank samples must be a Float32Array');
  const a = load();
  if (!a) return fbank(samples, opts);
  const t = fbankTables(opts);
  const frames = samples.length === 0 ? 0 : fbankFrameCount(samples.length, opts);
  const data = new Float32Array(frames * t.bins);
  if (frames === 0) return { frames, bins: t.bins, data };
  const params = Float64Array.of(t.windowSize, t.windowShift, t.paddedSize, t.bins, t.scale, t.preemphasis, +t.removeDcOffset, +t.snipEdges, +t.usePower, frames);
  const async = samples.length > SYNC_FBANK_SAMPLES;
  const threads = int('threads', native.threads ?? defaultThreads(), 1, 64);
  await settle(() => a.fbank(samples, t.window, t.melStart, t.melLen, t.melOffset, t.melWeights, params, data, async, threads), 'fbank');
  return { frames, bins: t.bins, data };
}

/** Options of {@link cropFacesNchw}. */
export interface CropOptions {
  /** Subtracted from every byte; default 127.5. */
  mean?: number;
  /** Divides every byte after the mean; default 128. */
  std?: number;
  /** Mirror each crop left-right (test-time augmentation); default false. */
  flip?: boolean;
}

/**
 * Face crops for a recognition model in one call: for each source -> crop transform, similarity warp with bilinear
 * sampling (replicated border, rounded to bytes) and (x - mean) / std, written as one NCHW float32 batch
 * (`transforms.length x 3 x size x size`). Native kernel, or `cropsToNchwTs` without the addon (identical values).
 */
export async function cropFacesNchw(image: RgbImage, transforms: readonly Affine[], size: number, opts: CropOptions = {}, native: NativeOptions = {}): Promise<Float32Array> {
  const mean = num('mean', opts.mean ?? 127.5, -1e9, 1e9);
  const std = num('std', opts.std ?? 128, 1e-9, 1e9);
  const flip = opts.flip ?? false;
  const a = load();
  if (!a) return cropsToNchwTs(image, transforms, size, mean, std, flip);
  const inv = cropInverses(image, transforms, size);
  const out = new Float32Array(transforms.length * 3 * size * size);
  const async = transforms.length * size * size > SYNC_CROP_PIXELS;
  // One thread by default: a frame's crops take about a millisecond, and a second thread only pays off on an idle
  // core (under load the split waits for the slower half).
  const threads = int('threads', native.threads ?? 1, 1, 64);
  const geometry = Float64Array.of(size, size, size, size, 0, mean, std);
  await settle(() => a.crops(image.data, image.width, image.height, inv, geometry, flip, out, async, threads), 'face crops');
  return out;
}

/** Output geometry of {@link letterboxNchw}. */
export interface LetterboxOptions {
  /** Model input width and height. */
  width: number;
  height: number;
  /** Top-left part that is sampled from the image; the rest is `pad`. */
  validWidth: number;
  validHeight: number;
  /** Byte value of the unsampled part; default 127. */
  pad?: number;
  /** Subtracted from every byte; default 127. */
  mean?: number;
  /** Divides every byte after the mean; default 128. */
  std?: number;
}

/**
 * A detector input in one call: the image warped by `transform` (source -> canvas; for a plain resize, the scale and
 * pixel-centre offset of `resizeRgb`) with bilinear sampling into the top-left `validWidth x validHeight` of a
 * `width x height` canvas, the rest filled with `pad`, as a 1 x 3 x height x width float32 tensor of (x - mean) / std.
 * Equal to `resizeRgb` + `padImage` + `toNchw`; native kernel, or `letterboxToNchwTs` without the addon.
 */
export async function letterboxNchw(image: RgbImage, transform: Affine, opts: LetterboxOptions): Promise<Float32Array> {
  const w = int('width', opts.width, 1, 16384), h = int('height', opts.height, 1, 16384);
  const vw = int('validWidth', opts.validWidth, 0, w), vh = int('validHeight', opts.validHeight, 0, h);
  const pad = num('pad', opts.pad ?? 127, 0, 255);
  const mean = num('mean', opts.mean ?? 127, -1e9, 1e9);
  const std = num('std', opts.std ?? 128, 1e-9, 1e9);
  const a = load();
  if (!a) return letterboxToNchwTs(image, transform, w, h, vw, vh, pad, mean, std);
  const inv = cropInverses(image, [transform], 1);
  const out = new Float32Array(3 * w * h);
  const geometry = Float64Array.of(w, h, vw, vh, pad, mean, std);
  await settle(() => a.crops(image.data, image.width, image.height, inv, geometry, false, out, vw * vh > SYNC_CROP_PIXELS, 1), 'letterbox');
  return out;
}

/**
 * UltraFace post-processing for one letterboxed region in one call: score filter, corners to source pixels, greedy
 * NMS (kept boxes best first). Synchronous: a detector output is a few thousand anchors. Native kernel, or
 * `postprocessDetectionsTs` (runDetector's loop + `nms`) without the addon.
 */
export function postprocessDetections(scores: Float32Array, boxes: Float32Array, p: DetectionParams): ScoredBox[] {
  if (!(scores instanceof Float32Array) || !(boxes instanceof Float32Array) || scores.length % 2 !== 0 || boxes.length !== scores.length * 2) {
    throw new LikenessError('E_INPUT', 'detector outputs must be Float32Arrays of n x 2 scores and n x 4 boxes');
  }
  num('scale', p.scale, 1e-9, 1e9);
  num('iou', p.iou, 0, 1);
  const a = load();
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

function checkSearch(gallery: ArrayLike<number>, dim: number, queries: Float32Array, k: number): void {
  int('dim', dim, 1, 1 << 20);
  int('k', k, 0, 1 << 20);
  if (!(queries instanceof Float32Array) || queries.length % dim !== 0) throw new LikenessError('E_INPUT', `queries must be a Float32Array of rows of ${dim} values`);
  if (gallery.length % dim !== 0) throw new LikenessError('E_INPUT', `the gallery must hold rows of ${dim} values`);
  if (gallery.length / dim > 0x7fffffff) throw new LikenessError('E_TOO_LARGE', 'the gallery has more than 2^31 rows');
}

/**
 * Exact top-k rows by dot product (cosine for unit rows) for a batch of queries, all queries in one pass over the
 * gallery. Same result shape and tie rules as `topK` (src/match/gallery.ts), which runs without the addon; native
 * scores are float32 sums, so they differ from the float64 TS loop by float rounding.
 */
export async function searchTopK(gallery: Float32Array, dim: number, queries: Float32Array, k: number): Promise<TopK> {
  if (!(gallery instanceof Float32Array)) throw new LikenessError('E_INPUT', 'the gallery must be a Float32Array');
  checkSearch(gallery, dim, queries, k);
  const a = load();
  if (!a) return topK(gallery, dim, queries, k);
  const n = gallery.length / dim, m = queries.length / dim;
  const kk = Math.max(0, Math.min(k, n));
  const indices = new Int32Array(m * kk).fill(-1);
  const scores = new Float32Array(m * kk).fill(-Infinity);
  if (m > 0 && kk > 0) await settle(() => a.searchF32(gallery, dim, queries, kk, indices, scores, gallery.length * m > SYNC_WORK), 'search');
  return { indices, scores, k: kk };
}

/** Quantises unit rows to int8 with one scale per row (4x less memory to stream than float32). */
export async function quantizeGallery(vectors: Float32Array, dim: number): Promise<QuantizedGallery> {
  int('dim', dim, 1, 1 << 20);
  if (!(vectors instanceof Float32Array) || vectors.length % dim !== 0) throw new LikenessError('E_INPUT', `vectors must be a Float32Array of rows of ${dim} values`);
  const a = load();
  if (!a) return quantizeRowsTs(vectors, dim);
  const rows = vectors.length / dim;
  const data = new Int8Array(rows * dim);
  const scales = new Float32Array(rows);
  await settle(() => a.quantizeRows(vectors, dim, data, scales, vectors.length > SYNC_WORK), 'quantize');
  return { dim, rows, data, scales };
}

/**
 * Exact top-k over an int8 gallery (queries quantised to int16, integer dot products, scaled back): approximate
 * with respect to the float32 gallery, exact with respect to the quantised one. `topKInt8Ts` without the addon.
 */
export async function searchTopKInt8(g: QuantizedGallery, queries: Float32Array, k: number): Promise<TopK> {
  checkSearch(g.data, g.dim, queries, k);
  if (g.scales.length !== g.rows || g.data.length !== g.rows * g.dim) throw new LikenessError('E_INPUT', 'quantised gallery sizes do not match');
  const a = load();
  if (!a) return topKInt8Ts(g, queries, k);
  const m = queries.length / g.dim;
  const kk = Math.max(0, Math.min(k, g.rows));
  const indices = new Int32Array(m * kk).fill(-1);
  const scores = new Float32Array(m * kk).fill(-Infinity);
  if (m > 0 && kk > 0) await settle(() => a.searchI8(g.data, g.scales, g.dim, queries, kk, indices, scores, g.data.length * m > SYNC_WORK), 'int8 search');
  return { indices, scores, k: kk };
}

/**
 * Resamples mono float samples from `inRate` to `outRate` (default 16 kHz, the rate of every voice model) with a
 * polyphase Kaiser-windowed sinc (about 80 dB stop band). Native kernel, or `resampleTs` without the addon.
 */
export async function resampleAudio(samples: Float32Array, inRate: number, outRate = 16000): Promise<Float32Array> {
  if (!(samples instanceof Float32Array)) throw new LikenessError('E_INPUT', 'samples must be a Float32Array');
  const plan = resamplePlan(inRate, outRate);
  if (inRate === outRate) return new Float32Array(samples);
  const a = load();
  if (!a) return resampleTs(samples, plan);
  const out = new Float32Array(resampledLength(samples.length, plan));
  const async = out.length * plan.numTaps > SYNC_WORK;
  await settle(() => a.resample(samples, plan.taps, plan.phases, plan.numTaps, plan.half, plan.up, plan.down, out, async), 'resample');
  return out;
}
