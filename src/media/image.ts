import type { Sharp } from 'sharp';
import { LikenessError, isLikenessError } from '../errors';
import type { RgbImage } from '../types';
import { fileSource } from './wav';
import { invalid, rgbImage, str } from '../validate';

/** Default pixel limit, checked from the header before any pixel is decoded. */
export const DEFAULT_MAX_PIXELS = 50_000_000;

/** What an image input can be: a file path, encoded bytes, or already-decoded RGB pixels (video frames). */
export type ImageInput = string | Buffer | Uint8Array | RgbImage;

/** Options for image decoding. */
export interface DecodeImageOptions {
  /** Largest width x height accepted; default 50 MP. */
  maxPixels?: number;
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

/**
 * Decodes an image to RGB with EXIF orientation applied. The pixel limit is checked from the header (sharp reads
 * metadata without decoding), so a file claiming 40000x40000 is refused before any allocation.
 */
export async function decodeImage(input: ImageInput, opts: DecodeImageOptions = {}): Promise<RgbImage> {
  if (isRgbImage(input)) return rgbImage('image', input);
  const maxPixels = opts.maxPixels ?? DEFAULT_MAX_PIXELS;
  const label = typeof input === 'string' ? input : '<buffer>';
  let head: Buffer;
  if (typeof input === 'string') head = readHead(str('image path', input));
  else if (input instanceof Uint8Array) head = Buffer.from(input.buffer, input.byteOffset, Math.min(64, input.byteLength));
  else throw invalid('image input must be a path, a Buffer or an RgbImage');
  if (head.length === 0) throw new LikenessError('E_DECODE', `${label} is empty (0 bytes)`, { file: label });
  const format = sniffImageFormat(head);
  if (!format) {
    throw new LikenessError('E_UNSUPPORTED', `${label} is not an image format we read (JPEG, PNG, WebP, GIF, TIFF, AVIF/HEIF)`, {
      file: label,
    });
  }
  const sharp = sharpLib();
  const src = typeof input === 'string' ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  // limitInputPixels makes sharp itself refuse before decoding; we also check metadata to give our own code.
  const make = (): Sharp => sharp(src, { limitInputPixels: maxPixels, failOn: 'error', pages: 1, sequentialRead: true });
  let meta;
  try {
    meta = await make().metadata();
  } catch (e) {
    throw classifySharpError(e, label, maxPixels);
  }
  const w = meta.width ?? 0;
  const h = meta.height ?? 0;
  if (w <= 0 || h <= 0) throw new LikenessError('E_DECODE', `${label}: image has no size in its header`, { file: label });
  if (w * h > maxPixels) {
    throw new LikenessError('E_TOO_LARGE', `${label} is ${w}x${h} (${w * h} pixels), over the limit of ${maxPixels}; raise maxPixels to accept it`, {
      file: label,
      width: w,
      height: h,
      maxPixels,
    });
  }
  try {
    const { data, info } = await make().rotate().removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new LikenessError('E_DECODE', `${label}: expected 3 channels, got ${info.channels}`);
    return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
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
  if (/unsupported image format|not supported|no decoder|bad seek|heif/i.test(msg) && !/premature|truncat|corrupt/i.test(msg)) {
    return new LikenessError('E_UNSUPPORTED', `${label}: ${msg}`, { file: label });
  }
  return new LikenessError('E_DECODE', `${label} could not be decoded (${msg}); the file is truncated or corrupt`, { file: label });
}

