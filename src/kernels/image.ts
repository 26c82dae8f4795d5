
import type { RgbImage } from '../types';
import { int, num, invalid, list, rgbImage } from '../validate';
import { loadAddon, settle, SYNC_CROP_PIXELS, type NativeOptions } from './addon';
import { Affine, invertAffine } from './geometry';

// Image kernels: warps, resizes, crops, grey and blur in TS (the references, kept simple and exact), and the batched
// crop / letterbox entry points that run the native kernel when the addon loaded.

/**
 * Warps `img` by `m` (source -> destination) into a `size` x `size` RGB crop with bilinear sampling; pixels that map
 * outside the source take the nearest edge pixel (replicated border), which keeps partially visible faces usable.
 */
export function warpAffineRgb(img: RgbImage, m: Affine, width: number, height: number): RgbImage {
  const inv = invertAffine(m);
  const out = new Uint8Array(width * height * 3);
  const { width: W, height: H, data } = img;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const sx = inv[0] * x + inv[1] * y + inv[2];
      const sy = inv[3] * x + inv[4] * y + inv[5];
      sampleBilinear(data, W, H, sx, sy, out, (y * width + x) * 3);
    }
  }
  return { width, height, data: out };
}

function sampleBilinear(data: Uint8Array, W: number, H: number, sx: number, sy: number, out: Uint8Array, o: number): void {
  const cx = Math.min(Math.max(sx, 0), W - 1);
  const cy = Math.min(Math.max(sy, 0), H - 1);
  const x0 = Math.floor(cx), y0 = Math.floor(cy);
  const x1 = Math.min(x0 + 1, W - 1), y1 = Math.min(y0 + 1, H - 1);
  const fx = cx - x0, fy = cy - y0;
  const i00 = (y0 * W + x0) * 3, i01 = (y0 * W + x1) * 3, i10 = (y1 * W + x0) * 3, i11 = (y1 * W + x1) * 3;
  for (let c = 0; c < 3; c++) {
    const top = data[i00 + c]! + (data[i01 + c]! - data[i00 + c]!) * fx;
    const bot = data[i10 + c]! + (data[i11 + c]! - data[i10 + c]!) * fx;
    out[o + c] = Math.round(top + (bot - top) * fy);
  }
}

/** Bilinear resize of an RGB image (pixel-centre aligned, like OpenCV INTER_LINEAR for upscaling). */
export function resizeRgb(img: RgbImage, width: number, height: number): RgbImage {
  return warpAffineRgb(img, resizeTransform(img.width, img.height, width, height), width, height);
}

/** The source -> destination transform `resizeRgb` samples with (pixel centres aligned). */
export function resizeTransform(srcW: number, srcH: number, width: number, height: number): Affine {
  const sxr = srcW / width, syr = srcH / height;
  return [1 / sxr, 0, 0.5 / sxr - 0.5, 0, 1 / syr, 0.5 / syr - 0.5];
}

/** RGB bytes -> NCHW float32 with (x - mean) / std, written at `offset` floats into `out`. */
export function toNchw(img: RgbImage, mean: number, std: number, out: Float32Array, offset = 0, flip = false): void {
  const { width: w, height: h, data } = img;
  const plane = w * h;
  const inv = 1 / std;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const sx = flip ? w - 1 - x : x;
      const i = (y * w + sx) * 3;
      const o = offset + y * w + x;
      out[o] = (data[i]! - mean) * inv;
      out[o + plane] = (data[i + 1]! - mean) * inv;
      out[o + 2 * plane] = (data[i + 2]! - mean) * inv;
    }
  }
}

