import { LikenessError } from './errors';
import type { Box, FaceDetection, RgbImage } from './types';

// Every argument error comes from here, so messages and codes stay uniform (the edge validates, the core trusts):
// modules call these checks, or `invalid()` for a rule of their own; no other module builds an E_INPUT error
// (test/architecture.test.ts checks that).

/** The E_INPUT error for a bad argument, with a message that says what was expected. */
export function invalid(message: string, details?: Record<string, unknown>): LikenessError {
  return new LikenessError('E_INPUT', message, details);
}

/** Throws E_INPUT unless `v` is a finite number within [min, max]. */
export function num(name: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
    throw invalid(`${name} must be a number between ${min} and ${max}, got ${String(v)}`);
  }
  return v;
}

/** Throws E_INPUT unless `v` is an integer within [min, max]. */
export function int(name: string, v: unknown, min: number, max: number): number {
  num(name, v, min, max);
  if (!Number.isInteger(v)) throw invalid(`${name} must be an integer, got ${String(v)}`);
  return v as number;
}

/** Throws E_INPUT unless `v` is a non-empty string. */
export function str(name: string, v: unknown): string {
  if (typeof v !== 'string' || v.length === 0) throw invalid(`${name} must be a non-empty string`);
  return v;
}

/** Throws E_INPUT unless `v` is one of `allowed`. */
export function oneOf<T extends string>(name: string, v: unknown, allowed: readonly T[]): T {
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    throw invalid(`${name} must be one of ${allowed.join(', ')}, got ${String(v)}`);
  }
  return v as T;
}

/** Throws E_INPUT unless `v` is a boolean. */
export function bool(name: string, v: unknown): boolean {
  if (typeof v !== 'boolean') throw invalid(`${name} must be true or false, got ${String(v)}`);
  return v;
}

/** Throws E_INPUT unless `v` is a plain object (options bags: undefined is allowed and gives `{}`). */
export function options<T extends object>(name: string, v: T | undefined): T {
  if (v === undefined) return {} as T;
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw invalid(`${name} must be an object`);
  return v;
}

/** Throws E_INPUT unless `v` is an array of `min`..`max` items. */
export function list<T>(name: string, v: readonly T[] | unknown, min = 0, max = Number.MAX_SAFE_INTEGER): readonly T[] {
  if (!Array.isArray(v)) throw invalid(`${name} must be an array`);
  if (v.length < min || v.length > max) throw invalid(`${name} must hold ${min === max ? min : `${min} to ${max}`} items, got ${v.length}`);
  return v as readonly T[];
}

/** Throws E_INPUT unless `v` is a Float32Array (of finite values when `finite`; a multiple of `rowLength` long). */
export function float32(name: string, v: unknown, opts: { finite?: boolean; rowLength?: number; minLength?: number } = {}): Float32Array {
  if (!(v instanceof Float32Array)) throw invalid(`${name} must be a Float32Array`);
  if (opts.minLength !== undefined && v.length < opts.minLength) throw invalid(`${name} must hold at least ${opts.minLength} values, got ${v.length}`);
  if (opts.rowLength !== undefined && v.length % opts.rowLength !== 0) throw invalid(`${name} must hold rows of ${opts.rowLength} values, got ${v.length} values`);
  if (opts.finite) {
    for (let i = 0; i < v.length; i++) if (!Number.isFinite(v[i]!)) throw invalid(`${name} holds a non-finite value at ${i}`);
  }
  return v;
}

/** Throws E_INPUT unless `v` is a decoded RGB image: positive integer size and width x height x 3 bytes. */
export function rgbImage(name: string, v: unknown): RgbImage {
  const img = v as Partial<RgbImage> | null;
  if (!img || typeof img !== 'object' || !(img.data instanceof Uint8Array)) throw invalid(`${name} must be {width, height, data: Uint8Array} RGB pixels`);
  const { width, height, data } = img;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width! <= 0 || height! <= 0) {
    throw invalid(`${name} needs positive integer width and height, got ${String(width)}x${String(height)}`);
  }
  if (data.length !== width! * height! * 3) throw invalid(`${name} ${width}x${height} needs ${width! * height! * 3} bytes, got ${data.length}`);
  return img as RgbImage;
}

/** Throws E_INPUT unless `v` is a function. */
export function fn<T extends (...args: never[]) => unknown>(name: string, v: unknown): T {
  if (typeof v !== 'function') throw invalid(`${name} must be a function`);
  return v as T;
}

/** Throws E_INPUT unless `v` is a list of face detections (finite box, five finite landmarks, finite score). */
export function faceDetections(name: string, v: unknown): FaceDetection[] {
  const dets = list<FaceDetection>(name, v);
  dets.forEach((d, i) => {
    const box = d?.box as Partial<Box> | undefined;
    if (!d || typeof d !== 'object' || !box || ![box.x, box.y, box.w, box.h].every((n) => typeof n === 'number' && Number.isFinite(n))) {
      throw invalid(`${name}[${i}] needs a box {x, y, w, h} of finite numbers`);
    }
    const lm = d.landmarks as unknown;
    if (!Array.isArray(lm) || lm.length !== 5 || !lm.every((p) => Array.isArray(p) && p.length === 2 && p.every((n) => typeof n === 'number' && Number.isFinite(n)))) {
      throw invalid(`${name}[${i}] needs five finite [x, y] landmarks`);
    }
    num(`${name}[${i}].score`, d.score, -Infinity, Infinity);
  });
  return dets as FaceDetection[];
}

/** Throws E_INPUT unless `v` is a 16 kHz mono signal of finite samples (what `decodeAudio` returns). */
export function audioSignal(name: string, v: unknown): { sampleRate: 16000; samples: Float32Array; offset?: number } {
  const s = v as { sampleRate?: unknown; samples?: unknown; offset?: unknown } | null;
  if (!s || typeof s !== 'object' || s.sampleRate !== 16000 || !(s.samples instanceof Float32Array)) {
    throw invalid(`${name} must be a 16 kHz mono AudioSignal {sampleRate: 16000, samples: Float32Array} (use decodeAudio)`);
  }
  float32(`${name}.samples`, s.samples, { finite: true });
  if (s.offset !== undefined) num(`${name}.offset`, s.offset, 0, Number.MAX_SAFE_INTEGER);
  return s as { sampleRate: 16000; samples: Float32Array; offset?: number };
}

/** Throws E_INPUT unless `v` is a plain object (options bags such as `limits`). */
export function obj(name: string, v: unknown): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw invalid(`${name} must be an object`);
  return v as Record<string, unknown>;
}
