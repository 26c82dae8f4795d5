import { LikenessError, isLikenessError } from '../errors';
import type { RgbImage } from '../types';
import { int, invalid, rgbImage, str } from '../validate';
import { statRegularFile } from './gate';
import { DEFAULT_LIMITS, overLimit } from './limits';
import { fileSource } from './wav';

/** Default pixel limit, checked from the header before any pixel is decoded. */
export const DEFAULT_MAX_PIXELS = DEFAULT_LIMITS.maxPixels;

/** What an image input can be: a file path, encoded bytes, or already-decoded RGB pixels (video frames). */
export type ImageInput = string | Buffer | Uint8Array | RgbImage;

/** Options for image decoding. */
export interface DecodeImageOptions {
  /** Largest width x height accepted, from the header; default 50 MP. */
  maxPixels?: number;
  /** Decode images larger than this (longest side, pixels) downscaled to fit; default: full size. */
  maxSide?: number;
  /** Largest file or buffer in bytes (default 16 GiB). */
  maxFileBytes?: number;
}

/** True when `x` is decoded RGB pixels rather than a path or encoded bytes. */
export function isRgbImage(x: unknown): x is RgbImage {
  return (
    typeof x === 'object' &&
    x !== null &&
    !(x instanceof Uint8Array) &&
    typeof (x as RgbImage).width === 'number' &&
    typeof (x as RgbImage).height === 'number' &&
    (x as RgbImage).data instanceof Uint8Array
  );
}

function sharpLib(): typeof import('sharp') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('sharp') as typeof import('sharp');
}

const MAGIC: [string, (b: Buffer) => boolean][] = [
  ['jpeg', (b) => b[0] === 0xff && b[1] === 0xd8],
  ['png', (b) => b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))],
  ['gif', (b) => b.subarray(0, 4).toString('latin1') === 'GIF8'],
  ['webp', (b) => b.subarray(0, 4).toString('latin1') === 'RIFF' && b.subarray(8, 12).toString('latin1') === 'WEBP'],
  ['tiff', (b) => ['II*\0', 'MM\0*'].includes(b.subarray(0, 4).toString('latin1'))],
  ['heif', (b) => b.subarray(4, 8).toString('latin1') === 'ftyp' && /^(avif|avis|heic|heix|mif1|msf1|heim|heis)/.test(b.subarray(8, 12).toString('latin1'))],
  ['bmp', (b) => b[0] === 0x42 && b[1] === 0x4d],
];

/** Image container detected from magic bytes, or undefined when the bytes are not an image we know. */
export function sniffImageFormat(head: Buffer): string | undefined {
  if (head.length < 12) return undefined;
  return MAGIC.find(([, test]) => test(head))?.[0];
}

/** The first bytes of a file (E_NOT_FOUND, E_INPUT for a folder, E_DECODE when unreadable). */
export function readHead(file: string, n = 64): Buffer {
  const src = fileSource(file);
  try {
    return src.read(0, n);
  } finally {
    src.close();
  }
}

/** What an image header says, read without decoding a pixel. */
export interface ImageHeader {
  /** Container from magic bytes (jpeg, png, webp, gif, tiff, heif, bmp). */
  format: string;
  /** Stored size (before EXIF orientation). */
  width: number;
  height: number;
  /** Size as displayed (after EXIF orientation: 5..8 swap the sides). */
  displayWidth: number;
  displayHeight: number;
}

function encodedSource(input: string | Uint8Array): string | Buffer {
  return typeof input === 'string' ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
}

/** The first bytes of a path (through the input gate) or of encoded bytes. */
function headOf(input: string | Uint8Array): Buffer {
  if (typeof input === 'string') return readHead(input);
  return Buffer.from(input.buffer, input.byteOffset, Math.min(64, input.byteLength));
}

