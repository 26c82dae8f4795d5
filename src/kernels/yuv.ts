import type { RgbImage } from '../types';
import { invalid } from '../validate';
import { loadAddon, settle } from './addon';

// Planar YUV 4:2:0 (I420) frames, as video decoders produce them, to RGB. Video frames cross the ffmpeg pipe as I420
// (half the bytes of RGB, and no colour conversion inside ffmpeg); only the frames the scanner analyses are turned
// into RGB, and the skip tests (blank, unchanged) read the Y plane directly.
//
// The conversion is ffmpeg's own for a same-size yuv420p -> rgb24 conversion (libswscale's unscaled yuv2rgb path, as
// its x86 SIMD code computes it): each chroma sample covers a 2 x 2 block of pixels, limited-range input, 16-bit
// fixed-point coefficients with 3 fractional bits on the samples, products truncated (pmulhw). On ffmpeg 5.1 x86-64
// it gives the bytes `-pix_fmt rgb24` gives (test/kernels/yuv.test.ts checks this against the ffmpeg in use); a
// build whose swscale runs its C tables differs by at most a few levels.

/** A planar YUV 4:2:0 frame (I420): `width * height` Y bytes, then the U and then the V plane at half size each way. */
export interface I420Image {
  /** Even width in pixels. */
  width: number;
  /** Even height in pixels. */
  height: number;
  /** Y plane, then U, then V: `width * height * 3 / 2` bytes. */
  data: Uint8Array;
}

/** The YCbCr matrices ffmpeg's scaler knows (by the stream's `color_space` tag; anything else converts as BT.601). */
export type YuvMatrix = 'bt601' | 'bt709' | 'fcc' | 'smpte240m' | 'bt2020';

/**
 * libswscale's ff_yuv2rgb_coeffs (crv, cbu, cgu, cgv in 16.16 fixed point) for each matrix, as its scale filter picks
 * them for a stream's colour space.
 */
const COEFFS: Record<YuvMatrix, readonly [number, number, number, number]> = {
  bt601: [104597, 132201, 25675, 53279],
  bt709: [117489, 138438, 13975, 34925],
  fcc: [104448, 132798, 24759, 53109],
  smpte240m: [117579, 136230, 16907, 35559],
  bt2020: [110013, 140363, 12277, 42626],
};

/** The matrix ffmpeg converts a stream with, from ffprobe's `color_space` (unknown and unlisted tags: BT.601). */
export function yuvMatrixOf(colorSpace: string | undefined): YuvMatrix {
  switch (colorSpace) {
    case 'bt709':
      return 'bt709';
    case 'fcc':
      return 'fcc';
    case 'smpte240m':
      return 'smpte240m';
    case 'bt2020nc':
    case 'bt2020c':
      return 'bt2020';
    default:
      return 'bt601';
  }
}

interface Tables {
  y: Int32Array;
  vr: Int32Array;
  ub: Int32Array;
  ug: Int32Array;
  vg: Int32Array;
  /** The five tables end to end, as the native kernel takes them. */
  all: Int32Array;
}

const tables = new Map<YuvMatrix, Tables>();

/** (a * b) >> 16 with the sign kept, as SIMD pmulhw computes it. */
function mulhw(a: number, b: number): number {
  return (a * b) >> 16;
}

/** Per-byte lookup tables of each term (the sums then only need clamping). */
function tablesOf(matrix: YuvMatrix): Tables {
  let t = tables.get(matrix);
  if (t) return t;
  const [crv, cbu, cgu, cgv] = COEFFS[matrix];
  // Coefficients with 13 fractional bits (samples carry 3, the product keeps the top 16 bits).
  const yc = Math.round(((255 / 219) * 65536 * 8192) / 65536);
  const vr = Math.round(crv / 8), ub = Math.round(cbu / 8), ug = Math.round(-cgu / 8), vg = Math.round(-cgv / 8);
  const all = new Int32Array(5 * 256);
  t = { y: all.subarray(0, 256), vr: all.subarray(256, 512), ub: all.subarray(512, 768), ug: all.subarray(768, 1024), vg: all.subarray(1024), all };
  for (let i = 0; i < 256; i++) {
    t.y[i] = mulhw(i * 8 - 128, yc);
    const c = i * 8 - 1024;
    t.vr[i] = mulhw(c, vr);
    t.ub[i] = mulhw(c, ub);
    t.ug[i] = mulhw(c, ug);
    t.vg[i] = mulhw(c, vg);
  }
  tables.set(matrix, t);
  return t;
}

