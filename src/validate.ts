import { LikenessError } from './errors';
import type { RgbImage } from './types';

// Every argument error comes from here, so messages and codes stay uniform (the edge validates, the core trusts).

/** Throws E_INPUT unless `v` is a finite number within [min, max]. */
export function num(name: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
    throw new LikenessError('E_INPUT', `${name} must be a number between ${min} and ${max}, got ${String(v)}`);
  }
  return v;
}

/** Throws E_INPUT unless `v` is an integer within [min, max]. */
export function int(name: string, v: unknown, min: number, max: number): number {
  num(name, v, min, max);
  if (!Number.isInteger(v)) throw new LikenessError('E_INPUT', `${name} must be an integer, got ${String(v)}`);
  return v as number;
}

/** Throws E_INPUT unless `v` is a non-empty string. */
export function str(name: string, v: unknown): string {
  if (typeof v !== 'string' || v.length === 0) throw new LikenessError('E_INPUT', `${name} must be a non-empty string`);
  return v;
}

/** Throws E_INPUT unless `v` is one of `allowed`. */
export function oneOf<T extends string>(name: string, v: unknown, allowed: readonly T[]): T {
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    throw new LikenessError('E_INPUT', `${name} must be one of ${allowed.join(', ')}, got ${String(v)}`);
  }
  return v as T;
}

/** Throws E_INPUT unless `image` is a non-empty RGB image whose buffer matches its size. */
export function checkRgbImage(image: RgbImage): void {
  if (typeof image !== 'object' || image === null) throw new LikenessError('E_INPUT', 'image must be an RgbImage {width, height, data}');
  int('image.width', image.width, 1, 1 << 16);
  int('image.height', image.height, 1, 1 << 16);
  if (!(image.data instanceof Uint8Array) || image.data.length !== image.width * image.height * 3) {
    throw new LikenessError('E_INPUT', `image.data must be a Uint8Array of width*height*3 = ${image.width * image.height * 3} bytes`, {
      width: image.width,
      height: image.height,
    });
  }
}
