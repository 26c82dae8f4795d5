import type { RgbImage } from '../types';
import { Affine, invertAffine } from './geometry';

// TS reference kernels for crops. The native core (issue 6) replaces these on the hot path; keep them simple and exact.

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
