import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
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
  /** Absent from an addon built before the kernel existed (the TS twin runs then). */
  i420ToRgb?(src: Uint8Array, w: number, h: number, tables: Int32Array, out: Uint8Array, async: boolean): Promise<void> | undefined;
  probePostings?(filter: Uint32Array, filterMask: number, offsets: Uint32Array, shift: number, keys: Uint32Array, entry: Uint32Array, frame: Uint32Array, probes: Uint32Array, count: number, cap: number, out: Uint32Array): number;
  simd(): string;
}

/**
 * Where the loaded addon came from: `prebuilt` (the package's `prebuilds/<platform>-<arch>/`, built by prebuildify at
 * pack time, so install needs no compiler) or `node-gyp` (compiled at install into `build/`).
 */
export type NativeSource = 'prebuilt' | 'node-gyp';

/** What `likeness doctor` reports about the native kernels. */
export interface NativeInfo {
  /** True when the addon loaded and its kernels run. */
  available: boolean;
  /** Which addon is in use; undefined when the TypeScript twins run. */
  source?: NativeSource;
  /** The `.node` file in use. */
  file?: string;
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
let loaded: { source: NativeSource; file: string } | undefined;

/** True on Linux with glibc (prebuilds tagged `glibc` / `musl` by prebuildify --tag-libc must match). */
function isGlibc(): boolean {
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
  return typeof header?.glibcVersionRuntime === 'string';
}

/**
 * The addon files to try, in order: the prebuilt one for this platform and architecture, then a node-gyp build
 * (Release, then Debug). Pure apart from reading the folders.
 */
export function addonCandidates(root: string = PACKAGE_ROOT): { source: NativeSource; file: string }[] {
  const out: { source: NativeSource; file: string }[] = [];
  const pre = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`);
  let names: string[] = [];
  try {
    names = fs.readdirSync(pre).filter((f) => f.endsWith('.node')).sort();
  } catch {
    names = [];
  }
  const libc = process.platform === 'linux' ? (isGlibc() ? 'glibc' : 'musl') : undefined;
  for (const n of names) {
    const tags = n.split('.');
    if (libc && (tags.includes('glibc') || tags.includes('musl')) && !tags.includes(libc)) continue;
    out.push({ source: 'prebuilt', file: path.join(pre, n) });
  }
  for (const d of ['Release', 'Debug']) {
    const f = path.join(root, 'build', d, 'likeness_native.node');
    if (fs.existsSync(f)) out.push({ source: 'node-gyp', file: f });
  }
  return out;
}

/**
 * The addon, or null when it is not built, does not load, or LIKENESS_NO_NATIVE=1 (loaded once). Order: the
 * prebuilt addon, then the node-gyp build, then null (the TypeScript twins run).
 */
export function loadAddon(): Addon | null {
  if (addon !== undefined) return addon;
  if (process.env['LIKENESS_NO_NATIVE'] === '1') {
    loadReason = 'disabled by LIKENESS_NO_NATIVE=1';
    return (addon = null);
  }
  const failures: string[] = [];
  for (const c of addonCandidates()) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      addon = require(c.file) as Addon;
      loaded = c;
      return addon;
    } catch (e) {
      failures.push(`${c.source} ${c.file}: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  loadReason = failures.length
    ? `native addon did not load (${failures.join('; ')}); run "npx node-gyp rebuild" in the package folder`
    : `no prebuilt addon for ${process.platform}-${process.arch} and no node-gyp build; run "npx node-gyp rebuild" in the package folder (needs a C++ toolchain)`;
  return (addon = null);
}

/** True when the C++ kernels are in use (false: the TS implementations run instead). */
export function nativeAvailable(): boolean {
  return loadAddon() !== null;
}

/** Whether the addon is in use, which instruction set it chose, or why it is not in use. */
export function nativeInfo(): NativeInfo {
  const a = loadAddon();
  return a ? { available: true, source: loaded!.source, file: loaded!.file, simd: a.simd() } : { available: false, reason: loadReason };
}

/** Runs an addon call (sync or async) and turns whatever it throws into a LikenessError. */
export async function settle(call: () => Promise<void> | undefined, what: string): Promise<void> {
  try {
    await call();
  } catch (e) {
    throw toLikenessError(e, 'E_INPUT', `native ${what}`);
  }
}