/** Extracts an axis-aligned region (clamped to the image) as a new RGB image. */
export function cropRgb(img: RgbImage, x: number, y: number, w: number, h: number): RgbImage {
  const x0 = Math.max(0, Math.floor(x)), y0 = Math.max(0, Math.floor(y));
  const x1 = Math.min(img.width, Math.ceil(x + w)), y1 = Math.min(img.height, Math.ceil(y + h));
  const cw = Math.max(1, x1 - x0), ch = Math.max(1, y1 - y0);
  const out = new Uint8Array(cw * ch * 3);
  for (let r = 0; r < ch; r++) {
    const sy = Math.min(y0 + r, img.height - 1);
    const src = (sy * img.width + x0) * 3;
    out.set(img.data.subarray(src, src + cw * 3), r * cw * 3);
  }
  return { width: cw, height: ch, data: out };
}

/** Grey (luma) of an RGB image as floats 0..255. */
export function toGrey(img: RgbImage): Float32Array {
  const n = img.width * img.height;
  const g = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    g[i] = 0.299 * img.data[i * 3]! + 0.587 * img.data[i * 3 + 1]! + 0.114 * img.data[i * 3 + 2]!;
  }
  return g;
}

/** Separable Gaussian blur of an RGB image (edges replicated). */
export function gaussianBlurRgb(img: RgbImage, sigma: number): RgbImage {
  const r = Math.max(1, Math.ceil(sigma * 2.5));
  const k = new Float32Array(2 * r + 1);
  let ks = 0;
  for (let i = -r; i <= r; i++) ks += k[i + r] = Math.exp(-(i * i) / (2 * sigma * sigma));
  for (let i = 0; i < k.length; i++) k[i]! /= ks;
  const { width: W, height: H, data } = img;
  const tmp = new Float32Array(data.length);
  const out = new Uint8Array(data.length);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      for (let c = 0; c < 3; c++) {
        let a = 0;
        for (let i = -r; i <= r; i++) a += data[(y * W + Math.min(W - 1, Math.max(0, x + i))) * 3 + c]! * k[i + r]!;
        tmp[(y * W + x) * 3 + c] = a;
      }
    }
  }
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      for (let c = 0; c < 3; c++) {
        let a = 0;
        for (let i = -r; i <= r; i++) a += tmp[(Math.min(H - 1, Math.max(0, y + i)) * W + x) * 3 + c]! * k[i + r]!;
        out[(y * W + x) * 3 + c] = Math.round(a);
      }
    }
  }
  return { width: W, height: H, data: out };
}