/**
 * Reads an image's header (magic bytes, then sharp's metadata, which decodes nothing) and checks the pixel limit.
 * Throws E_NOT_FOUND, E_INPUT (not a regular file), E_DECODE (empty, damaged), E_UNSUPPORTED (not an image we
 * read), E_TOO_LARGE (over `maxPixels`).
 */
export async function readImageHeader(input: string | Uint8Array, opts: DecodeImageOptions = {}): Promise<ImageHeader> {
  const maxPixels = opts.maxPixels ?? DEFAULT_MAX_PIXELS;
  const label = typeof input === 'string' ? input : '<buffer>';
  const maxFileBytes = opts.maxFileBytes ?? DEFAULT_LIMITS.maxFileBytes;
  if (typeof input === 'string') statRegularFile(input, { maxFileBytes });
  else if (input.byteLength > maxFileBytes) throw overLimit(label, `the image is ${input.byteLength} bytes, which`, 'maxFileBytes', input.byteLength, maxFileBytes);
  const head = headOf(input);
  if (head.length === 0) throw new LikenessError('E_DECODE', `${label} is empty (0 bytes)`, { file: label });
  const format = sniffImageFormat(head);
  if (!format) {
    throw new LikenessError('E_UNSUPPORTED', `${label} is not an image format we read (JPEG, PNG, WebP, GIF, TIFF, AVIF/HEIF, BMP)`, {
      file: label,
    });
  }
  let meta: import('sharp').Metadata;
  try {
    meta = await sharpLib()(encodedSource(input), { limitInputPixels: false, failOn: 'error', pages: 1 }).metadata();
  } catch (e) {
    throw classifySharpError(e, label, maxPixels);
  }
  const w = meta.width ?? 0;
  const h = meta.height ?? 0;
  if (!Number.isInteger(w) || !Number.isInteger(h) || w <= 0 || h <= 0) throw new LikenessError('E_DECODE', `${label}: image has no size in its header`, { file: label });
  if (w * h > maxPixels) {
    throw new LikenessError('E_TOO_LARGE', `${label} is ${w}x${h} (${w * h} pixels), over the limit of ${maxPixels}; raise maxPixels (--max-pixels) to accept it`, {
      file: label,
      width: w,
      height: h,
      maxPixels,
      limit: 'maxPixels',
    });
  }
  const swap = (meta.orientation ?? 1) >= 5;
  return { format, width: w, height: h, displayWidth: swap ? h : w, displayHeight: swap ? w : h };
}

/** Largest width / height ratio decoded; beyond it an image is a strip, not a photo, and kernels would get 0-px sides. */
export const MAX_ASPECT_RATIO = 64;

/**
 * Decodes an image to RGB with EXIF orientation applied. The header is read first (see {@link readImageHeader}), so
 * a file claiming 40000x40000 is refused before any allocation. With `maxSide`, an image larger than that is decoded
 * downscaled to fit (sharp's shrink-on-load for JPEG and WebP: the full-size pixels never exist in memory), so the
 * memory of a decode is bounded by `maxSide` rather than by the file.
 */
export async function decodeImage(input: ImageInput, opts: DecodeImageOptions = {}): Promise<RgbImage> {
  return (await decodeImageScaled(input, opts)).image;
}

/** An image decoded for analysis, with the size it has as displayed (boxes map back by `sourceWidth / image.width`). */
export interface ScaledImage {
  image: RgbImage;
  sourceWidth: number;
  sourceHeight: number;
}

