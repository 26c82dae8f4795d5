import * as os from 'os';
import { toLikenessError } from '../errors';
import { PACKAGE_ROOT } from '../paths';

// The addon loader, and nothing else (like sharp's lib/sharp.js). The hot path's own code (issue 6) is a C++ addon
// (binding.gyp, src/kernels/cc/*.cc); every kernel module beside this one runs the addon when it loaded and its TS
// twin otherwise, so a failed native build only costs speed. Work that can take more than about a millisecond runs
// on the libuv pool (the promise resolves when done); tiny inputs run synchronously because a thread hop would cost
// more than the work. Input and output arrays are shared with the worker thread: do not modify them until the
// promise settles.

/** The addon's raw functions (src/kernels/cc/addon.cc). */
export interface Addon {
  fbank(s: Float32Array, w: Float64Array, ms: Int32Array, ml: Int32Array, mo: Int32Array, mw: Float64Array, p: Float64Array, out: Float32Array, async: boolean, threads: number): Promise<void> | undefined;
  crops(img: Uint8Array, w: number, h: number, inv: Float64Array, geometry: Float64Array, flip: boolean, out: Float32Array, async: boolean, threads: number): Promise<void> | undefined;
  detect(scores: Float32Array, boxes: Float32Array, params: Float64Array): Float64Array;
  blazeface(logits: Float32Array, regressors: Float32Array, anchors: Float32Array, params: Float64Array): Float64Array;
  meshCrops(img: Uint8Array, w: number, h: number, params: Float64Array, size: number, divisor: number, out: Float32Array, async: boolean): Promise<void> | undefined;
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

/** Default thread count for kernels that split long inputs: the CPUs, at most 4. */
export function defaultThreads(): number {
  return Math.max(1, Math.min(4, os.availableParallelism?.() ?? os.cpus().length));
}

// Below these sizes a kernel runs synchronously: about a millisecond of native work or less (measured on the
// development machine), where a hop to the thread pool would cost a noticeable part of the work itself.
/** Multiply-adds (search, resampling) or values (quantisation). */
export const SYNC_WORK = 1 << 20;
/** fbank input samples: 10 s at 16 kHz, about 1000 frames at about 0.8 us each. */
export const SYNC_FBANK_SAMPLES = 160_000;
/** Output pixels of a crop batch: about 12 faces of 112 x 112 at about 7 ns per pixel. */
export const SYNC_CROP_PIXELS = 150_000;

let addon: Addon | null | undefined;
let loadReason: string | undefined;

/** The addon, or null when it is not built, does not load, or LIKENESS_NO_NATIVE=1 (loaded once). */
export function loadAddon(): Addon | null {
  if (addon !== undefined) return addon;
  if (process.env['LIKENESS_NO_NATIVE'] === '1') {
    loadReason = 'disabled by LIKENESS_NO_NATIVE=1';
    return (addon = null);
  }
  try {
    const gypBuild = require('node-gyp-build') as (dir: string) => unknown;
    addon = gypBuild(PACKAGE_ROOT) as Addon;
  } catch (e) {
    loadReason = `native addon not built or not loadable (${(e as Error).message.split('\n')[0]}); run "npx node-gyp rebuild" in the package folder`;
    addon = null;
  }
  return addon;
}

/** True when the C++ kernels are in use (false: the TS implementations run instead). */
export function nativeAvailable(): boolean {
  return loadAddon() !== null;
}

/** Whether the addon is in use, which instruction set it chose, or why it is not in use. */
export function nativeInfo(): NativeInfo {
  const a = loadAddon();
  return a ? { available: true, simd: a.simd() } : { available: false, reason: loadReason };
}

/** Runs an addon call (sync or async) and turns whatever it throws into a LikenessError. */
export async function settle(call: () => Promise<void> | undefined, what: string): Promise<void> {
  try {
    await call();
  } catch (e) {
    throw toLikenessError(e, 'E_INPUT', `native ${what}`);
  }
}
