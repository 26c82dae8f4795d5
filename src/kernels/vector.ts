import { LikenessError } from '../errors';
import { invalid } from '../validate';

/** Returns a unit-length copy of `v`. @throws LikenessError E_INPUT for zero or non-finite vectors. */
export function normalise(v: Float32Array): Float32Array {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!;
  if (!Number.isFinite(s) || s === 0) throw invalid('an embedding is zero or not finite');
  const inv = 1 / Math.sqrt(s);
  const out = new Float32Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = v[i]! * inv;
  return out;
}


/** Scales `v` to unit length in place and returns it; a zero (or non-finite) vector is left as it is. */
export function normaliseInPlace(v: Float32Array): Float32Array {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!;
  if (!(s > 0) || !Number.isFinite(s)) return v;
  const inv = 1 / Math.sqrt(s);
  for (let i = 0; i < v.length; i++) v[i]! *= inv;
  return v;
}

/**
 * Dot product of `dim` values of `a` from `ao` and `b` from `bo`, accumulated in float64. The hot loop of the TS
 * search references: 4 accumulators let the JIT overlap multiplies; the native kernels replace it for large galleries.
 */
export function dot(a: Float32Array, ao: number, b: Float32Array, bo: number, dim: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let i = 0;
  for (; i + 3 < dim; i += 4) {
    s0 += a[ao + i]! * b[bo + i]!;
    s1 += a[ao + i + 1]! * b[bo + i + 1]!;
    s2 += a[ao + i + 2]! * b[bo + i + 2]!;
    s3 += a[ao + i + 3]! * b[bo + i + 3]!;
  }
  for (; i < dim; i++) s0 += a[ao + i]! * b[bo + i]!;
  return s0 + s1 + s2 + s3;
}