/** Checks crop arguments and returns the inverse (output -> source) transforms, 6 numbers per face. */
export function cropInverses(image: RgbImage, transforms: readonly Affine[], size: number): Float64Array {
  int('crop size', size, 1, 4096);
  rgbImage('crop source', image);
  list<Affine>('crop transforms', transforms).forEach((m, i) => {
    if (!Array.isArray(m) || m.length !== 6) throw invalid(`face ${i}: a crop transform is 6 numbers [a, b, c, d, e, f]`);
  });
  const inv = new Float64Array(transforms.length * 6);
  transforms.forEach((m, i) => {
    const t = invertAffine(m);
    if (!t.every(Number.isFinite)) throw invalid(`face ${i}: the crop transform is singular or not finite`);
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
  round = true,
): Float32Array {
  cropInverses(image, [transform], 1);
  if (!round) return letterboxFloatTs(image, transform, width, height, validW, validH, pad, mean, std);
  const canvas = new Uint8Array(width * height * 3).fill(pad);
  if (validW > 0 && validH > 0) {
    const warped = warpAffineRgb(image, transform, validW, validH);
    for (let y = 0; y < validH; y++) canvas.set(warped.data.subarray(y * validW * 3, (y + 1) * validW * 3), y * width * 3);
  }
  const out = new Float32Array(3 * width * height);
  toNchw({ width, height, data: canvas }, mean, std, out);
  return out;
}

/**
 * The unrounded letterbox: each sample keeps its bilinear value (what tf.image.resizeBilinear computes) instead of
 * being rounded to a byte. Same sampling, clamping and operation order as `warpAffineRgb`.
 */
function letterboxFloatTs(image: RgbImage, transform: Affine, width: number, height: number, validW: number, validH: number, pad: number, mean: number, std: number): Float32Array {
  const inv = invertAffine(transform);
  const { width: W, height: H, data } = image;
  const plane = width * height;
  const invStd = 1 / std;
  const out = new Float32Array(3 * plane).fill((pad - mean) * invStd);
  for (let y = 0; y < validH; y++) {
    for (let x = 0; x < validW; x++) {
      const sx = inv[0] * x + inv[1] * y + inv[2];
      const sy = inv[3] * x + inv[4] * y + inv[5];
      const cx = Math.min(Math.max(sx, 0), W - 1);
      const cy = Math.min(Math.max(sy, 0), H - 1);
      const x0 = Math.floor(cx), y0 = Math.floor(cy);
      const x1 = Math.min(x0 + 1, W - 1), y1 = Math.min(y0 + 1, H - 1);
      const fx = cx - x0, fy = cy - y0;
      const i00 = (y0 * W + x0) * 3, i01 = (y0 * W + x1) * 3, i10 = (y1 * W + x0) * 3, i11 = (y1 * W + x1) * 3;
      for (let c = 0; c < 3; c++) {
        const top = data[i00 + c]! + (data[i01 + c]! - data[i00 + c]!) * fx;
        const bot = data[i10 + c]! + (data[i11 + c]! - data[i10 + c]!) * fx;
        out[c * plane + y * width + x] = (top + (bot - top) * fy - mean) * invStd;
      }
    }
  }
  return out;
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
  const a = loadAddon();
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
  /**
   * Round each bilinear sample to a byte before normalising (default true: what `resizeRgb` does); false keeps the
   * interpolated value, as tf.image.resizeBilinear does for the BlazeFace input.
   */
  round?: boolean;
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
  const round = opts.round ?? true;
  const a = loadAddon();
  if (!a) return letterboxToNchwTs(image, transform, w, h, vw, vh, pad, mean, std, round);
  const inv = cropInverses(image, [transform], 1);
  const out = new Float32Array(3 * w * h);
  const geometry = Float64Array.of(w, h, vw, vh, pad, mean, std, round ? 1 : 0);
  await settle(() => a.crops(image.data, image.width, image.height, inv, geometry, false, out, vw * vh > SYNC_CROP_PIXELS, 1), 'letterbox');
  return out;
}

/**
 * One FaceMesh input crop, as Human cuts it: the image rotated by `radians` about (`cx`, `cy`) with
 * tf.image.rotateWithOffset (nearest neighbour, 0 outside), then tf.image.cropAndResize of `box` (bilinear,
 * extrapolation 0).
 */
export interface MeshCrop {
  /** [y1, x1, y2, x2] in 0..1 of the image (cropAndResize's normalised box); rounded to float32 like a tf tensor. */
  box: readonly [number, number, number, number];
  /** Rotation in radians; 0 crops the image as it is. */
  radians: number;
  /** Rotation centre in pixels. */
  cx: number;
  cy: number;
}

const f32 = Math.fround;

/** C's round(): halves away from zero. */
const roundAway = (v: number): number => Math.sign(v) * Math.floor(Math.abs(v) + 0.5);

/** Checks mesh-crop arguments and packs them, 7 numbers per crop (box as float32, radians, cx, cy). */
export function meshCropParams(image: RgbImage, crops: readonly MeshCrop[], size: number): Float64Array {
  int('crop size', size, 2, 4096);
  rgbImage('crop source', image);
  list<MeshCrop>('mesh crops', crops);
  const p = new Float64Array(crops.length * 7);
  crops.forEach((c, i) => {
    const v = [f32(c.box[0]), f32(c.box[1]), f32(c.box[2]), f32(c.box[3]), c.radians, c.cx, c.cy];
    if (!v.every(Number.isFinite)) throw invalid(`mesh crop ${i}: box, angle and centre must be finite numbers`);
    p.set(v, i * 7);
  });
  return p;
}

/**
 * TS twin of the mesh-crop kernel: for each crop, TensorFlow's crop_and_resize (float32 arithmetic, bilinear,
 * extrapolation 0) over the image rotated by rotate_with_offset (nearest pixel with round-half-up, fill 0), then
 * x / `divisor` (tf.div, float32), into one `crops x 3 x size x size` NCHW batch. Float32 steps are emulated with Math.fround so the
 * native kernel (C++ float) gives identical numbers.
 */
export function meshCropsToNchwTs(image: RgbImage, crops: readonly MeshCrop[], size: number, divisor = 255): Float32Array {
  const params = meshCropParams(image, crops, size);
  const { width: W, height: H, data } = image;
  const plane = size * size;
  const out = new Float32Array(crops.length * 3 * plane);
  const k = f32(divisor);
  const px = new Float32Array(12);
  for (let n = 0; n < crops.length; n++) {
    const [y1, x1, y2, x2, radians, cx, cy] = params.subarray(n * 7, n * 7 + 7) as unknown as number[];
    const rotate = radians !== 0;
    // tfjs-wasm's RotateWithOffset works in float32 and rounds halves away from zero.
    const rad = f32(radians!), fcx = f32(cx!), fcy = f32(cy!);
    const cos = f32(Math.cos(rad)), sin = f32(Math.sin(rad));
    // The (rotated) image's value at integer pixel (u, v), channel c.
    const at = (u: number, v: number, c: number): number => {
      let su = u, sv = v;
      if (rotate) {
        const du = f32(u - fcx), dv = f32(v - fcy);
        su = roundAway(f32(f32(f32(du * cos) - f32(dv * sin)) + fcx));
        sv = roundAway(f32(f32(f32(du * sin) + f32(dv * cos)) + fcy));
        if (su < 0 || su >= W || sv < 0 || sv >= H) return 0;
      }
      return data[(sv * W + su) * 3 + c]!;
    };
    const hs = f32(f32(f32(y2! - y1!) * (H - 1)) / (size - 1));
    const ws = f32(f32(f32(x2! - x1!) * (W - 1)) / (size - 1));
    const base = n * 3 * plane;
    for (let y = 0; y < size; y++) {
      const inY = f32(f32(y1! * (H - 1)) + f32(y * hs));
      if (inY < 0 || inY > H - 1) continue; // extrapolation value 0 (the batch starts zeroed)
      const top = Math.floor(inY), bottom = Math.ceil(inY);
      const yl = f32(inY - top);
      for (let x = 0; x < size; x++) {
        const inX = f32(f32(x1! * (W - 1)) + f32(x * ws));
        if (inX < 0 || inX > W - 1) continue;
        const left = Math.floor(inX), right = Math.ceil(inX);
        const xl = f32(inX - left);
        for (let c = 0; c < 3; c++) {
          px[0] = at(left, top, c);
          px[1] = at(right, top, c);
          px[2] = at(left, bottom, c);
          px[3] = at(right, bottom, c);
          const t = f32(px[0]! + f32(f32(px[1]! - px[0]!) * xl));
          const b = f32(px[2]! + f32(f32(px[3]! - px[2]!) * xl));
          out[base + c * plane + y * size + x] = f32(f32(t + f32(f32(b - t) * yl)) / k);
        }
      }
    }
  }
  return out;
}

/**
 * FaceMesh input crops in one call (see {@link meshCropsToNchwTs}, the TS twin that runs without the addon; the two
 * give identical numbers): `crops.length x 3 x size x size` float32, each value the crop's sample / `divisor`.
 */
export async function meshCropsNchw(image: RgbImage, crops: readonly MeshCrop[], size: number, divisor = 255): Promise<Float32Array> {
  num('divisor', divisor, 1e-6, 1e9);
  const a = loadAddon();
  if (!a) return meshCropsToNchwTs(image, crops, size, divisor);
  const params = meshCropParams(image, crops, size);
  const out = new Float32Array(crops.length * 3 * size * size);
  await settle(() => a.meshCrops(image.data, image.width, image.height, params, size, divisor, out, crops.length * size * size > SYNC_CROP_PIXELS), 'mesh crops');
  return out;
}