/** {@link decodeImage}, also returning the displayed source size (differs from the image's when `maxSide` shrank it). */
export async function decodeImageScaled(input: ImageInput, opts: DecodeImageOptions = {}): Promise<ScaledImage> {
  if (isRgbImage(input)) {
    const image = rgbImage('image', input);
    return { image, sourceWidth: image.width, sourceHeight: image.height };
  }
  if (typeof input !== 'string' && !(input instanceof Uint8Array)) throw invalid('image input must be a path, a Buffer or an RgbImage');
  const maxPixels = opts.maxPixels ?? DEFAULT_MAX_PIXELS;
  const label = typeof input === 'string' ? input : '<buffer>';
  const header = await readImageHeader(input, opts);
  const { displayWidth: dw, displayHeight: dh } = header;
  if (Math.max(dw, dh) / Math.min(dw, dh) > MAX_ASPECT_RATIO) {
    throw new LikenessError('E_UNSUPPORTED', `${label} is ${dw}x${dh}: an aspect ratio over ${MAX_ASPECT_RATIO}:1 is not a photo we can search for faces`, {
      file: label,
      width: dw,
      height: dh,
    });
  }
  const maxSide = opts.maxSide;
  if (maxSide !== undefined) int('maxSide', maxSide, 16, 1 << 16);
  const shrink = maxSide !== undefined && Math.max(dw, dh) > maxSide;
  try {
    let pipeline = sharpLib()(encodedSource(input), { limitInputPixels: maxPixels, failOn: 'error', pages: 1, sequentialRead: true }).rotate();
    if (shrink) pipeline = pipeline.resize({ width: maxSide, height: maxSide, fit: 'inside', withoutEnlargement: true, fastShrinkOnLoad: true });
    const { data, info } = await pipeline.removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new LikenessError('E_DECODE', `${label}: expected 3 channels, got ${info.channels}`, { file: label });
    if (info.width <= 0 || info.height <= 0 || data.length !== info.width * info.height * 3) {
      throw new LikenessError('E_DECODE', `${label}: the decoder returned ${data.length} bytes for ${info.width}x${info.height}`, { file: label });
    }
    const image = { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
    return { image, sourceWidth: dw, sourceHeight: dh };
  } catch (e) {
    throw classifySharpError(e, label, maxPixels);
  }
}

function classifySharpError(e: unknown, label: string, maxPixels: number): LikenessError {
  if (isLikenessError(e)) return e;
  const msg = e instanceof Error ? e.message : String(e);
  if (/pixel limit/i.test(msg)) {
    return new LikenessError('E_TOO_LARGE', `${label} is over the pixel limit of ${maxPixels}`, { file: label, maxPixels });
  }
  if (/memory|alloc/i.test(msg)) {
    return new LikenessError('E_TOO_LARGE', `${label} needs more memory to decode than is available (${msg}); lower maxPixels`, { file: label, maxPixels });
  }
  if (/unsupported image format|not supported|no decoder|bad seek|heif/i.test(msg) && !/premature|truncat|corrupt/i.test(msg)) {
    return new LikenessError('E_UNSUPPORTED', `${label}: ${msg}`, { file: label });
  }
  return new LikenessError('E_DECODE', `${label} could not be decoded (${msg}); the file is truncated or corrupt`, { file: label });
}


/**
 * Encodes RGB pixels as a small JPEG, scaled down (never up) so its longest side is at most `maxSide`: evidence crops
 * in scan results and the enrolled reference thumbnails.
 */
export async function encodeJpeg(img: RgbImage, maxSide: number, quality = 75): Promise<Buffer> {
  rgbImage('image', img);
  int('maxSide', maxSide, 1, 4096);
  int('quality', quality, 1, 100);
  // sharp loads on first use: scans that find nobody (and importing the library) never pay for it.
  return sharpLib()(Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength), { raw: { width: img.width, height: img.height, channels: 3 } })
    .resize({ width: maxSide, height: maxSide, fit: 'inside', withoutEnlargement: true })
    .jpeg({ quality })
    .toBuffer();
}

/**
 * Longest side images are decoded at for face analysis. The detector sees at most 2 x 2 tiles of 320 x 240 and the
 * embedder a 112 x 112 crop, so more pixels than this add memory (a 50 MP photo is 150 MB as RGB, several times that
 * in detector tensors) and no faces; JPEG and WebP shrink on load, so the full-size pixels never exist.
 */
export const ANALYSIS_MAX_SIDE = 4096;