/**
 * The luma a Y sample turns into (0..255 full range): the Y term of the RGB conversion, which is the grey level
 * ffmpeg's rgb24 gives a colourless pixel (the same for every matrix).
 */
export const Y_TO_LUMA: Uint8Array = Uint8Array.from(tablesOf('bt601').y, (v) => Math.max(0, Math.min(255, v)));

/** Frames of more pixels than this are converted on the libuv pool (about a millisecond of native work). */
const SYNC_YUV_PIXELS = 400_000;

function checkI420(img: I420Image): void {
  const { width: w, height: h, data } = img;
  if (!Number.isInteger(w) || !Number.isInteger(h) || w < 2 || h < 2 || w % 2 !== 0 || h % 2 !== 0) throw invalid(`an I420 frame needs even positive width and height, got ${w}x${h}`);
  if (!(data instanceof Uint8Array) || data.length !== (w * h * 3) / 2) throw invalid(`an I420 frame of ${w}x${h} needs ${(w * h * 3) / 2} bytes`);
}

/**
 * Converts an I420 frame to packed RGB the way ffmpeg's `-pix_fmt rgb24` does for a same-size conversion: the native
 * kernel when the addon has it (large frames on the libuv pool), else {@link i420ToRgbTs}.
 */
export async function i420ToRgb(img: I420Image, matrix: YuvMatrix = 'bt601'): Promise<RgbImage> {
  checkI420(img);
  const a = loadAddon();
  // An addon built before this kernel existed has no i420ToRgb: the TS twin runs.
  if (!a || typeof a.i420ToRgb !== 'function') return i420ToRgbTs(img, matrix);
  const out = new Uint8Array(img.width * img.height * 3);
  const t = tablesOf(matrix);
  await settle(() => a.i420ToRgb!(img.data, img.width, img.height, t.all, out, img.width * img.height > SYNC_YUV_PIXELS), 'i420ToRgb');
  return { width: img.width, height: img.height, data: out };
}

/** The TypeScript twin of the native conversion (same bytes). */
export function i420ToRgbTs(img: I420Image, matrix: YuvMatrix = 'bt601'): RgbImage {
  checkI420(img);
  const { width: w, height: h, data } = img;
  const t = tablesOf(matrix);
  const cw = w >> 1;
  const uBase = w * h, vBase = uBase + cw * (h >> 1);
  const buf = new ArrayBuffer(w * h * 3);
  // A clamped view saturates each sum to 0..255 as it is stored (what packuswb does).
  const out = new Uint8ClampedArray(buf);
  const ty = t.y, tvr = t.vr, tub = t.ub, tug = t.ug, tvg = t.vg;
  for (let y = 0; y < h; y++) {
    const row = y * w, crow = (y >> 1) * cw;
    let o = row * 3;
    for (let x = 0; x < w; x += 2) {
      const c = crow + (x >> 1);
      const u = data[uBase + c]!, v = data[vBase + c]!;
      const r = tvr[v]!, g = tug[u]! + tvg[v]!, b = tub[u]!;
      const y0 = ty[data[row + x]!]!, y1 = ty[data[row + x + 1]!]!;
      out[o] = y0 + r;
      out[o + 1] = y0 + g;
      out[o + 2] = y0 + b;
      out[o + 3] = y1 + r;
      out[o + 4] = y1 + g;
      out[o + 5] = y1 + b;
      o += 6;
    }
  }
  return { width: w, height: h, data: new Uint8Array(buf) };
}
